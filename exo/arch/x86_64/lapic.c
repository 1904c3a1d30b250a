/*
 * lapic.c: the local APIC in xAPIC mode: enable it, take EOIs, and run its
 * timer one-shot (for calibration) or periodic (the tick).
 */
#include "layout.h"
#include "timer.h"
#include "trap.h"
#include "x86.h"

#define APIC_BASE_ENABLE X86_BIT(11)
#define APIC_BASE_ADDR_MASK EXO_U64(0x000ffffffffff000)
/* Where the APIC sits after reset (SDM vol. 3, 10.4.4). */
#define APIC_BASE_DEFAULT EXO_U64(0xfee00000)

/* Register offsets. */
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define LAPIC_SVR_ENABLE X86_BIT(8)
#define LAPIC_LVT_MASKED X86_BIT(16)
#define LAPIC_LVT_PERIODIC X86_BIT(17)
#define LAPIC_DIVIDE_BY_16 0x3 /* the encoding of LAPIC_TIMER_DIVISOR */

static volatile uint32_t *lapic_regs;

static uint32_t lapic_read(unsigned reg)
{
	return lapic_regs[reg / sizeof(uint32_t)];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	lapic_regs[reg / sizeof(uint32_t)] = v;
}

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	/*
	 * An emulator without the MSR (Unicorn's CPU) reads 0: the APIC is
	 * then where reset puts it.
	 */
	if (!(base & APIC_BASE_ADDR_MASK))
		base = APIC_BASE_DEFAULT;
	lapic_regs = exo_p2v(base & APIC_BASE_ADDR_MASK);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_DIVIDE_BY_16);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* Count down once with the interrupt masked; read with lapic_current(). */
void lapic_oneshot(uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_oneshot_irq(unsigned vector, uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_periodic(unsigned vector, uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

uint32_t lapic_current(void)
{
	return lapic_read(LAPIC_TIMER_CURRENT);
}
