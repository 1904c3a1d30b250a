/*
 * cpusched.h: the CPU quota layer at run time.  One thread measures each
 * instance's vCPU thread with its CPU clock (CLOCK_THREAD_CPUTIME_ID
 * through pthread_getcpuclockid: exact time, never tick samples), asks
 * the credit scheduler (credit.h) who may run, and parks or releases the
 * vCPU threads (instance_park).  vCPU threads are pinned to the CPUs the
 * layer hands out ([exovmm] cpus).  The same thread samples the metrics
 * time series (metrics.h).
 */
#ifndef VMM_CPUSCHED_H
#define VMM_CPUSCHED_H

#include <stddef.h>

#include "config.h"
#include "credit.h"
#include "error.h"
#include "instance.h"
#include "metrics.h"

struct cpusched;

/*
 * Schedule the n instances (already started) on cfg's CPUs and timeslice,
 * and write a line of metrics for each every cfg->metrics_interval_ns
 * when metrics is not NULL.  Returns 0, or -1 with err saying what failed
 * (no instance is touched).
 */
int cpusched_start(struct cpusched **out, const struct vmm_config *cfg,
		   struct instance *instances, size_t n,
		   struct metrics *metrics, struct vmm_error *err);
/* Stop the scheduler's thread, write the last metrics, and release every
 * parked vCPU. */
void cpusched_stop(struct cpusched *cs);

/* The number of CPUs `cpus = 0` means: those this process may use. */
unsigned cpusched_host_cpus(void);

#endif /* VMM_CPUSCHED_H */
