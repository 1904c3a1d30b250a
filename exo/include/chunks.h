/*
 * chunks.h: the exokernel's side of exovmm's memory protocol
 * (exo/kern/chunks.c): which 2 MiB chunks of RAM it has, growing into new
 * ones, emptying the ones exovmm asks back and releasing them, and
 * repossessing from envs the ones exovmm took by force.
 */
#ifndef EXO_CHUNKS_H
#define EXO_CHUNKS_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"

/* Frames in one chunk. */
#define CHUNK_FRAMES (EXO_CHUNK_SIZE >> PAGE_SHIFT)

/*
 * Read the mailbox, if exovmm provides one.  Returns the frames the frame
 * table must cover (memory_max) and, in *split, the first frame that may
 * be taken away (memory_min); 0 when memory is fixed.
 */
uint64_t chunks_boot(uint32_t *split);
/* The frame table exists: frames of chunks not granted become absent. */
void chunks_init(void);

/* Never follow a lower target (memory=ignore, for tests of the forced path). */
void chunks_ignore_target(void);

/* Act on whatever exovmm changed in the mailbox (its interrupt, or a tick). */
void chunks_poll(void);

/* frame was freed (owner: who held it, or NULL): keep it if its chunk is leaving. */
void chunks_frame_freed(uint32_t frame, struct env *owner);

/* The physical range of chunks being given back, [*lo, *hi); false if none. */
bool chunks_withdraw_range(uint64_t *lo, uint64_t *hi);

/*
 * The vCPU's total stolen time (0 without a mailbox): parked by exovmm's
 * CPU quota layer or kept waiting for a host CPU; time that passed on the
 * clocks but in which nothing ran.
 */
uint64_t chunks_stolen_ns(void);
/* Stolen time since chunks_stolen_ns() read `then` (never negative: the
 * mailbox is exovmm's to write). */
uint64_t chunks_stolen_since(uint64_t then);

#endif /* EXO_CHUNKS_H */
