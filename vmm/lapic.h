/*
 * lapic.h: a local APIC in xAPIC mode for backends that emulate the CPU
 * (Unicorn): the registers the exokernel uses, the pending (IRR) and
 * in-service (ISR) vectors with their priorities, EOI, the spurious
 * vector register and the timer (one-shot and periodic, divide,
 * initial and current count).  Time is an argument in nanoseconds, so the
 * model is the same on the host clock and in virtual time, and is
 * unit-tested on the host.  Not thread-safe: the caller locks.
 */
#ifndef VMM_LAPIC_H
#define VMM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_SIZE 0x1000u

/* Register offsets (SDM vol. 3, table 10-1). */
#define LAPIC_REG_ID 0x020
#define LAPIC_REG_VERSION 0x030
#define LAPIC_REG_TPR 0x080
#define LAPIC_REG_PPR 0x0a0
#define LAPIC_REG_EOI 0x0b0
#define LAPIC_REG_SVR 0x0f0
#define LAPIC_REG_ISR 0x100
#define LAPIC_REG_IRR 0x200
#define LAPIC_REG_LVT_TIMER 0x320
#define LAPIC_REG_TIMER_INIT 0x380
#define LAPIC_REG_TIMER_CURRENT 0x390
#define LAPIC_REG_TIMER_DIVIDE 0x3e0

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)
#define LAPIC_VECTOR_MASK 0xffu
#define LAPIC_VECTORS 256
#define LAPIC_WORDS (LAPIC_VECTORS / 32)
#define LAPIC_NO_EVENT UINT64_MAX

struct lapic {
	uint32_t timer_khz; /* the timer's input clock, before the divider */
	uint32_t tpr, svr, lvt_timer, divide;
	uint32_t irr[LAPIC_WORDS], isr[LAPIC_WORDS];
	/* The timer: counting from initial since start_ns, while armed. */
	uint32_t initial;
	uint64_t start_ns;
	bool armed;
};

void lapic_init(struct lapic *l, uint32_t timer_khz);
uint32_t lapic_read(struct lapic *l, uint32_t offset, uint64_t now_ns);
void lapic_write(struct lapic *l, uint32_t offset, uint32_t value, uint64_t now_ns);
/* Mark vector pending (an interrupt message arrived). */
void lapic_raise(struct lapic *l, uint8_t vector);
/* Fire the timer if it has expired by now_ns. */
void lapic_advance(struct lapic *l, uint64_t now_ns);
/* When the timer next fires, or LAPIC_NO_EVENT. */
uint64_t lapic_next_event(const struct lapic *l);
/*
 * The vector the CPU should take now (its priority class above the
 * in-service one and the TPR's), or -1.  lapic_accept() then moves it
 * from pending to in service.
 */
int lapic_deliverable(const struct lapic *l);
void lapic_accept(struct lapic *l, uint8_t vector);

#endif /* VMM_LAPIC_H */
