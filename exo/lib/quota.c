/*
 * quota.c: the arithmetic of hierarchical quota containers (see quota.h).
 *
 * This file owns the invariant that an env never takes or grants more
 * than its limit allows.  used + granted may legitimately exceed limit
 * after a limit is lowered, so every comparison is made without forming
 * a sum that could wrap: the held amount saturates instead.
 */
#include <stdint.h>

#include <exo/abi.h>

#include "quota.h"

/* used + granted, saturating: a wrapped sum would look like free room. */
static uint64_t quota_held(const struct quota *q)
{
	if (q->granted > UINT64_MAX - q->used)
		return UINT64_MAX;
	return q->used + q->granted;
}

/* a - b, or 0 if b >= a: taking back more than is there empties it. */
static uint64_t sub_floor(uint64_t a, uint64_t b)
{
	return b >= a ? 0 : a - b;
}

int quota_charge(struct quota *q, uint64_t n)
{
	if (n > quota_room(q))
		return -E_NOMEM;
	q->used += n;
	return 0;
}

void quota_uncharge(struct quota *q, uint64_t n)
{
	/* n <= used is the caller's promise; never wrap used if it errs. */
	q->used = sub_floor(q->used, n);
}

uint64_t quota_over(const struct quota *q)
{
	return sub_floor(quota_held(q), q->limit);
}

uint64_t quota_room(const struct quota *q)
{
	return sub_floor(q->limit, quota_held(q));
}

int quota_set_child(struct quota *parent, struct quota *child, uint64_t limit)
{
	if (limit > child->limit) {
		uint64_t more = limit - child->limit;

		if (more > quota_room(parent))
			return -E_NOMEM;
		parent->granted += more;
	} else {
		parent->granted =
		    sub_floor(parent->granted, child->limit - limit);
	}
	child->limit = limit;
	return 0;
}

void quota_release_child(struct quota *parent, struct quota *child)
{
	parent->granted = sub_floor(parent->granted, child->limit);
	/* Nothing left to return: a second release must not count twice. */
	child->limit = 0;
}
