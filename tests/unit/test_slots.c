/*
 * test_slots.c: Check tests of the time-slice vector (exo/lib/slots.c).
 *
 * Allocation is checked against the masks it returns and the owners it
 * records; round robin against a can_run callback that records every
 * owner it is asked about.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/slots.h"

#define ENV_A 0x101u
#define ENV_B 0x102u
#define ENV_C 0x103u
#define ALL_SLOTS UINT64_MAX
#define BIT(i) (1ull << (i))
#define MAX_CALLS (2 * EXO_NSLOTS)

/* What slots_next asked can_run, and who may run. */
struct runnable {
	exo_envid_t yes[3]; /* envs that can run; EXO_ENV_NONE pads */
	exo_envid_t asked[MAX_CALLS];
	unsigned nasked;
};

static bool can_run(exo_envid_t env, void *arg)
{
	struct runnable *r = arg;

	ck_assert_uint_ne(env, SLOT_FREE); /* only owned slots are asked */
	ck_assert_uint_lt(r->nasked, MAX_CALLS);
	r->asked[r->nasked++] = env;
	for (size_t i = 0; i < sizeof(r->yes) / sizeof(r->yes[0]); i++) {
		if (r->yes[i] != EXO_ENV_NONE && r->yes[i] == env)
			return true;
	}
	return false;
}

/* Is mask one run of adjacent bits? */
static bool adjacent(uint64_t mask)
{
	uint64_t low = mask & -mask;

	return mask != 0 && ((mask + low) & mask) == 0;
}

/* Is each slot in mask owned by owner, and every other not? */
static void assert_owns_exactly(const struct slot_vector *v, exo_envid_t owner,
				uint64_t mask)
{
	for (unsigned i = 0; i < EXO_NSLOTS; i++) {
		if (mask & BIT(i))
			ck_assert_uint_eq(v->owner[i], owner);
		else
			ck_assert_uint_ne(v->owner[i], owner);
	}
	ck_assert_uint_eq(slots_owned(v, owner), mask);
}

START_TEST(test_init)
{
	struct slot_vector v;

	memset(&v, 0xff, sizeof(v));
	slots_init(&v);
	ck_assert_uint_eq(slots_owned(&v, SLOT_FREE), ALL_SLOTS);
	ck_assert_uint_eq(v.current, 0);
	ck_assert_uint_eq(slots_owned(&v, ENV_A), 0);
}
END_TEST

START_TEST(test_alloc_bad_count)
{
	struct slot_vector v, before;
	uint64_t mask = 0;

	slots_init(&v);
	before = v;
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 0, false, &mask), -E_INVAL);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 0, true, &mask), -E_INVAL);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS + 1, false, &mask),
			 -E_INVAL);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS + 1, true, &mask),
			 -E_INVAL);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, UINT32_MAX, false, &mask),
			 -E_INVAL);
	ck_assert_int_eq(slots_alloc(&v, SLOT_FREE, 1, false, &mask), -E_INVAL);
	ck_assert_mem_eq(&v, &before, sizeof(v));
	ck_assert_uint_eq(mask, 0);
}
END_TEST

START_TEST(test_alloc_contiguous)
{
	struct slot_vector v;
	uint64_t a, b;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 4, true, &a), 0);
	ck_assert_uint_eq(a, 0xf);
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 3, true, &b), 0);
	ck_assert_uint_eq(b, 0x70);
	ck_assert(adjacent(a) && adjacent(b));
	assert_owns_exactly(&v, ENV_A, a);
	assert_owns_exactly(&v, ENV_B, b);
	ck_assert_uint_eq(slots_free(&v, ENV_A, a), 4);
	/* The first gap that fits is taken: 4 slots at 0, not after B. */
	ck_assert_int_eq(slots_alloc(&v, ENV_C, 4, true, &a), 0);
	ck_assert_uint_eq(a, 0xf);
	ck_assert_int_eq(slots_alloc(&v, ENV_C, 5, true, &a), 0);
	ck_assert_uint_eq(a, 0xf80); /* slots 7..11, after B */
}
END_TEST

START_TEST(test_alloc_contiguous_whole_vector)
{
	struct slot_vector v;
	uint64_t mask;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS, true, &mask), 0);
	ck_assert_uint_eq(mask, ALL_SLOTS);
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 1, true, &mask), -E_NOMEM);
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 1, false, &mask), -E_NOMEM);
	ck_assert_uint_eq(slots_owned(&v, ENV_A), ALL_SLOTS);
}
END_TEST

/* Free slots 0, 1, 62, 63: four free but no run of three, even wrapped. */
START_TEST(test_alloc_contiguous_does_not_wrap)
{
	struct slot_vector v, before;
	uint64_t mask, taken;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS, true, &taken), 0);
	ck_assert_uint_eq(
	    slots_free(&v, ENV_A, BIT(0) | BIT(1) | BIT(62) | BIT(63)), 4);
	before = v;
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 3, true, &mask), -E_NOMEM);
	ck_assert_mem_eq(&v, &before, sizeof(v));
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 2, true, &mask), 0);
	ck_assert_uint_eq(mask, BIT(0) | BIT(1));
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 2, true, &mask), 0);
	ck_assert_uint_eq(mask, BIT(62) | BIT(63));
	assert_owns_exactly(&v, ENV_B, BIT(0) | BIT(1) | BIT(62) | BIT(63));
}
END_TEST

/* The circular gaps between consecutive slots of mask lie in [lo, hi]. */
static void assert_gaps(uint64_t mask, unsigned lo, unsigned hi)
{
	unsigned first = EXO_NSLOTS, prev = EXO_NSLOTS;

	for (unsigned i = 0; i < EXO_NSLOTS; i++) {
		if (!(mask & BIT(i)))
			continue;
		if (prev == EXO_NSLOTS) {
			first = i;
		} else {
			ck_assert_uint_ge(i - prev, lo);
			ck_assert_uint_le(i - prev, hi);
		}
		prev = i;
	}
	if (first != prev) {
		ck_assert_uint_ge(first + EXO_NSLOTS - prev, lo);
		ck_assert_uint_le(first + EXO_NSLOTS - prev, hi);
	}
}

START_TEST(test_alloc_spread_is_even)
{
	for (unsigned count = 1; count <= EXO_NSLOTS; count++) {
		struct slot_vector v;
		uint64_t mask;
		unsigned lo = EXO_NSLOTS / count;
		unsigned hi = (EXO_NSLOTS + count - 1) / count;

		slots_init(&v);
		ck_assert_int_eq(slots_alloc(&v, ENV_A, count, false, &mask),
				 0);
		ck_assert_uint_eq(slots_count(mask), count);
		assert_owns_exactly(&v, ENV_A, mask);
		assert_gaps(mask, lo, hi);
	}
	{
		struct slot_vector v;
		uint64_t mask;

		slots_init(&v);
		ck_assert_int_eq(slots_alloc(&v, ENV_A, 4, false, &mask), 0);
		ck_assert_uint_eq(mask, BIT(0) | BIT(16) | BIT(32) | BIT(48));
	}
}
END_TEST

START_TEST(test_alloc_spread_around_others)
{
	struct slot_vector v;
	uint64_t a, b, c;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 4, false, &a), 0);
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 4, false, &b), 0);
	ck_assert_uint_eq(a & b, 0);
	ck_assert_uint_eq(slots_count(b), 4);
	assert_gaps(b, 16, 16); /* free slots allow B the same spacing */
	assert_owns_exactly(&v, ENV_A, a);
	assert_owns_exactly(&v, ENV_B, b);

	/*
	 * Only the upper half free: every choice waits at least from slot
	 * 63 round to 32 (a gap of 33); C's 4 slots must not add a longer
	 * wait, as bunching them at 32..35 would (a gap of 61).
	 */
	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS / 2, true, &a), 0);
	ck_assert_int_eq(slots_alloc(&v, ENV_C, 4, false, &c), 0);
	ck_assert_uint_eq(c & a, 0);
	ck_assert_uint_eq(slots_count(c), 4);
	assert_owns_exactly(&v, ENV_C, c);
	assert_gaps(c, 1, EXO_NSLOTS / 2 + 1);
}
END_TEST

START_TEST(test_alloc_spread_not_enough)
{
	struct slot_vector v, before;
	uint64_t mask;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, EXO_NSLOTS - 3, false, &mask),
			 0);
	before = v;
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 4, false, &mask), -E_NOMEM);
	ck_assert_mem_eq(&v, &before, sizeof(v));
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 3, false, &mask), 0);
	ck_assert_uint_eq(mask, slots_owned(&before, SLOT_FREE));
	ck_assert_uint_eq(slots_owned(&v, SLOT_FREE), 0);
}
END_TEST

START_TEST(test_free_only_own)
{
	struct slot_vector v;
	uint64_t a, b;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 8, true, &a), 0);
	ck_assert_int_eq(slots_alloc(&v, ENV_B, 8, true, &b), 0);
	/* B names all slots: only its own 8 are freed. */
	ck_assert_uint_eq(slots_free(&v, ENV_B, ALL_SLOTS), 8);
	assert_owns_exactly(&v, ENV_A, a);
	ck_assert_uint_eq(slots_owned(&v, ENV_B), 0);
	ck_assert_uint_eq(slots_free(&v, ENV_B, b), 0);
	/* A frees part of its mask. */
	ck_assert_uint_eq(slots_free(&v, ENV_A, a & 0x3), 2);
	assert_owns_exactly(&v, ENV_A, a & ~0x3ull);
	/* SLOT_FREE owns nothing to free. */
	ck_assert_uint_eq(slots_free(&v, SLOT_FREE, ALL_SLOTS), 0);
	ck_assert_uint_eq(slots_free(&v, ENV_C, ALL_SLOTS), 0);
	assert_owns_exactly(&v, ENV_A, a & ~0x3ull);
}
END_TEST

START_TEST(test_next_round_robin)
{
	struct slot_vector v;
	struct runnable r = {.yes = {ENV_A, ENV_B}};
	uint64_t mask;

	slots_init(&v);
	ck_assert_int_eq(slots_alloc(&v, ENV_A, 1, true, &mask), 0);
	ck_assert_uint_eq(mask, BIT(0));
	v.owner[5] = ENV_B;
	v.owner[9] = ENV_A;
	v.current = 0;
	ck_assert_int_eq(slots_next(&v, can_run, &r), 5);
	ck_assert_uint_eq(v.current, 5);
	ck_assert_int_eq(slots_next(&v, can_run, &r), 9);
	/* Wraps past the end to slot 0. */
	ck_assert_int_eq(slots_next(&v, can_run, &r), 0);
	ck_assert_int_eq(slots_next(&v, can_run, &r), 5);
	/* Free slots are skipped without asking: one call per step. */
	ck_assert_uint_eq(r.nasked, 4);
	ck_assert_uint_eq(r.asked[0], ENV_B);
	ck_assert_uint_eq(r.asked[1], ENV_A);
	ck_assert_uint_eq(r.asked[2], ENV_A);
	ck_assert_uint_eq(r.asked[3], ENV_B);
}
END_TEST

START_TEST(test_next_from_last_slot_wraps)
{
	struct slot_vector v;
	struct runnable r = {.yes = {ENV_A}};

	slots_init(&v);
	v.owner[EXO_NSLOTS - 1] = ENV_A;
	v.owner[2] = ENV_A;
	v.current = EXO_NSLOTS - 1;
	ck_assert_int_eq(slots_next(&v, can_run, &r), 2);
	ck_assert_uint_eq(v.current, 2);
}
END_TEST

START_TEST(test_next_skips_who_cannot_run)
{
	struct slot_vector v;
	struct runnable r = {.yes = {ENV_C}};

	slots_init(&v);
	v.owner[1] = ENV_A;
	v.owner[2] = ENV_B;
	v.owner[3] = ENV_C;
	v.current = 0;
	ck_assert_int_eq(slots_next(&v, can_run, &r), 3);
	ck_assert_uint_eq(r.nasked, 3);
	ck_assert_uint_eq(r.asked[0], ENV_A);
	ck_assert_uint_eq(r.asked[1], ENV_B);
	ck_assert_uint_eq(r.asked[2], ENV_C);
}
END_TEST

/* The current slot is considered, but only after every other. */
START_TEST(test_next_current_last)
{
	struct slot_vector v;
	struct runnable r = {.yes = {ENV_A}};

	slots_init(&v);
	v.owner[7] = ENV_A;
	v.owner[8] = ENV_B;
	v.owner[6] = ENV_B;
	v.current = 7;
	ck_assert_int_eq(slots_next(&v, can_run, &r), 7);
	ck_assert_uint_eq(v.current, 7);
	ck_assert_uint_eq(r.nasked, 3);
	ck_assert_uint_eq(r.asked[0], ENV_B); /* slot 8 */
	ck_assert_uint_eq(r.asked[1], ENV_B); /* slot 6, after wrapping */
	ck_assert_uint_eq(r.asked[2], ENV_A); /* slot 7 itself, last */
}
END_TEST

START_TEST(test_next_none)
{
	struct slot_vector v;
	struct runnable r = {.yes = {ENV_C}};

	slots_init(&v);
	v.current = 11;
	ck_assert_int_eq(slots_next(&v, can_run, &r), -1);
	ck_assert_uint_eq(r.nasked, 0); /* all free: nobody asked */
	ck_assert_uint_eq(v.current, 11);

	v.owner[3] = ENV_A;
	v.owner[11] = ENV_B;
	ck_assert_int_eq(slots_next(&v, can_run, &r), -1);
	ck_assert_uint_eq(r.nasked, 2);
	ck_assert_uint_eq(v.current, 11);
}
END_TEST

START_TEST(test_count)
{
	ck_assert_uint_eq(slots_count(0), 0);
	ck_assert_uint_eq(slots_count(1), 1);
	ck_assert_uint_eq(slots_count(BIT(63) | 1), 2);
	ck_assert_uint_eq(slots_count(0xf0f0), 8);
	ck_assert_uint_eq(slots_count(ALL_SLOTS), EXO_NSLOTS);
}
END_TEST

START_TEST(test_highest)
{
	ck_assert_uint_eq(slots_highest(0xff, 3), 0xe0);
	ck_assert_uint_eq(slots_highest(0x8421, 2), 0x8400);
	ck_assert_uint_eq(slots_highest(0x8421, 0), 0);
	ck_assert_uint_eq(slots_highest(0x8421, 4), 0x8421);
	ck_assert_uint_eq(slots_highest(0x8421, 100), 0x8421);
	ck_assert_uint_eq(slots_highest(ALL_SLOTS, 1), BIT(63));
	ck_assert_uint_eq(slots_highest(BIT(63) | 1, 1), BIT(63));
	ck_assert_uint_eq(slots_highest(0, 5), 0);
}
END_TEST

static Suite *slots_suite(void)
{
	Suite *s = suite_create("slots");
	TCase *alloc = tcase_create("alloc");
	TCase *next = tcase_create("next");
	TCase *mask = tcase_create("mask");

	tcase_add_test(alloc, test_init);
	tcase_add_test(alloc, test_alloc_bad_count);
	tcase_add_test(alloc, test_alloc_contiguous);
	tcase_add_test(alloc, test_alloc_contiguous_whole_vector);
	tcase_add_test(alloc, test_alloc_contiguous_does_not_wrap);
	tcase_add_test(alloc, test_alloc_spread_is_even);
	tcase_add_test(alloc, test_alloc_spread_around_others);
	tcase_add_test(alloc, test_alloc_spread_not_enough);
	tcase_add_test(alloc, test_free_only_own);
	suite_add_tcase(s, alloc);

	tcase_add_test(next, test_next_round_robin);
	tcase_add_test(next, test_next_from_last_slot_wraps);
	tcase_add_test(next, test_next_skips_who_cannot_run);
	tcase_add_test(next, test_next_current_last);
	tcase_add_test(next, test_next_none);
	suite_add_tcase(s, next);

	tcase_add_test(mask, test_count);
	tcase_add_test(mask, test_highest);
	suite_add_tcase(s, mask);
	return s;
}

CHECK_MAIN(slots_suite)
