/*
 * cap.c: capability tables and the derivation rules (see cap.h).
 *
 * This file owns the one promise capabilities make: nothing widens one.
 * cap_derive checks every request against its source by subtraction and
 * masking only, so no 64-bit offset or count a caller passes can wrap
 * round into a range the source does not cover.
 */
#include <string.h>

#include "cap.h"

_Static_assert(EXO_CAP_NONE == 0, "a zeroed slot must be empty");

/* The capability in slot, or NULL for an out-of-range or empty one. */
static struct cap *slot_cap(struct captab *t, int64_t slot)
{
	if (slot < 0 || slot >= EXO_CAP_SLOTS)
		return NULL;
	if (t->slot[slot].type == EXO_CAP_NONE)
		return NULL;
	return &t->slot[slot];
}

void captab_init(struct captab *t)
{
	memset(t, 0, sizeof(*t));
}

int captab_get(struct captab *t, int64_t slot, unsigned type, unsigned rights,
	       struct cap **out)
{
	struct cap *c = slot_cap(t, slot);

	if (c == NULL || c->type != type)
		return -E_BADCAP;
	if ((c->rights & rights) != rights)
		return -E_PERM;
	*out = c;
	return 0;
}

/* The lowest empty slot, or -1 if the table is full. */
static int64_t lowest_empty(const struct captab *t)
{
	for (int64_t i = 0; i < EXO_CAP_SLOTS; i++) {
		if (t->slot[i].type == EXO_CAP_NONE)
			return i;
	}
	return -1;
}

int captab_insert(struct captab *t, int64_t want, const struct cap *c)
{
	if (want == EXO_SLOT_ANY) {
		want = lowest_empty(t);
		if (want < 0)
			return -E_NOMEM;
	} else if (want < 0 || want >= EXO_CAP_SLOTS ||
		   t->slot[want].type != EXO_CAP_NONE) {
		return -E_INVAL;
	}
	t->slot[want] = *c;
	return (int)want;
}

int captab_drop(struct captab *t, int64_t slot)
{
	struct cap *c = slot_cap(t, slot);

	if (c == NULL)
		return -E_BADCAP;
	memset(c, 0, sizeof(*c));
	return 0;
}

/*
 * Is [offset, offset + count) inside [0, total) and non-empty?  Written
 * as comparisons against what remains, never as a sum that could wrap.
 */
static bool range_inside(uint64_t offset, uint64_t count, uint64_t total)
{
	return count >= 1 && offset < total && count <= total - offset;
}

/* Narrow the range of a FRAME or INITRD capability (base in bytes). */
static int derive_range(struct cap *c, uint64_t offset, uint64_t count)
{
	if (!range_inside(offset, count, c->count))
		return -E_INVAL;
	/* offset is below the source's count: inside pages it already spans */
	c->base += offset * EXO_PAGE_SIZE;
	c->count = count;
	return 0;
}

/* Narrow a TIMESLOTS capability to the non-empty sub-mask `mask` (no count). */
static int derive_mask(struct cap *c, uint64_t mask)
{
	if (mask == 0 || (mask & ~c->base) != 0)
		return -E_INVAL;
	c->base = mask;
	return 0;
}

int cap_derive(const struct cap *src, unsigned rights, uint64_t offset,
	       uint64_t count, struct cap *out)
{
	struct cap c = *src; /* built aside: out may alias src */
	int err;

	if ((rights & ~(unsigned)src->rights) != 0)
		return -E_PERM;
	c.rights = (uint8_t)rights;
	switch (src->type) {
	case EXO_CAP_FRAME:
	case EXO_CAP_INITRD:
		err = derive_range(&c, offset, count);
		break;
	case EXO_CAP_TIMESLOTS:
		err = derive_mask(&c, offset);
		break;
	case EXO_CAP_ENV:
	case EXO_CAP_PCT:
		/* These name one object: there is nothing to narrow. */
		err = offset != 0 || count != 0 ? -E_INVAL : 0;
		break;
	default:
		err = -E_INVAL;
		break;
	}
	if (err == 0)
		*out = c;
	return err;
}

void cap_info(const struct cap *c, struct exo_cap_info *out)
{
	out->type = c->type;
	out->rights = c->rights;
	out->base = c->base;
	out->count = c->count;
	out->object = c->object;
}
