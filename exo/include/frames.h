/*
 * frames.h: physical memory for envs (exo/kern/frames.c): the frame
 * table over RAM, allocation charged to quotas, the bindings between
 * frames and mappings, and breaking them.
 */
#ifndef EXO_FRAMES_H
#define EXO_FRAMES_H

#include <stdint.h>

#include "env.h"
#include "frametab.h"

extern struct frametab frametab;
extern struct quota root_frames; /* everything envs can have */
extern uint64_t frames_in_use;	 /* allocated to envs now */
extern uint64_t frames_repossessed; /* taken from envs by force, ever */

/* Build the frame table; every free RAM frame is allocatable after. */
void frames_init(void);

#define FRAME_PA(index) ((uint64_t)(index) << PAGE_SHIFT)
#define PA_FRAME(pa) ((uint32_t)((pa) >> PAGE_SHIFT))

/*
 * Allocate count zeroed contiguous frames at pa (or anywhere with
 * EXO_FRAME_ANY) charged to e, with frametab flags.  0 and *pa_out, or
 * -E_*.
 */
int frames_alloc(struct env *e, uint64_t pa, uint64_t count, uint16_t flags,
		 uint64_t *pa_out);
/* Unmap the frame everywhere, uncharge its owner and free it. */
void frames_free(uint32_t frame);
/* The env charged for frame (alive or being torn down), or NULL. */
struct env *frames_owner(uint32_t frame);

/*
 * Map pa at va in e (replacing what was there) and record the binding in
 * the reverse map, charged to e's reverse-map allowance.
 */
int frames_map(struct env *e, uint64_t va, uint64_t pa, unsigned perm,
	       bool tracked);
/* Remove e's mapping at va (and its reverse-map entry); 0 or -E_NOENT. */
int frames_unmap(struct env *e, uint64_t va);
/* Remove every mapping of frame, in every env. */
void frames_unmap_all(uint32_t frame);

/* Free every frame e owns and drop every mapping in e's space. */
void frames_release_env(struct env *e);

/*
 * Take up to `want` frames from e by force: what it holds in chunks
 * leaving the machine first, then non-vital data frames, listing their
 * addresses in e's uenv repossession vector, within a round the caller
 * begins and ends (below).  Returns how many were taken; fewer
 * means only vital frames or tables remain.
 */
uint64_t frames_repossess(struct env *e, uint64_t want);

/*
 * A repossession round over e's uenv vector: begin, take frames one by
 * one (each freed and listed), end (bump the sequence, raise the upcall).
 */
void frames_reposs_begin(struct env *e);
void frames_reposs_take(struct env *e, uint32_t frame);
void frames_reposs_end(struct env *e);

#endif /* EXO_FRAMES_H */
