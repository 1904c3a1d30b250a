/*
 * lapic.c: the xAPIC model of lapic.h.  Only what a single-CPU guest
 * with no IOAPIC needs: interrupts arrive as messages (lapic_raise), the
 * timer is the only local source, and there are no inter-processor
 * interrupts.
 */
#include <string.h>

#include "lapic.h"

#define LAPIC_VERSION_VALUE 0x00050014u /* version 0x14, 6 LVT entries */
#define PRIORITY_CLASS(v) ((unsigned)(v) >> 4)
#define DIVIDE_MASK 0xbu
#define DIVIDE_BY_1 0x7u /* the encoding after folding bit 3 into bit 2 */
#define NS_PER_MS 1000000ull
#define REG_STRIDE 0x10u
#define SVR_RESET 0xffu /* spurious vector 0xff, software-disabled */

void lapic_init(struct lapic *l, uint32_t timer_khz)
{
	memset(l, 0, sizeof(*l));
	l->timer_khz = timer_khz;
	l->svr = SVR_RESET;
	l->lvt_timer = LAPIC_LVT_MASKED;
}

static unsigned divisor(const struct lapic *l)
{
	unsigned code = (l->divide & 3u) | ((l->divide >> 1) & 4u);

	return code == DIVIDE_BY_1 ? 1u : 2u << code;
}

/* Nanoseconds for count timer ticks. */
static uint64_t ticks_to_ns(const struct lapic *l, uint64_t count)
{
	return count * divisor(l) * NS_PER_MS / l->timer_khz;
}

/* In 128 bits: ns times the rate overflows 64 after some hours. */
static uint64_t ns_to_ticks(const struct lapic *l, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * l->timer_khz / NS_PER_MS / divisor(l));
}

static int highest(const uint32_t *bits)
{
	for (int w = LAPIC_WORDS - 1; w >= 0; w--)
		if (bits[w])
			return w * 32 + 31 - __builtin_clz(bits[w]);
	return -1;
}

void lapic_raise(struct lapic *l, uint8_t vector)
{
	l->irr[vector / 32] |= 1u << (vector % 32);
}

void lapic_advance(struct lapic *l, uint64_t now_ns)
{
	uint64_t period, deadline;

	if (!l->armed)
		return;
	period = ticks_to_ns(l, l->initial);
	deadline = l->start_ns + period;
	if (now_ns < deadline)
		return;
	if (!(l->lvt_timer & LAPIC_LVT_MASKED))
		lapic_raise(l, (uint8_t)(l->lvt_timer & LAPIC_VECTOR_MASK));
	if (!(l->lvt_timer & LAPIC_LVT_PERIODIC) || period == 0) {
		l->armed = false;
		return;
	}
	/* Ticks missed while nobody looked fire once, as one late interrupt. */
	l->start_ns = deadline + (now_ns - deadline) / period * period;
}

uint64_t lapic_next_event(const struct lapic *l)
{
	return l->armed ? l->start_ns + ticks_to_ns(l, l->initial) : LAPIC_NO_EVENT;
}

static uint32_t current_count(const struct lapic *l, uint64_t now_ns)
{
	uint64_t done;

	if (!l->armed)
		return 0;
	done = ns_to_ticks(l, now_ns - l->start_ns);
	return done >= l->initial ? 0 : (uint32_t)(l->initial - done);
}

static uint32_t processor_priority(const struct lapic *l)
{
	int in_service = highest(l->isr);
	uint32_t isr_class = in_service < 0 ? 0 : PRIORITY_CLASS(in_service);

	return PRIORITY_CLASS(l->tpr) >= isr_class ? l->tpr : isr_class << 4;
}

int lapic_deliverable(const struct lapic *l)
{
	int v = highest(l->irr);

	if (v < 0 || !(l->svr & LAPIC_SVR_ENABLE))
		return -1;
	if (PRIORITY_CLASS(v) <= PRIORITY_CLASS(processor_priority(l)))
		return -1;
	return v;
}

void lapic_accept(struct lapic *l, uint8_t vector)
{
	l->irr[vector / 32] &= ~(1u << (vector % 32));
	l->isr[vector / 32] |= 1u << (vector % 32);
}

static void end_of_interrupt(struct lapic *l)
{
	int v = highest(l->isr);

	if (v >= 0)
		l->isr[v / 32] &= ~(1u << (v % 32));
}

uint32_t lapic_read(struct lapic *l, uint32_t offset, uint64_t now_ns)
{
	lapic_advance(l, now_ns);
	if (offset >= LAPIC_REG_ISR && offset < LAPIC_REG_ISR + LAPIC_WORDS * REG_STRIDE)
		return l->isr[(offset - LAPIC_REG_ISR) / REG_STRIDE];
	if (offset >= LAPIC_REG_IRR && offset < LAPIC_REG_IRR + LAPIC_WORDS * REG_STRIDE)
		return l->irr[(offset - LAPIC_REG_IRR) / REG_STRIDE];
	switch (offset) {
	case LAPIC_REG_VERSION:
		return LAPIC_VERSION_VALUE;
	case LAPIC_REG_TPR:
		return l->tpr;
	case LAPIC_REG_PPR:
		return processor_priority(l);
	case LAPIC_REG_SVR:
		return l->svr;
	case LAPIC_REG_LVT_TIMER:
		return l->lvt_timer;
	case LAPIC_REG_TIMER_INIT:
		return l->initial;
	case LAPIC_REG_TIMER_CURRENT:
		return current_count(l, now_ns);
	case LAPIC_REG_TIMER_DIVIDE:
		return l->divide;
	default:
		return 0; /* ID 0 and the registers nobody here uses */
	}
}

void lapic_write(struct lapic *l, uint32_t offset, uint32_t value, uint64_t now_ns)
{
	lapic_advance(l, now_ns);
	switch (offset) {
	case LAPIC_REG_TPR:
		l->tpr = value & LAPIC_VECTOR_MASK;
		break;
	case LAPIC_REG_EOI:
		end_of_interrupt(l);
		break;
	case LAPIC_REG_SVR:
		l->svr = value;
		/* Software-disabled, the APIC masks every LVT entry (SDM vol. 3, 10.4.7.2). */
		if (!(value & LAPIC_SVR_ENABLE))
			l->lvt_timer |= LAPIC_LVT_MASKED;
		break;
	case LAPIC_REG_LVT_TIMER:
		l->lvt_timer = value | (l->svr & LAPIC_SVR_ENABLE ? 0 : LAPIC_LVT_MASKED);
		break;
	case LAPIC_REG_TIMER_INIT:
		l->initial = value;
		l->start_ns = now_ns;
		l->armed = value != 0;
		break;
	case LAPIC_REG_TIMER_DIVIDE:
		l->divide = value & DIVIDE_MASK;
		break;
	default:
		break; /* read-only or unused registers ignore writes */
	}
}
