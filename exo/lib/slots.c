/*
 * slots.c: the time-slice vector (see slots.h).
 *
 * This file owns who holds which slice and the round-robin order in
 * which slices run.  A set of slots is a uint64_t mask, bit i for slot i.
 * Popcount is a plain loop: a builtin could become a libgcc call, which
 * the freestanding kernel does not link.
 */
#include <exo/abi.h>

#include "slots.h"

_Static_assert(EXO_NSLOTS <= 64, "a slot mask is one uint64_t");

#define SLOT_BIT(i) (1ull << (i))

void slots_init(struct slot_vector *v)
{
	for (unsigned i = 0; i < EXO_NSLOTS; i++)
		v->owner[i] = SLOT_FREE;
	v->current = 0;
}

/* Give slot i to owner and add it to *mask. */
static void take(struct slot_vector *v, exo_envid_t owner, unsigned i,
		 uint64_t *mask)
{
	v->owner[i] = owner;
	*mask |= SLOT_BIT(i);
}

/* The lowest start of `count` adjacent free slots, or -1 if none. */
static int find_run(const struct slot_vector *v, unsigned count)
{
	unsigned run = 0;

	for (unsigned i = 0; i < EXO_NSLOTS; i++) {
		run = v->owner[i] == SLOT_FREE ? run + 1 : 0;
		if (run == count)
			return (int)(i + 1 - count);
	}
	return -1;
}

static int alloc_contiguous(struct slot_vector *v, exo_envid_t owner,
			    unsigned count, uint64_t *mask)
{
	int start = find_run(v, count);

	if (start < 0)
		return -E_NOMEM;
	for (unsigned i = 0; i < count; i++)
		take(v, owner, (unsigned)start + i, mask);
	return 0;
}

/*
 * The free slot nearest to `target` going round the vector (it is a
 * cycle), looking forward first at equal distance.  The caller knows one
 * exists.
 */
static unsigned nearest_free(const struct slot_vector *v, unsigned target)
{
	for (unsigned d = 0; d < EXO_NSLOTS; d++) {
		unsigned ahead = (target + d) % EXO_NSLOTS;
		unsigned behind = (target + EXO_NSLOTS - d) % EXO_NSLOTS;

		if (v->owner[ahead] == SLOT_FREE)
			return ahead;
		if (v->owner[behind] == SLOT_FREE)
			return behind;
	}
	return 0; /* unreachable while a free slot exists */
}

/* The number of free slots and, in *first, the lowest (if any). */
static unsigned count_free(const struct slot_vector *v, unsigned *first)
{
	unsigned n = 0;

	*first = 0;
	for (unsigned i = EXO_NSLOTS; i-- > 0;) {
		if (v->owner[i] == SLOT_FREE) {
			*first = i;
			n++;
		}
	}
	return n;
}

/*
 * Aim at count targets EXO_NSLOTS / count apart (computed as i *
 * EXO_NSLOTS / count so the remainder spreads too), anchored at the
 * lowest free slot, and take the free slot nearest each.
 */
static int alloc_spread(struct slot_vector *v, exo_envid_t owner,
			unsigned count, uint64_t *mask)
{
	unsigned anchor;

	if (count_free(v, &anchor) < count)
		return -E_NOMEM;
	for (unsigned i = 0; i < count; i++) {
		unsigned target = anchor + i * EXO_NSLOTS / count;

		take(v, owner, nearest_free(v, target % EXO_NSLOTS), mask);
	}
	return 0;
}

int slots_alloc(struct slot_vector *v, exo_envid_t owner, unsigned count,
		bool contiguous, uint64_t *mask)
{
	uint64_t got = 0;
	int err;

	/* Slots given to SLOT_FREE would stay free: refuse the request. */
	if (count == 0 || count > EXO_NSLOTS || owner == SLOT_FREE)
		return -E_INVAL;
	if (contiguous)
		err = alloc_contiguous(v, owner, count, &got);
	else
		err = alloc_spread(v, owner, count, &got);
	if (err == 0)
		*mask = got;
	return err;
}

unsigned slots_free(struct slot_vector *v, exo_envid_t owner, uint64_t mask)
{
	unsigned n = 0;

	if (owner == SLOT_FREE)
		return 0;
	for (unsigned i = 0; i < EXO_NSLOTS; i++) {
		if ((mask & SLOT_BIT(i)) && v->owner[i] == owner) {
			v->owner[i] = SLOT_FREE;
			n++;
		}
	}
	return n;
}

uint64_t slots_owned(const struct slot_vector *v, exo_envid_t owner)
{
	uint64_t mask = 0;

	for (unsigned i = 0; i < EXO_NSLOTS; i++) {
		if (v->owner[i] == owner)
			mask |= SLOT_BIT(i);
	}
	return mask;
}

int slots_next(struct slot_vector *v, bool (*can_run)(exo_envid_t, void *),
	       void *arg)
{
	unsigned cur = v->current % EXO_NSLOTS;

	/* step EXO_NSLOTS comes back to the current slot: it goes last. */
	for (unsigned step = 1; step <= EXO_NSLOTS; step++) {
		unsigned i = (cur + step) % EXO_NSLOTS;

		if (v->owner[i] != SLOT_FREE && can_run(v->owner[i], arg)) {
			v->current = i;
			return (int)i;
		}
	}
	return -1;
}

unsigned slots_count(uint64_t mask)
{
	unsigned n = 0;

	for (; mask != 0; mask &= mask - 1) /* clears the lowest set bit */
		n++;
	return n;
}

uint64_t slots_highest(uint64_t mask, unsigned n)
{
	uint64_t out = 0;

	for (unsigned i = EXO_NSLOTS; i-- > 0 && n > 0;) {
		if (mask & SLOT_BIT(i)) {
			out |= SLOT_BIT(i);
			n--;
		}
	}
	return out;
}
