/*
 * legacy.c: the PC's 8259 interrupt controllers (remapped away from the
 * exception vectors, then masked) and 8254 PIT channel 2, used only to
 * calibrate the clocks when no monitor tells their rates.  exovmm has no
 * PIT: nothing here but pic_disable() may run under it.
 */
#include <stdint.h>

#include "kern.h"
#include "timer.h"
#include "trap.h"
#include "x86.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_ICW1_INIT_ICW4 0x11
#define PIC_ICW4_8086 0x01
#define PIC_CASCADE_IRQ 2
#define PIC_IRQS 8 /* per chip */
#define PIC_MASK_ALL 0xff

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_CMD_CH2_LOHI_MODE0 0xb0 /* channel 2, lo/hi byte, one-shot */
#define PIT_COUNT_MAX 0xffffu
#define US_PER_S 1000000u
#define SYS_CTRL_PORT 0x61 /* system control port B */
#define SYS_CTRL_GATE2 0x01
#define SYS_CTRL_SPEAKER 0x02
#define SYS_CTRL_OUT2 0x20
/* Give up on a PIT that never expires rather than hang the boot. */
#define PIT_POLL_LIMIT 100000000u

static uint8_t sys_ctrl; /* port 0x61 with the gate closed */

void pic_disable(void)
{
	outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC1_DATA, VEC_PIC_BASE);
	outb(PIC2_DATA, VEC_PIC_BASE + PIC_IRQS);
	outb(PIC1_DATA, 1u << PIC_CASCADE_IRQ);
	outb(PIC2_DATA, PIC_CASCADE_IRQ);
	outb(PIC1_DATA, PIC_ICW4_8086);
	outb(PIC2_DATA, PIC_ICW4_8086);
	outb(PIC1_DATA, PIC_MASK_ALL);
	outb(PIC2_DATA, PIC_MASK_ALL);
}

void pit_arm(uint32_t us)
{
	uint64_t count = (uint64_t)PIT_HZ * us / US_PER_S;

	if (count == 0 || count > PIT_COUNT_MAX)
		panic("pit: %u us is outside what channel 2 can time", us);
	sys_ctrl = inb(SYS_CTRL_PORT) & ~(SYS_CTRL_GATE2 | SYS_CTRL_SPEAKER);
	outb(SYS_CTRL_PORT, sys_ctrl);
	outb(PIT_CMD, PIT_CMD_CH2_LOHI_MODE0);
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	/* Mode 0 drives the output low until expiry; high now means no PIT. */
	if (inb(SYS_CTRL_PORT) & SYS_CTRL_OUT2)
		panic(
		    "pit: no channel 2 behind port 0x61 to calibrate against");
}

void pit_start(void)
{
	outb(SYS_CTRL_PORT, sys_ctrl | SYS_CTRL_GATE2);
}

void pit_wait(void)
{
	for (uint32_t i = 0; i < PIT_POLL_LIMIT; i++)
		if (inb(SYS_CTRL_PORT) & SYS_CTRL_OUT2)
			return;
	panic("pit: channel 2 never expired; no PIT to calibrate against");
}
