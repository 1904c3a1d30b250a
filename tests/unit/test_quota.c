/*
 * test_quota.c: Check tests of hierarchical quota containers
 * (exo/lib/quota.c).
 *
 * A parent's room is what it can still charge or grant; a child's limit
 * counts against it.  The tests follow resources round a small tree and
 * push every sum towards UINT64_MAX to show none of them wraps.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include <exo/abi.h>

#include "check_main.h"
#include "exo/lib/quota.h"

#define ROOT_LIMIT 100u
#define CHILD_LIMIT 30u

static struct quota make(uint64_t limit, uint64_t used, uint64_t granted)
{
	struct quota q = {.limit = limit, .used = used, .granted = granted};

	return q;
}

static void assert_quota(const struct quota *q, uint64_t limit, uint64_t used,
			 uint64_t granted)
{
	ck_assert_uint_eq(q->limit, limit);
	ck_assert_uint_eq(q->used, used);
	ck_assert_uint_eq(q->granted, granted);
}

START_TEST(test_charge_within_limit)
{
	struct quota q = make(ROOT_LIMIT, 0, 0);

	ck_assert_uint_eq(quota_room(&q), ROOT_LIMIT);
	ck_assert_int_eq(quota_charge(&q, 40), 0);
	ck_assert_uint_eq(quota_room(&q), 60);
	ck_assert_int_eq(quota_charge(&q, 60), 0); /* exactly to the limit */
	ck_assert_uint_eq(quota_room(&q), 0);
	ck_assert_uint_eq(quota_over(&q), 0);
	ck_assert_int_eq(quota_charge(&q, 0), 0);
	assert_quota(&q, ROOT_LIMIT, ROOT_LIMIT, 0);
}
END_TEST

START_TEST(test_charge_beyond_limit)
{
	struct quota q = make(ROOT_LIMIT, 90, 5);

	ck_assert_int_eq(quota_charge(&q, 6), -E_NOMEM);
	ck_assert_int_eq(quota_charge(&q, UINT64_MAX), -E_NOMEM);
	assert_quota(&q, ROOT_LIMIT, 90, 5);
	ck_assert_int_eq(quota_charge(&q, 5), 0);
	ck_assert_int_eq(quota_charge(&q, 1), -E_NOMEM);
	assert_quota(&q, ROOT_LIMIT, 95, 5);
}
END_TEST

START_TEST(test_charge_near_uint64_max)
{
	struct quota q = make(UINT64_MAX, 10, 0);

	/* 10 + UINT64_MAX would wrap to 9, which is below the limit. */
	ck_assert_int_eq(quota_charge(&q, UINT64_MAX), -E_NOMEM);
	ck_assert_int_eq(quota_charge(&q, UINT64_MAX - 9), -E_NOMEM);
	ck_assert_uint_eq(q.used, 10);
	ck_assert_int_eq(quota_charge(&q, UINT64_MAX - 10), 0);
	ck_assert_uint_eq(q.used, UINT64_MAX);
	ck_assert_uint_eq(quota_room(&q), 0);
	ck_assert_int_eq(quota_charge(&q, 1), -E_NOMEM);
}
END_TEST

START_TEST(test_uncharge)
{
	struct quota q = make(ROOT_LIMIT, 0, 0);

	ck_assert_int_eq(quota_charge(&q, ROOT_LIMIT), 0);
	quota_uncharge(&q, 30);
	assert_quota(&q, ROOT_LIMIT, 70, 0);
	ck_assert_uint_eq(quota_room(&q), 30);
	quota_uncharge(&q, 70);
	ck_assert_uint_eq(q.used, 0);
	ck_assert_uint_eq(quota_room(&q), ROOT_LIMIT);
}
END_TEST

START_TEST(test_over_and_room)
{
	struct quota q = make(10, 8, 7);

	ck_assert_uint_eq(quota_over(&q), 5);
	ck_assert_uint_eq(quota_room(&q), 0);
	q = make(10, 3, 4);
	ck_assert_uint_eq(quota_over(&q), 0);
	ck_assert_uint_eq(quota_room(&q), 3);
	/* used + granted past UINT64_MAX: over saturates, room stays 0. */
	q = make(10, UINT64_MAX, UINT64_MAX);
	ck_assert_uint_eq(quota_over(&q), UINT64_MAX - 10);
	ck_assert_uint_eq(quota_room(&q), 0);
	ck_assert_int_eq(quota_charge(&q, 0), 0);
	ck_assert_int_eq(quota_charge(&q, 1), -E_NOMEM);
}
END_TEST

START_TEST(test_grant_to_child)
{
	struct quota parent = make(ROOT_LIMIT, 10, 0);
	struct quota child = make(0, 0, 0);

	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT), 0);
	assert_quota(&parent, ROOT_LIMIT, 10, CHILD_LIMIT);
	assert_quota(&child, CHILD_LIMIT, 0, 0);
	ck_assert_uint_eq(quota_room(&parent), ROOT_LIMIT - 10 - CHILD_LIMIT);
	ck_assert_uint_eq(quota_room(&child), CHILD_LIMIT);

	/* The child charges out of its own limit, not the parent's room. */
	ck_assert_int_eq(quota_charge(&child, CHILD_LIMIT), 0);
	ck_assert_int_eq(quota_charge(&child, 1), -E_NOMEM);
	ck_assert_uint_eq(quota_room(&parent), ROOT_LIMIT - 10 - CHILD_LIMIT);

	/* Raising takes only the difference. */
	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT + 20), 0);
	assert_quota(&parent, ROOT_LIMIT, 10, CHILD_LIMIT + 20);
	ck_assert_uint_eq(quota_room(&child), 20);
	/* Setting the same limit changes nothing. */
	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT + 20), 0);
	assert_quota(&parent, ROOT_LIMIT, 10, CHILD_LIMIT + 20);
}
END_TEST

START_TEST(test_raise_beyond_parent_room)
{
	struct quota parent = make(ROOT_LIMIT, 50, 0);
	struct quota child = make(0, 0, 0);
	struct quota p_before, c_before;

	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT), 0);
	p_before = parent;
	c_before = child;
	/* Room is 20: asking for 21 more fails and changes nothing. */
	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT + 21),
			 -E_NOMEM);
	ck_assert_int_eq(quota_set_child(&parent, &child, UINT64_MAX),
			 -E_NOMEM);
	ck_assert_mem_eq(&parent, &p_before, sizeof(parent));
	ck_assert_mem_eq(&child, &c_before, sizeof(child));
	/* Exactly the room succeeds and leaves none. */
	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT + 20), 0);
	ck_assert_uint_eq(quota_room(&parent), 0);
	ck_assert_int_eq(quota_charge(&parent, 1), -E_NOMEM);
}
END_TEST

START_TEST(test_lower_makes_child_over)
{
	struct quota parent = make(ROOT_LIMIT, 0, 0);
	struct quota child = make(0, 0, 0);

	ck_assert_int_eq(quota_set_child(&parent, &child, CHILD_LIMIT), 0);
	ck_assert_int_eq(quota_charge(&child, 25), 0);
	ck_assert_int_eq(quota_set_child(&parent, &child, 10), 0);
	assert_quota(&child, 10, 25, 0);
	assert_quota(&parent, ROOT_LIMIT, 0, 10);
	ck_assert_uint_eq(quota_over(&child), 15);
	ck_assert_uint_eq(quota_room(&child), 0);
	ck_assert_int_eq(quota_charge(&child, 1), -E_NOMEM);
	ck_assert_uint_eq(quota_room(&parent), ROOT_LIMIT - 10);

	/* Giving back brings it under again. */
	quota_uncharge(&child, 15);
	ck_assert_uint_eq(quota_over(&child), 0);
	ck_assert_int_eq(quota_set_child(&parent, &child, 0), 0);
	ck_assert_uint_eq(quota_over(&child), 10);
	ck_assert_uint_eq(parent.granted, 0);
}
END_TEST

START_TEST(test_parent_over_cannot_raise)
{
	struct quota root = make(ROOT_LIMIT, 0, 0);
	struct quota parent = make(0, 0, 0);
	struct quota child = make(0, 0, 0);

	ck_assert_int_eq(quota_set_child(&root, &parent, 50), 0);
	ck_assert_int_eq(quota_charge(&parent, 40), 0);
	ck_assert_int_eq(quota_set_child(&root, &parent, 20), 0);
	ck_assert_uint_eq(quota_over(&parent), 20);
	ck_assert_int_eq(quota_set_child(&parent, &child, 1), -E_NOMEM);
	assert_quota(&child, 0, 0, 0);
	assert_quota(&parent, 20, 40, 0);
}
END_TEST

START_TEST(test_release_child)
{
	struct quota parent = make(ROOT_LIMIT, 5, 0);
	struct quota a = make(0, 0, 0), b = make(0, 0, 0);

	ck_assert_int_eq(quota_set_child(&parent, &a, CHILD_LIMIT), 0);
	ck_assert_int_eq(quota_set_child(&parent, &b, 40), 0);
	ck_assert_int_eq(quota_charge(&a, 12), 0);
	ck_assert_uint_eq(quota_room(&parent),
			  ROOT_LIMIT - 5 - CHILD_LIMIT - 40);

	quota_release_child(&parent, &a);
	ck_assert_uint_eq(parent.granted, 40);
	ck_assert_uint_eq(quota_room(&parent), ROOT_LIMIT - 5 - 40);
	/* A second release returns nothing more. */
	quota_release_child(&parent, &a);
	ck_assert_uint_eq(parent.granted, 40);

	quota_release_child(&parent, &b);
	assert_quota(&parent, ROOT_LIMIT, 5, 0);
	ck_assert_uint_eq(quota_room(&parent), ROOT_LIMIT - 5);
}
END_TEST

/* Three levels: a grandchild's limit is bounded by its parent's room. */
START_TEST(test_three_levels)
{
	struct quota root = make(ROOT_LIMIT, 0, 0);
	struct quota mid = make(0, 0, 0);
	struct quota leaf = make(0, 0, 0);

	ck_assert_int_eq(quota_set_child(&root, &mid, CHILD_LIMIT), 0);
	ck_assert_int_eq(quota_charge(&mid, 10), 0);
	ck_assert_int_eq(quota_set_child(&mid, &leaf, 21), -E_NOMEM);
	ck_assert_int_eq(quota_set_child(&mid, &leaf, 20), 0);
	ck_assert_uint_eq(quota_room(&mid), 0);
	ck_assert_uint_eq(quota_room(&root), ROOT_LIMIT - CHILD_LIMIT);
	ck_assert_int_eq(quota_charge(&leaf, 20), 0);

	/* Lowering the middle leaves it over by what its leaf holds. */
	ck_assert_int_eq(quota_set_child(&root, &mid, 15), 0);
	ck_assert_uint_eq(quota_over(&mid), 15);
	quota_release_child(&mid, &leaf);
	ck_assert_uint_eq(quota_over(&mid), 0);
	ck_assert_uint_eq(quota_room(&mid), 5);
	quota_release_child(&root, &mid);
	assert_quota(&root, ROOT_LIMIT, 0, 0);
}
END_TEST

START_TEST(test_grant_near_uint64_max)
{
	struct quota parent = make(UINT64_MAX, 0, UINT64_MAX - 1);
	struct quota child = make(UINT64_MAX - 1, 0, 0);

	/* Room is 1: a raise of UINT64_MAX would wrap granted if unchecked. */
	ck_assert_int_eq(quota_set_child(&parent, &child, UINT64_MAX), 0);
	ck_assert_uint_eq(parent.granted, UINT64_MAX);
	ck_assert_uint_eq(quota_room(&parent), 0);
	child = make(0, 0, 0);
	ck_assert_int_eq(quota_set_child(&parent, &child, 1), -E_NOMEM);
	ck_assert_uint_eq(parent.granted, UINT64_MAX);
}
END_TEST

static Suite *quota_suite(void)
{
	Suite *s = suite_create("quota");
	TCase *own = tcase_create("own");
	TCase *tree = tcase_create("tree");

	tcase_add_test(own, test_charge_within_limit);
	tcase_add_test(own, test_charge_beyond_limit);
	tcase_add_test(own, test_charge_near_uint64_max);
	tcase_add_test(own, test_uncharge);
	tcase_add_test(own, test_over_and_room);
	suite_add_tcase(s, own);

	tcase_add_test(tree, test_grant_to_child);
	tcase_add_test(tree, test_raise_beyond_parent_room);
	tcase_add_test(tree, test_lower_makes_child_over);
	tcase_add_test(tree, test_parent_over_cannot_raise);
	tcase_add_test(tree, test_release_child);
	tcase_add_test(tree, test_three_levels);
	tcase_add_test(tree, test_grant_near_uint64_max);
	suite_add_tcase(s, tree);
	return s;
}

CHECK_MAIN(quota_suite)
