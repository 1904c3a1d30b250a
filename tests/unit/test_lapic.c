/*
 * test_lapic.c: Check tests of the xAPIC model (vmm/lapic.c) against SDM
 * vol. 3, chapter 10 (11 in later editions): the timer (10.5.4: one-shot
 * and periodic, the divide configuration register, the initial and
 * current counts), the priorities of 10.8.3 (TPR, PPR, the priority
 * class of the in-service vector), EOI (10.8.5), and the spurious vector
 * register's software enable (10.4.7, 10.9).
 *
 * The timer's clock is 100 MHz (10 ns a tick before the divider); time
 * is an argument, so every expected instant is exact.
 */
#include <check.h>
#include <stdint.h>

#include "check_main.h"
#include "vmm/lapic.h"

#define KHZ 100000u /* 100 MHz */
#define NS_PER_TICK 10ull
#define DIV_BY_1 0xbu
#define SVR_ON (LAPIC_SVR_ENABLE | 0xff)
#define SVR_OFF 0xffu

static struct lapic apic(void)
{
	struct lapic l;

	lapic_init(&l, KHZ);
	lapic_write(&l, LAPIC_REG_SVR, SVR_ON, 0);
	return l;
}

/* Is vector pending (its IRR bit, read as the guest reads it)? */
static int irr(struct lapic *l, unsigned vector, uint64_t now)
{
	uint32_t w = lapic_read(l, LAPIC_REG_IRR + (vector / 32) * 0x10, now);

	return (w >> (vector % 32)) & 1;
}

static int isr(struct lapic *l, unsigned vector)
{
	uint32_t w = lapic_read(l, LAPIC_REG_ISR + (vector / 32) * 0x10, 0);

	return (w >> (vector % 32)) & 1;
}

static void irr_empty(struct lapic *l, uint64_t now)
{
	for (unsigned w = 0; w < LAPIC_WORDS; w++)
		ck_assert_uint_eq(lapic_read(l, LAPIC_REG_IRR + w * 0x10, now),
				  0);
}

/* --- Reset ------------------------------------------------------------ */

/* SDM 10.4.7.1: LVT entries masked, SVR 0xff (software-disabled), TPR,
 * the counts and the divide configuration 0. */
START_TEST(test_reset_state)
{
	struct lapic l;

	lapic_init(&l, KHZ);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_LVT_TIMER, 0),
			  LAPIC_LVT_MASKED);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TPR, 0), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_INIT, 0), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, 0), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_DIVIDE, 0), 0);
	ck_assert_uint_eq(lapic_next_event(&l), LAPIC_NO_EVENT);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_SVR, 0), 0xff);
}
END_TEST

/* --- The timer -------------------------------------------------------- */

START_TEST(test_one_shot)
{
	struct lapic l = apic();
	const uint64_t t0 = 5000, fire = t0 + 1000 * NS_PER_TICK;

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x30, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, t0);
	ck_assert_uint_eq(lapic_next_event(&l), fire);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_INIT, t0), 1000);

	/* The current count goes down one a tick. */
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, t0), 1000);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, t0 + 2500),
			  750);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, t0 + 5000),
			  500);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, fire - 10),
			  1);

	lapic_advance(&l, fire - 1);
	irr_empty(&l, fire - 1);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	ck_assert_uint_eq(lapic_next_event(&l), fire);

	lapic_advance(&l, fire);
	ck_assert_int_eq(irr(&l, 0x30, fire), 1);
	ck_assert_int_eq(lapic_deliverable(&l), 0x30);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, fire), 0);
	ck_assert_uint_eq(lapic_next_event(&l), LAPIC_NO_EVENT);

	/* Once only. */
	lapic_accept(&l, 0x30);
	lapic_write(&l, LAPIC_REG_EOI, 0, fire + 1);
	lapic_advance(&l, fire + 1000000);
	irr_empty(&l, fire + 1000000);
	ck_assert_uint_eq(
	    lapic_read(&l, LAPIC_REG_TIMER_CURRENT, fire + 1000000), 0);
	/* The initial count stays as written. */
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_INIT, fire + 1000000),
			  1000);
}
END_TEST

/* A read of a register is enough to see the timer fire (the guest
 * polling IRR without anybody calling lapic_advance). */
START_TEST(test_one_shot_seen_by_read)
{
	struct lapic l = apic();

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x31, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 10, 0);
	ck_assert_int_eq(irr(&l, 0x31, 99), 0);
	ck_assert_int_eq(irr(&l, 0x31, 100), 1);
}
END_TEST

/* The divide configuration register: bits 0, 1 and 3 (SDM figure 10-10). */
START_TEST(test_divide)
{
	static const struct {
		uint32_t code, by;
	} table[] = {{0x0, 2},	{0x1, 4},  {0x2, 8},   {0x3, 16},
		     {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
	struct lapic l = apic();
	const uint64_t t0 = 1000000;
	uint32_t code = table[_i].code, by = table[_i].by;
	uint64_t fire = t0 + 1000ull * by * NS_PER_TICK;

	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x40, 0);
	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, code, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_DIVIDE, 0), code);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, t0);
	ck_assert_uint_eq(lapic_next_event(&l), fire);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT,
				     t0 + 500ull * by * NS_PER_TICK),
			  500);
	lapic_advance(&l, fire - 1);
	ck_assert_int_eq(irr(&l, 0x40, fire - 1), 0);
	lapic_advance(&l, fire);
	ck_assert_int_eq(irr(&l, 0x40, fire), 1);
}
END_TEST

START_TEST(test_periodic)
{
	struct lapic l = apic();
	const uint64_t period = 1000 * NS_PER_TICK;

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x31 | LAPIC_LVT_PERIODIC, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, 0);
	ck_assert_uint_eq(lapic_next_event(&l), period);

	lapic_advance(&l, period);
	ck_assert_int_eq(lapic_deliverable(&l), 0x31);
	ck_assert_uint_eq(lapic_next_event(&l), 2 * period);
	/* The count reloads from the initial count. */
	ck_assert_uint_eq(
	    lapic_read(&l, LAPIC_REG_TIMER_CURRENT, period + period / 4), 750);
	lapic_accept(&l, 0x31);
	lapic_write(&l, LAPIC_REG_EOI, 0, period + period / 4);

	lapic_advance(&l, 2 * period - 1);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_advance(&l, 2 * period);
	ck_assert_int_eq(lapic_deliverable(&l), 0x31);
	ck_assert_uint_eq(lapic_next_event(&l), 3 * period);
	lapic_accept(&l, 0x31);
	lapic_write(&l, LAPIC_REG_EOI, 0, 2 * period);

	/* Looked at late: one interrupt, and the next on the period's grid. */
	lapic_advance(&l, 5 * period + period / 2);
	ck_assert_int_eq(lapic_deliverable(&l), 0x31);
	ck_assert_uint_eq(lapic_next_event(&l), 6 * period);
	ck_assert_uint_eq(
	    lapic_read(&l, LAPIC_REG_TIMER_CURRENT, 5 * period + period / 2),
	    500);
}
END_TEST

/* A masked timer counts down but raises nothing. */
START_TEST(test_masked)
{
	struct lapic l = apic();
	const uint64_t fire = 1000 * NS_PER_TICK;

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x32 | LAPIC_LVT_MASKED, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, fire / 2),
			  500);
	lapic_advance(&l, fire);
	irr_empty(&l, fire);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, fire), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_LVT_TIMER, fire),
			  0x32 | LAPIC_LVT_MASKED);

	/* Periodic and masked: still nothing, period after period. */
	lapic_write(&l, LAPIC_REG_LVT_TIMER,
		    0x32 | LAPIC_LVT_MASKED | LAPIC_LVT_PERIODIC, fire);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, fire);
	lapic_advance(&l, 2 * fire);
	lapic_advance(&l, 3 * fire);
	irr_empty(&l, 3 * fire);
	ck_assert_uint_eq(lapic_next_event(&l), 4 * fire);
}
END_TEST

/* Writing 0 to the initial count stops the timer; writing another count
 * restarts it from that moment. */
START_TEST(test_initial_zero_stops)
{
	struct lapic l = apic();

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x33 | LAPIC_LVT_PERIODIC, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, 0);
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 0, 3000);
	ck_assert_uint_eq(lapic_next_event(&l), LAPIC_NO_EVENT);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, 3000), 0);
	lapic_advance(&l, 100000);
	irr_empty(&l, 100000);

	lapic_write(&l, LAPIC_REG_TIMER_INIT, 1000, 200000);
	ck_assert_uint_eq(lapic_next_event(&l), 210000);
	/* And a new count while armed starts over. */
	lapic_write(&l, LAPIC_REG_TIMER_INIT, 100, 205000);
	ck_assert_uint_eq(lapic_next_event(&l), 206000);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TIMER_CURRENT, 205500), 50);
}
END_TEST

/* --- Priorities, EOI -------------------------------------------------- */

/* The highest pending vector is the one delivered. */
START_TEST(test_highest_pending)
{
	struct lapic l = apic();

	lapic_raise(&l, 0x41);
	lapic_raise(&l, 0x61);
	lapic_raise(&l, 0x50);
	ck_assert_int_eq(lapic_deliverable(&l), 0x61);
	ck_assert_int_eq(irr(&l, 0x41, 0), 1);
	ck_assert_int_eq(irr(&l, 0x50, 0), 1);
	lapic_accept(&l, 0x61);
	ck_assert_int_eq(irr(&l, 0x61, 0), 0);
	ck_assert_int_eq(isr(&l, 0x61), 1);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x30, 0), 1u << 1);
}
END_TEST

/* A pending vector of the in-service one's class or below waits; a
 * higher class interrupts (SDM 10.8.3.1). */
START_TEST(test_in_service_priority)
{
	struct lapic l = apic();

	lapic_raise(&l, 0x35);
	ck_assert_int_eq(lapic_deliverable(&l), 0x35);
	lapic_accept(&l, 0x35);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x30);

	lapic_raise(&l, 0x3a); /* same class, higher vector */
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_raise(&l, 0x2f);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_raise(&l, 0x41);
	ck_assert_int_eq(lapic_deliverable(&l), 0x41);
	lapic_accept(&l, 0x41);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x40);
	ck_assert_int_eq(lapic_deliverable(&l), -1);

	/* EOI ends 0x41 (the highest in service), not 0x35. */
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_int_eq(isr(&l, 0x41), 0);
	ck_assert_int_eq(isr(&l, 0x35), 1);
	ck_assert_int_eq(lapic_deliverable(&l), -1); /* 0x3a still waits */

	/* EOI ends 0x35: now 0x3a. */
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_int_eq(isr(&l, 0x35), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0);
	ck_assert_int_eq(lapic_deliverable(&l), 0x3a);
	lapic_accept(&l, 0x3a);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_int_eq(lapic_deliverable(&l), 0x2f);
}
END_TEST

START_TEST(test_eoi_highest)
{
	struct lapic l = apic();

	lapic_raise(&l, 0x35);
	lapic_accept(&l, 0x35);
	lapic_raise(&l, 0x51);
	lapic_accept(&l, 0x51);
	lapic_raise(&l, 0xe0);
	lapic_accept(&l, 0xe0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x10, 0), 1u << 21);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x20, 0), 1u << 17);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x70, 0), 1u << 0);

	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x70, 0), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x20, 0), 1u << 17);
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x20, 0), 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + 0x10, 0), 1u << 21);
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	for (unsigned w = 0; w < LAPIC_WORDS; w++)
		ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_ISR + w * 0x10, 0),
				  0);
	/* With nothing in service, EOI changes nothing. */
	lapic_raise(&l, 0x60);
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_int_eq(irr(&l, 0x60, 0), 1);
	ck_assert_int_eq(lapic_deliverable(&l), 0x60);
}
END_TEST

/* The TPR masks its class and those below it. */
START_TEST(test_tpr)
{
	struct lapic l = apic();

	lapic_write(&l, LAPIC_REG_TPR, 0x50, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_TPR, 0), 0x50);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x50);
	lapic_raise(&l, 0x5f);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_raise(&l, 0x40);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	lapic_raise(&l, 0x60);
	ck_assert_int_eq(lapic_deliverable(&l), 0x60);

	/* The sub-class bits do not change the class. */
	lapic_write(&l, LAPIC_REG_TPR, 0x5f, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x5f);
	ck_assert_int_eq(lapic_deliverable(&l), 0x60);
	lapic_write(&l, LAPIC_REG_TPR, 0x60, 0);
	ck_assert_int_eq(lapic_deliverable(&l), -1);

	/* PPR: the TPR, or the in-service class when that is higher. */
	lapic_write(&l, LAPIC_REG_TPR, 0x2a, 0);
	ck_assert_int_eq(lapic_deliverable(&l), 0x60);
	lapic_accept(&l, 0x60);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x60);
	lapic_write(&l, LAPIC_REG_TPR, 0x6a, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_PPR, 0), 0x6a);
	lapic_write(&l, LAPIC_REG_TPR, 0x0, 0);
	lapic_write(&l, LAPIC_REG_EOI, 0, 0);
	ck_assert_int_eq(lapic_deliverable(&l), 0x5f);
}
END_TEST

/* --- Software enable --------------------------------------------------- */

START_TEST(test_svr_disable_blocks)
{
	struct lapic l = apic();

	lapic_write(&l, LAPIC_REG_SVR, SVR_OFF, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_SVR, 0), SVR_OFF);
	lapic_raise(&l, 0x40);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
	/* Held in IRR, delivered once enabled again. */
	ck_assert_int_eq(irr(&l, 0x40, 0), 1);
	lapic_write(&l, LAPIC_REG_SVR, SVR_ON, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_SVR, 0), SVR_ON);
	ck_assert_int_eq(lapic_deliverable(&l), 0x40);
}
END_TEST

/*
 * SDM 10.4.7.2: while the local APIC is software-disabled "the mask bits
 * for all the LVT entries are set.  Attempts to reset these bits will be
 * ignored."  So clearing SVR's enable masks the timer, an unmasked LVT
 * written meanwhile reads back masked, and the timer firing meanwhile
 * leaves nothing pending for when the APIC is enabled again.
 */
START_TEST(test_svr_disable_masks_lvt)
{
	struct lapic l = apic();

	lapic_write(&l, LAPIC_REG_TIMER_DIVIDE, DIV_BY_1, 0);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x34, 0);
	lapic_write(&l, LAPIC_REG_SVR, SVR_OFF, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_LVT_TIMER, 0),
			  0x34 | LAPIC_LVT_MASKED);
	lapic_write(&l, LAPIC_REG_LVT_TIMER, 0x34, 0);
	ck_assert_uint_eq(lapic_read(&l, LAPIC_REG_LVT_TIMER, 0),
			  0x34 | LAPIC_LVT_MASKED);

	lapic_write(&l, LAPIC_REG_TIMER_INIT, 10, 0);
	lapic_advance(&l, 1000);
	lapic_write(&l, LAPIC_REG_SVR, SVR_ON, 1000);
	irr_empty(&l, 1000);
	ck_assert_int_eq(lapic_deliverable(&l), -1);
}
END_TEST

static Suite *lapic_suite(void)
{
	Suite *s = suite_create("lapic");
	TCase *timer = tcase_create("timer");
	TCase *prio = tcase_create("priority");
	TCase *svr = tcase_create("svr");

	tcase_add_test(timer, test_reset_state);
	tcase_add_test(timer, test_one_shot);
	tcase_add_test(timer, test_one_shot_seen_by_read);
	tcase_add_loop_test(timer, test_divide, 0, 8);
	tcase_add_test(timer, test_periodic);
	tcase_add_test(timer, test_masked);
	tcase_add_test(timer, test_initial_zero_stops);
	suite_add_tcase(s, timer);

	tcase_add_test(prio, test_highest_pending);
	tcase_add_test(prio, test_in_service_priority);
	tcase_add_test(prio, test_eoi_highest);
	tcase_add_test(prio, test_tpr);
	suite_add_tcase(s, prio);

	tcase_add_test(svr, test_svr_disable_blocks);
	tcase_add_test(svr, test_svr_disable_masks_lvt);
	suite_add_tcase(s, svr);
	return s;
}

CHECK_MAIN(lapic_suite)
