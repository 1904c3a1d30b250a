/*
 * slots.h: the CPU as a vector of EXO_NSLOTS time slices, each owned by
 * at most one env, scheduled round robin.  Portable C, no hardware.
 */
#ifndef EXO_SLOTS_H
#define EXO_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include <exo/abi.h>

#define SLOT_FREE 0u /* owner of a free slot (no env has id 0) */

struct slot_vector {
	exo_envid_t owner[EXO_NSLOTS];
	unsigned current; /* the slot running now */
};

void slots_init(struct slot_vector *v);

/*
 * Give `count` free slots to owner.  With `contiguous`, adjacent slots
 * (not wrapping round the end); otherwise slots spread as evenly as the
 * free ones allow over the vector, so the owner's waits are short.
 * Returns 0 with their mask in *mask, -E_INVAL for count 0 or above
 * EXO_NSLOTS, -E_NOMEM if there are not enough free (or adjacent) slots.
 */
int slots_alloc(struct slot_vector *v, exo_envid_t owner, unsigned count,
		bool contiguous, uint64_t *mask);

/* Free the slots in mask that owner owns; returns how many. */
unsigned slots_free(struct slot_vector *v, exo_envid_t owner, uint64_t mask);

/* The mask of the slots owner holds. */
uint64_t slots_owned(const struct slot_vector *v, exo_envid_t owner);

/*
 * Advance round robin from the current slot to the next one whose owner
 * `can_run` accepts, make it current and return it; -1 (current
 * unchanged) if none does.  The current slot itself is considered last.
 */
int slots_next(struct slot_vector *v, bool (*can_run)(exo_envid_t, void *),
	       void *arg);

/* Mask helpers. */
unsigned slots_count(uint64_t mask);
/* The highest-numbered `n` slots of mask (for taking slots back). */
uint64_t slots_highest(uint64_t mask, unsigned n);

#endif /* EXO_SLOTS_H */
