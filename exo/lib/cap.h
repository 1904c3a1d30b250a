/*
 * cap.h: capabilities and per-env capability tables.  Portable C, no
 * hardware: the kernel links it and host unit tests compile it directly.
 *
 * A capability lives only in kernel memory and is named by its slot, so
 * it cannot be forged.  This file owns the rules that make it impossible
 * to widen one: a derived capability has a subset of the source's rights
 * and a sub-range of its range.  Whether the object a capability names
 * still exists (a freed frame, a dead env) is checked by the kernel with
 * the epoch stored here (exo/kern/capcheck.c).
 */
#ifndef EXO_CAP_H
#define EXO_CAP_H

#include <stdbool.h>
#include <stdint.h>

#include <exo/abi.h>

struct cap {
	uint8_t type;	/* EXO_CAP_* */
	uint8_t rights; /* EXO_R_* */
	uint32_t epoch; /* FRAME: the frames' allocation epoch */
	uint64_t base;	/* FRAME, INITRD: physical address; SLOTS: mask;
			   PCT: badge */
	uint64_t count; /* FRAME, INITRD: pages */
	uint64_t object; /* ENV, PCT: envid */
};

struct captab {
	struct cap slot[EXO_CAP_SLOTS];
};

/* Empty every slot. */
void captab_init(struct captab *t);

/*
 * The capability in slot, if it holds one of `type` with every right in
 * `rights`: 0 and *out set; -E_BADCAP for an out-of-range or empty slot
 * or another type; -E_PERM when a right is missing.
 */
int captab_get(struct captab *t, int64_t slot, unsigned type, unsigned rights,
	       struct cap **out);

/*
 * Store c in slot `want` (which must be empty) or, with EXO_SLOT_ANY, in
 * the lowest empty slot.  Returns the slot, -E_INVAL for a bad or
 * occupied `want`, -E_NOMEM if the table is full.
 */
int captab_insert(struct captab *t, int64_t want, const struct cap *c);

/* Empty a slot: 0, or -E_BADCAP if it was empty or out of range. */
int captab_drop(struct captab *t, int64_t slot);

/*
 * Make *out, a narrower copy of *src: rights & ~src->rights must be 0
 * (else -E_PERM).  For FRAME and INITRD, [offset, offset + count) must lie
 * inside [0, src->count) with count >= 1 and *out's base moves by offset
 * pages; for SLOTS, `offset` is a mask that must be a non-empty subset of
 * src->base; for ENV and PCT offset and count must be 0.  Otherwise
 * -E_INVAL.  Overflow-safe for any 64-bit inputs.
 */
int cap_derive(const struct cap *src, unsigned rights, uint64_t offset,
	       uint64_t count, struct cap *out);

/* The public view of a capability (SYS_CAP_INFO). */
void cap_info(const struct cap *c, struct exo_cap_info *out);

#endif /* EXO_CAP_H */
