/*
 * test_cap.c: Check tests of capability tables and derivation
 * (exo/lib/cap.c).
 *
 * The central property is that cap_derive never widens a capability: the
 * rights and range tests below compare every result against its source,
 * including requests built to wrap 64-bit sums round to small numbers.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/cap.h"

#define FRAME_BASE 0x200000ull
#define FRAME_COUNT 8ull
#define EPOCH 42u
#define ENVID 0x103u
#define BADGE 0xbadull
#define RIGHTS_LIMIT 0x100u /* every uint8_t rights value is below this */
#define POISON 0xa5
#define POISON_WORD 0xa5a5a5a5a5a5a5a5ull /* memset(POISON) of a uint64_t */

static struct cap frame_cap(uint64_t count, unsigned rights)
{
	struct cap c = {.type = EXO_CAP_FRAME,
			.rights = (uint8_t)rights,
			.epoch = EPOCH,
			.base = FRAME_BASE,
			.count = count};

	return c;
}

static struct cap env_cap(void)
{
	struct cap c = {
	    .type = EXO_CAP_ENV, .rights = EXO_R_ALL, .object = ENVID};

	return c;
}

/* Field by field: the struct has padding that need not match. */
static void assert_same(const struct cap *a, const struct cap *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->rights, b->rights);
	ck_assert_uint_eq(a->epoch, b->epoch);
	ck_assert_uint_eq(a->base, b->base);
	ck_assert_uint_eq(a->count, b->count);
	ck_assert_uint_eq(a->object, b->object);
}

static void fresh_table(struct captab *t)
{
	memset(t, POISON, sizeof(*t)); /* init must not rely on zeroed memory */
	captab_init(t);
}

/* ---- Tables ----------------------------------------------------------- */

START_TEST(test_init_empties_every_slot)
{
	struct captab t;
	struct cap *c = NULL;

	fresh_table(&t);
	for (int64_t i = 0; i < EXO_CAP_SLOTS; i++) {
		ck_assert_uint_eq(t.slot[i].type, EXO_CAP_NONE);
		ck_assert_int_eq(captab_get(&t, i, EXO_CAP_FRAME, 0, &c),
				 -E_BADCAP);
		ck_assert_int_eq(captab_drop(&t, i), -E_BADCAP);
	}
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_insert_any_takes_lowest)
{
	struct captab t;
	struct cap c = frame_cap(FRAME_COUNT, EXO_R_ALL);

	fresh_table(&t);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), 0);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), 1);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), 2);
	ck_assert_int_eq(captab_drop(&t, 1), 0);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), 1);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), 3);
	assert_same(&t.slot[3], &c);
}
END_TEST

START_TEST(test_insert_wanted_slot)
{
	struct captab t;
	struct cap a = frame_cap(FRAME_COUNT, EXO_R_ALL);
	struct cap b = env_cap();

	fresh_table(&t);
	ck_assert_int_eq(captab_insert(&t, 5, &a), 5);
	assert_same(&t.slot[5], &a);
	ck_assert_int_eq(captab_insert(&t, EXO_CAP_SLOTS - 1, &a),
			 EXO_CAP_SLOTS - 1);
	/* Occupied: refused and the old capability kept. */
	ck_assert_int_eq(captab_insert(&t, 5, &b), -E_INVAL);
	assert_same(&t.slot[5], &a);
	ck_assert_uint_eq(t.slot[4].type, EXO_CAP_NONE);
	ck_assert_uint_eq(t.slot[6].type, EXO_CAP_NONE);
}
END_TEST

START_TEST(test_insert_bad_slot)
{
	static const int64_t bad[] = {
	    -2, -3, INT64_MIN, EXO_CAP_SLOTS, EXO_CAP_SLOTS + 1, INT64_MAX};
	struct captab t, before;
	struct cap c = env_cap();

	fresh_table(&t);
	before = t;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(captab_insert(&t, bad[i], &c), -E_INVAL);
	for (int64_t i = 0; i < EXO_CAP_SLOTS; i++)
		assert_same(&t.slot[i], &before.slot[i]);
}
END_TEST

START_TEST(test_table_full)
{
	struct captab t;
	struct cap c = env_cap();

	fresh_table(&t);
	for (int64_t i = 0; i < EXO_CAP_SLOTS; i++)
		ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), i);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), -E_NOMEM);
	ck_assert_int_eq(captab_insert(&t, 0, &c), -E_INVAL);
	ck_assert_int_eq(captab_drop(&t, EXO_CAP_SLOTS / 2), 0);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c),
			 EXO_CAP_SLOTS / 2);
	ck_assert_int_eq(captab_insert(&t, EXO_SLOT_ANY, &c), -E_NOMEM);
}
END_TEST

START_TEST(test_get)
{
	struct captab t;
	struct cap c = frame_cap(FRAME_COUNT, EXO_R_READ | EXO_R_WRITE);
	struct cap *out = NULL;

	fresh_table(&t);
	ck_assert_int_eq(captab_insert(&t, 3, &c), 3);
	ck_assert_int_eq(captab_get(&t, 3, EXO_CAP_FRAME, 0, &out), 0);
	ck_assert_ptr_eq(out, &t.slot[3]);
	out = NULL;
	ck_assert_int_eq(
	    captab_get(&t, 3, EXO_CAP_FRAME, EXO_R_READ | EXO_R_WRITE, &out),
	    0);
	ck_assert_ptr_eq(out, &t.slot[3]);

	out = NULL;
	ck_assert_int_eq(
	    captab_get(&t, 3, EXO_CAP_FRAME, EXO_R_READ | EXO_R_EXEC, &out),
	    -E_PERM);
	ck_assert_int_eq(captab_get(&t, 3, EXO_CAP_FRAME, EXO_R_FREE, &out),
			 -E_PERM);
	ck_assert_int_eq(captab_get(&t, 3, EXO_CAP_ENV, 0, &out), -E_BADCAP);
	ck_assert_int_eq(captab_get(&t, 3, EXO_CAP_INITRD, 0, &out), -E_BADCAP);
	ck_assert_int_eq(captab_get(&t, 2, EXO_CAP_FRAME, 0, &out), -E_BADCAP);
	ck_assert_int_eq(captab_get(&t, -1, EXO_CAP_FRAME, 0, &out), -E_BADCAP);
	ck_assert_int_eq(captab_get(&t, EXO_CAP_SLOTS, EXO_CAP_FRAME, 0, &out),
			 -E_BADCAP);
	ck_assert_int_eq(captab_get(&t, INT64_MIN, EXO_CAP_FRAME, 0, &out),
			 -E_BADCAP);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_drop)
{
	struct captab t;
	struct cap c = env_cap();
	struct cap *out;

	fresh_table(&t);
	ck_assert_int_eq(captab_insert(&t, 7, &c), 7);
	ck_assert_int_eq(captab_drop(&t, 7), 0);
	ck_assert_uint_eq(t.slot[7].type, EXO_CAP_NONE);
	ck_assert_int_eq(captab_get(&t, 7, EXO_CAP_ENV, 0, &out), -E_BADCAP);
	ck_assert_int_eq(captab_drop(&t, 7), -E_BADCAP);
	ck_assert_int_eq(captab_drop(&t, -1), -E_BADCAP);
	ck_assert_int_eq(captab_drop(&t, EXO_CAP_SLOTS), -E_BADCAP);
	ck_assert_int_eq(captab_drop(&t, INT64_MAX), -E_BADCAP);
	/* The slot is reusable. */
	ck_assert_int_eq(captab_insert(&t, 7, &c), 7);
}
END_TEST

/* ---- Derivation ------------------------------------------------------- */

/* Does `out` cover only pages that `src` covers? */
static void assert_inside(const struct cap *src, const struct cap *out)
{
	uint64_t first = (out->base - src->base) / EXO_PAGE_SIZE;

	ck_assert_uint_ge(out->base, src->base);
	ck_assert_uint_eq((out->base - src->base) % EXO_PAGE_SIZE, 0);
	ck_assert_uint_ge(out->count, 1);
	ck_assert_uint_lt(first, src->count);
	ck_assert_uint_le(out->count, src->count - first);
	ck_assert_uint_eq(out->rights & ~src->rights, 0);
}

START_TEST(test_derive_frame)
{
	struct cap src = frame_cap(FRAME_COUNT, EXO_R_READ | EXO_R_WRITE);
	struct cap out;

	src.object = ENVID;
	ck_assert_int_eq(cap_derive(&src, EXO_R_READ, 2, 3, &out), 0);
	ck_assert_uint_eq(out.type, EXO_CAP_FRAME);
	ck_assert_uint_eq(out.rights, EXO_R_READ);
	ck_assert_uint_eq(out.base, FRAME_BASE + 2 * EXO_PAGE_SIZE);
	ck_assert_uint_eq(out.count, 3);
	ck_assert_uint_eq(out.epoch, EPOCH);
	ck_assert_uint_eq(out.object, ENVID);
	assert_inside(&src, &out);

	/* The whole range, and the last page alone. */
	ck_assert_int_eq(cap_derive(&src, src.rights, 0, FRAME_COUNT, &out), 0);
	assert_same(&out, &src);
	ck_assert_int_eq(cap_derive(&src, 0, FRAME_COUNT - 1, 1, &out), 0);
	ck_assert_uint_eq(out.base,
			  FRAME_BASE + (FRAME_COUNT - 1) * EXO_PAGE_SIZE);
	ck_assert_uint_eq(out.rights, 0);
}
END_TEST

START_TEST(test_derive_rights_never_widen)
{
	static const unsigned high[] = {0x80u, 0x100u, 0x8000u, 0x80000000u,
					~0u};

	for (unsigned have = 0; have <= EXO_R_ALL; have++) {
		struct cap src = frame_cap(FRAME_COUNT, have);

		for (unsigned want = 0; want < RIGHTS_LIMIT; want++) {
			struct cap out;
			int r = cap_derive(&src, want, 0, 1, &out);

			if (want & ~have) {
				ck_assert_int_eq(r, -E_PERM);
			} else {
				ck_assert_int_eq(r, 0);
				ck_assert_uint_eq(out.rights, want);
			}
		}
		/* Bits beyond uint8_t must not be truncated into a subset. */
		for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
			struct cap out;

			ck_assert_int_eq(
			    cap_derive(&src, high[i] | have, 0, 1, &out),
			    -E_PERM);
		}
	}
}
END_TEST

struct range_case {
	uint64_t offset, count;
};

/* Requests outside [0, FRAME_COUNT): several wrap offset + count. */
static const struct range_case bad_ranges[] = {
    {0, 0},
    {3, 0},
    {FRAME_COUNT, 1},
    {FRAME_COUNT, 0},
    {0, FRAME_COUNT + 1},
    {1, FRAME_COUNT},
    {FRAME_COUNT - 1, 2},
    {UINT64_MAX, 1},
    {UINT64_MAX, 2}, /* offset + count wraps to 1 */
    {1, UINT64_MAX}, /* wraps to 0 */
    {2, UINT64_MAX - 1},
    {FRAME_COUNT, UINT64_MAX - FRAME_COUNT + 1}, /* wraps to 0 */
    {UINT64_MAX, UINT64_MAX},
    {0, UINT64_MAX},
    {UINT64_MAX - FRAME_COUNT, FRAME_COUNT + 1},
    {1ull << 52, 1}, /* offset * EXO_PAGE_SIZE wraps to 0 */
    {1ull << 63, 1ull << 63},
};

START_TEST(test_derive_range_overflow)
{
	struct cap src = frame_cap(FRAME_COUNT, EXO_R_ALL);

	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]);
	     i++) {
		struct cap out;

		memset(&out, POISON, sizeof(out));
		ck_assert_msg(cap_derive(&src, EXO_R_READ, bad_ranges[i].offset,
					 bad_ranges[i].count, &out) == -E_INVAL,
			      "offset %llx count %llx",
			      (unsigned long long)bad_ranges[i].offset,
			      (unsigned long long)bad_ranges[i].count);
		/* Nothing is written on failure. */
		ck_assert_uint_eq(out.base, POISON_WORD);
	}
}
END_TEST

/* Every small request: accepted exactly when it lies inside the source. */
START_TEST(test_derive_range_exhaustive)
{
	const uint64_t span = 2 * FRAME_COUNT + 2;
	struct cap src = frame_cap(FRAME_COUNT, EXO_R_ALL);

	for (uint64_t off = 0; off < span; off++) {
		for (uint64_t n = 0; n < span; n++) {
			struct cap out;
			bool inside = n >= 1 && off + n <= FRAME_COUNT;
			int r = cap_derive(&src, EXO_R_ALL, off, n, &out);

			ck_assert_int_eq(r, inside ? 0 : -E_INVAL);
			if (inside)
				assert_inside(&src, &out);
		}
	}
}
END_TEST

/* A chain of derivations only ever narrows. */
START_TEST(test_derive_chain)
{
	struct cap a = frame_cap(FRAME_COUNT, EXO_R_ALL);
	struct cap b, c;

	ck_assert_int_eq(cap_derive(&a, EXO_R_READ | EXO_R_GRANT, 4, 4, &b), 0);
	assert_inside(&a, &b);
	/* b's range is [0, 4): its source's pages 4..7. */
	ck_assert_int_eq(cap_derive(&b, EXO_R_READ, 4, 1, &c), -E_INVAL);
	ck_assert_int_eq(cap_derive(&b, EXO_R_WRITE, 0, 1, &c), -E_PERM);
	ck_assert_int_eq(cap_derive(&b, EXO_R_READ, 3, 1, &c), 0);
	assert_inside(&b, &c);
	assert_inside(&a, &c);
	ck_assert_uint_eq(c.base, FRAME_BASE + 7 * EXO_PAGE_SIZE);

	/* Deriving in place (out aliases src) works and narrows. */
	ck_assert_int_eq(cap_derive(&b, EXO_R_READ, 1, 2, &b), 0);
	ck_assert_uint_eq(b.base, FRAME_BASE + 5 * EXO_PAGE_SIZE);
	ck_assert_uint_eq(b.count, 2);
	ck_assert_uint_eq(b.rights, EXO_R_READ);
}
END_TEST

START_TEST(test_derive_initrd)
{
	struct cap src = frame_cap(FRAME_COUNT, EXO_R_READ);
	struct cap out;

	src.type = EXO_CAP_INITRD;
	ck_assert_int_eq(cap_derive(&src, EXO_R_READ, 1, 2, &out), 0);
	ck_assert_uint_eq(out.type, EXO_CAP_INITRD);
	ck_assert_uint_eq(out.base, FRAME_BASE + EXO_PAGE_SIZE);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_int_eq(cap_derive(&src, EXO_R_WRITE, 1, 2, &out), -E_PERM);
	ck_assert_int_eq(cap_derive(&src, EXO_R_READ, UINT64_MAX, 2, &out),
			 -E_INVAL);
}
END_TEST

START_TEST(test_derive_slots)
{
	struct cap src = {
	    .type = EXO_CAP_TIMESLOTS, .rights = EXO_R_FREE, .base = 0xf0};
	struct cap out;

	ck_assert_int_eq(cap_derive(&src, EXO_R_FREE, 0x30, 0, &out), 0);
	ck_assert_uint_eq(out.type, EXO_CAP_TIMESLOTS);
	ck_assert_uint_eq(out.base, 0x30);
	ck_assert_int_eq(cap_derive(&src, 0, 0xf0, 0, &out), 0);
	ck_assert_uint_eq(out.base, 0xf0);

	ck_assert_int_eq(cap_derive(&src, 0, 0, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&src, 0, 0x1f0, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&src, 0, 0x01, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&src, 0, UINT64_MAX, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&src, 0, 1ull << 63, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&src, EXO_R_CONTROL, 0x10, 0, &out),
			 -E_PERM);
}
END_TEST

START_TEST(test_derive_env_pct)
{
	struct cap env = env_cap();
	struct cap pct = {.type = EXO_CAP_PCT,
			  .rights = EXO_R_CALL | EXO_R_GRANT,
			  .base = BADGE,
			  .object = ENVID};
	struct cap out;

	ck_assert_int_eq(cap_derive(&env, EXO_R_CONTROL, 0, 0, &out), 0);
	ck_assert_uint_eq(out.type, EXO_CAP_ENV);
	ck_assert_uint_eq(out.object, ENVID);
	ck_assert_uint_eq(out.rights, EXO_R_CONTROL);
	ck_assert_int_eq(cap_derive(&env, 0, 1, 0, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&env, 0, 0, 1, &out), -E_INVAL);
	ck_assert_int_eq(cap_derive(&env, 0, UINT64_MAX, UINT64_MAX, &out),
			 -E_INVAL);

	ck_assert_int_eq(cap_derive(&pct, EXO_R_CALL, 0, 0, &out), 0);
	ck_assert_uint_eq(out.base, BADGE);
	ck_assert_uint_eq(out.object, ENVID);
	ck_assert_int_eq(cap_derive(&pct, EXO_R_CALL | EXO_R_FREE, 0, 0, &out),
			 -E_PERM);
	ck_assert_int_eq(cap_derive(&pct, EXO_R_CALL, 0, 1, &out), -E_INVAL);
}
END_TEST

START_TEST(test_derive_bad_type)
{
	struct cap src = frame_cap(FRAME_COUNT, EXO_R_ALL);
	struct cap out;

	src.type = EXO_CAP_NONE;
	ck_assert_int_eq(cap_derive(&src, 0, 0, 1, &out), -E_INVAL);
	src.type = EXO_CAP_NTYPES;
	ck_assert_int_eq(cap_derive(&src, 0, 0, 1, &out), -E_INVAL);
}
END_TEST

START_TEST(test_cap_info)
{
	struct cap c = frame_cap(FRAME_COUNT, EXO_R_READ | EXO_R_EXEC);
	struct exo_cap_info info;

	c.object = ENVID;
	memset(&info, POISON, sizeof(info));
	cap_info(&c, &info);
	ck_assert_uint_eq(info.type, EXO_CAP_FRAME);
	ck_assert_uint_eq(info.rights, EXO_R_READ | EXO_R_EXEC);
	ck_assert_uint_eq(info.base, FRAME_BASE);
	ck_assert_uint_eq(info.count, FRAME_COUNT);
	ck_assert_uint_eq(info.object, ENVID);
}
END_TEST

static Suite *cap_suite(void)
{
	Suite *s = suite_create("cap");
	TCase *table = tcase_create("table");
	TCase *derive = tcase_create("derive");

	tcase_add_test(table, test_init_empties_every_slot);
	tcase_add_test(table, test_insert_any_takes_lowest);
	tcase_add_test(table, test_insert_wanted_slot);
	tcase_add_test(table, test_insert_bad_slot);
	tcase_add_test(table, test_table_full);
	tcase_add_test(table, test_get);
	tcase_add_test(table, test_drop);
	suite_add_tcase(s, table);

	tcase_add_test(derive, test_derive_frame);
	tcase_add_test(derive, test_derive_rights_never_widen);
	tcase_add_test(derive, test_derive_range_overflow);
	tcase_add_test(derive, test_derive_range_exhaustive);
	tcase_add_test(derive, test_derive_chain);
	tcase_add_test(derive, test_derive_initrd);
	tcase_add_test(derive, test_derive_slots);
	tcase_add_test(derive, test_derive_env_pct);
	tcase_add_test(derive, test_derive_bad_type);
	tcase_add_test(derive, test_cap_info);
	suite_add_tcase(s, derive);
	return s;
}

CHECK_MAIN(cap_suite)
