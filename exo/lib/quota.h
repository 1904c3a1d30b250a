/*
 * quota.h: hierarchical quota containers.  Portable C, no hardware.
 *
 * Each env has one container per resource (frames, slots).  `limit` is
 * set by its creator out of the creator's own container: a child's limit
 * counts in the parent's `granted`.  An env may hold resources while
 * used + granted <= limit.  Lowering a limit below used + granted is
 * allowed (that is how revocation starts); quota_over() then says how
 * much must come back.
 */
#ifndef EXO_QUOTA_H
#define EXO_QUOTA_H

#include <stdint.h>

struct quota {
	uint64_t limit;
	uint64_t used;	  /* held directly */
	uint64_t granted; /* sum of the children's limits */
};

/* Take n for direct use: 0, or -E_NOMEM if that would pass the limit. */
int quota_charge(struct quota *q, uint64_t n);
/* Give back n from direct use (n <= used). */
void quota_uncharge(struct quota *q, uint64_t n);
/* How far used + granted is above limit (0 if not). */
uint64_t quota_over(const struct quota *q);
/* How much more the container can take or grant. */
uint64_t quota_room(const struct quota *q);

/*
 * Set child's limit to `limit`, taking the difference from (or returning
 * it to) parent's `granted`.  Raising needs room in the parent (else
 * -E_NOMEM, nothing changed).  Lowering always succeeds; the child may
 * then be over its limit.
 */
int quota_set_child(struct quota *parent, struct quota *child, uint64_t limit);

/* A child goes away: its whole limit returns to the parent. */
void quota_release_child(struct quota *parent, struct quota *child);

#endif /* EXO_QUOTA_H */
