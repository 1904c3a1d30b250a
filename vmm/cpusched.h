/*
 * cpusched.h: the CPU quota layer at run time.  One thread measures each
 * instance's vCPU thread with its CPU clock (CLOCK_THREAD_CPUTIME_ID
 * through pthread_getcpuclockid: exact time, never tick samples), asks
 * the credit scheduler (credit.h) who may run, and parks or releases the
 * vCPU threads (instance_park).  vCPU threads are pinned to the CPUs the
 * layer hands out ([exovmm] cpus).  The same thread samples each vCPU's
 * share every metrics interval (for the metrics time series, metrics.h,
 * and for cpusched_stats), and drives the memory quota layer's clock
 * (memory_tick, memory_note_stolen).  The control socket (control.h)
 * changes weights and caps and reads the figures while it runs.
 */
#ifndef VMM_CPUSCHED_H
#define VMM_CPUSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "credit.h"
#include "error.h"
#include "instance.h"
#include "metrics.h"

struct cpusched;

/* An instance's states, as the metrics and the control socket say them. */
#define CPUSCHED_RUNNING "running" /* may run */
#define CPUSCHED_PARKED "parked"   /* held out of the guest by the layer */
#define CPUSCHED_ENDED "ended"	   /* its run is over */

/* One instance's CPU figures at one moment. */
struct cpusched_stats {
	const char *state;    /* one of the three above */
	double cpu_s;	      /* CPU its vCPU thread used, in total */
	double share;	      /* CPUs it used over the last metrics interval */
	double target;	      /* CPUs its weight and cap entitle it to now */
	double credit_ms;     /* left of its share in this period */
	double parked_s;      /* time parked by the quota layer, in total */
	double waited_s;      /* time runnable but waiting for a host CPU */
	unsigned weight, cap; /* cap: percent of one CPU, 0 = none */
	uint64_t exits;	      /* returns from the guest to exovmm */
};

/*
 * Schedule the n instances (already started) on cfg's CPUs and timeslice,
 * sample their shares every cfg->metrics_interval_ns, and then write a
 * line of metrics for each when metrics is not NULL.  Returns 0, or -1
 * with err saying what failed (no instance is touched).
 */
int cpusched_start(struct cpusched **out, const struct vmm_config *cfg,
		   struct instance *instances, size_t n,
		   struct metrics *metrics, struct vmm_error *err);
/* Stop the scheduler's thread, write the last metrics, and release every
 * parked vCPU. */
void cpusched_stop(struct cpusched *cs);

/*
 * Give instance `index` (its place in the array cpusched_start was given)
 * a new weight and cap, already checked (config.h's parsers); they act
 * at once.  -1, with err naming the instance, if it has ended.  Safe from
 * any thread.
 */
int cpusched_set(struct cpusched *cs, size_t index, unsigned weight,
		 unsigned cap, struct vmm_error *err);
/* Instance `index`'s figures now.  Safe from any thread. */
void cpusched_stats(struct cpusched *cs, size_t index,
		    struct cpusched_stats *out);

/* The number of CPUs `cpus = 0` means: those this process may use. */
unsigned cpusched_host_cpus(void);

#endif /* VMM_CPUSCHED_H */
