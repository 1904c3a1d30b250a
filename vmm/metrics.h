/*
 * metrics.h: the time series exovmm writes when [exovmm] metrics names a
 * file.  It is CSV: one header line (METRICS_HEADER), then every
 * metrics_interval one line per instance, flushed at once so a running
 * experiment can be followed.  The columns are documented in
 * exovmm.conf(5); new columns are only ever added at the end.
 */
#ifndef VMM_METRICS_H
#define VMM_METRICS_H

#include <stdio.h>

#include "error.h"

#define METRICS_HEADER                                                         \
	"time_s,instance,state,cpu_s,share,target,credit_ms,parked_s,weight,"  \
	"cap,memory_mib,exits,memory_used_mib,memory_target_mib,revocations,"  \
	"chunks_released,chunks_taken,waited_s"

struct cpusched_stats; /* cpusched.h */
struct memory_stats;   /* memory.h */

/* One instance at one moment. */
struct metrics_row {
	double time_s; /* since exovmm started the instances */
	const char *instance;
	const struct cpusched_stats *cpu;
	const struct memory_stats *memory;
};

struct metrics {
	FILE *file;
	const char *path;
};

/* Create (or truncate) path and write the header. */
int metrics_open(struct metrics *m, const char *path, struct vmm_error *err);
void metrics_write(struct metrics *m, const struct metrics_row *row);
/* Push the lines of one interval out to the file. */
void metrics_flush(struct metrics *m);
void metrics_close(struct metrics *m);

#endif /* VMM_METRICS_H */
