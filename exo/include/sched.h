/*
 * sched.h: the CPU as a vector of time slices (exo/kern/sched.c).
 */
#ifndef EXO_SCHED_H
#define EXO_SCHED_H

#include <stdint.h>

#include "env.h"
#include "slots.h"
#include "trap.h"

/*
 * 20 ms: the shortest slice whose overhead (throughput a CPU-bound env
 * loses to switches, against 100 ms slices) was under 1%, averaged over
 * the sweeps of experiment (d), experiments/slice_sweep.sh, on a host
 * that emulates kernel code; doc/BENCHMARKS.md, "Issue 5: slice length
 * (experiment d)".
 */
#define SLICE_DEFAULT_US 20000u
#define REVOKE_GRACE_DEFAULT_US 50000u /* time to answer a revocation */

extern struct slot_vector slot_vector;
extern struct quota root_slots;

struct sched_params {
	uint64_t slice_us;
	uint64_t revoke_grace_us;
};
extern struct sched_params sched_params;

/* Start scheduling the envs made so far; never returns. */
_Noreturn void sched_start(void);

/*
 * The frame to resume after a kernel entry from ring 3: the current env's
 * if it can go on, else the next one's (idling until there is one), with
 * its pending upcalls delivered.
 */
struct trapframe *sched_resume(void);

/* The running env gives up the rest of its slice, to `to` if runnable. */
void sched_yield(struct env *e, struct env *to);
/* Release e's slots (it is going away). */
void sched_env_gone(struct env *e);

/* Free n of e's slots by force; returns their mask. */
uint64_t sched_take_slots(struct env *e, unsigned n);

/* TSC now and the deadline grace_us from now. */
uint64_t sched_deadline(uint64_t grace_us);

#endif /* EXO_SCHED_H */
