/*
 * memory.h: the memory quota layer for one instance (vmm/memory.c).
 *
 * An instance's RAM is granted in VMM_CHUNK_SIZE chunks, each its own
 * backend memory slot, between memory_min and memory_max.  exovmm and the
 * exokernel talk about it through the mailbox page (include/exo/hvc.h):
 *   - growing: exovmm maps new chunks, marks them granted in the mailbox
 *     and interrupts the guest, whose frames become allocatable;
 *   - shrinking: exovmm lowers the target and interrupts the guest; the
 *     exokernel revokes frames from its envs, frees whole chunks and gives
 *     them back with EXO_HVC_CHUNK_RELEASE; exovmm removes their slots and
 *     drops their host memory (MADV_DONTNEED);
 *   - past the deadline ([exovmm] revoke_deadline) exovmm takes the chunks
 *     still owed by force, never below memory_min, and tells the guest
 *     which went.  A guest that touches a chunk it no longer has stops.
 * Every function is safe from any thread.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "exo/hvc.h"

struct instance;

/* Part of struct instance; memory.c's alone. */
struct memory_state {
	pthread_mutex_t lock;
	struct exo_mailbox *mailbox; /* NULL until memory_init */
	uint32_t min_chunks, max_chunks, target_chunks, granted_chunks;
	uint64_t revoke_deadline_ns; /* time a guest has to reach a lower target */
	uint64_t deadline;	     /* CLOCK_MONOTONIC ns; 0: nothing owed */
	bool take_due;		     /* past it: the vCPU thread takes chunks */
	bool grow_due;		     /* the vCPU thread grants up to the target */
	pthread_cond_t grown;	     /* ... and signals this when it has */
	bool grow_failed;	     /* ... or could not, for grow_error's reason */
	struct vmm_error grow_error;
	uint64_t chunks_released, chunks_taken;
};

/* One instance's memory figures, in bytes and counts since it started. */
struct memory_stats {
	uint64_t granted;	  /* RAM the instance has now */
	uint64_t used;		  /* of that, what the exokernel says is in use */
	uint64_t target;	  /* what exovmm wants it to have */
	uint64_t min, max;	  /* memory_min and memory_max */
	uint64_t revocations;	  /* requests the exokernel made to its envs */
	uint64_t chunks_released; /* given back by the guest (visible path) */
	uint64_t chunks_taken;	  /* taken by force past the deadline */
};

/* Reserve the instance's memory_max, grant `memory`, map the mailbox. */
int memory_init(struct instance *inst, struct vmm_error *err);
void memory_destroy(struct instance *inst);

/*
 * Ask for the instance to hold `bytes` of RAM (a multiple of
 * VMM_CHUNK_SIZE, within memory_min..memory_max; else -1 with err saying
 * which bound).  Growing kicks the vCPU, whose thread grants the chunks
 * (memory_take_due) before the guest runs again; the call returns once it
 * has (-1 with the reason if the backend could not map them), or after
 * MEMORY_GROW_WAIT_MS with 0 (a vCPU parked by the CPU layer takes the
 * kick when released).  Shrinking starts the revocation cascade and
 * its deadline.
 */
int memory_set_target(struct instance *inst, uint64_t bytes,
		      struct vmm_error *err);

/*
 * Past the deadline, have what the guest still owes taken by force: the
 * vCPU is kicked out of the guest, and memory_take_due() does it.
 */
void memory_tick(struct instance *inst, uint64_t now_ns);
/*
 * On the vCPU's thread, out of the guest: grant what a higher target
 * needs, and take what memory_tick found due.
 */
void memory_take_due(struct instance *inst);

void memory_stats(struct instance *inst, struct memory_stats *out);

/*
 * EXO_HVC_CHUNK_RELEASE: the guest gives chunks [first, first + count)
 * back.  *ret is the call's result (EXO_HVC_OK or EXO_HVC_EINVAL, and
 * then nothing was released).  False if the host failed half-way and
 * the instance was stopped.
 */
bool memory_release(struct instance *inst, uint32_t first, uint32_t count, int32_t *ret);

/* Tell the guest its vCPU's total stolen time: parked by the CPU quota
 * layer, or waiting for a host CPU. */
void memory_note_stolen(struct instance *inst, uint64_t stolen_ns);

/*
 * The guest touched guest-physical gpa, which has no memory behind it:
 * true (and the instance stopped, with the reason) if gpa lies below
 * memory_max in a chunk not granted now (taken, given back, or not yet
 * granted).
 */
bool memory_withdrawn_access(struct instance *inst, uint64_t gpa);

#endif /* VMM_MEMORY_H */
