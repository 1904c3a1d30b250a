/*
 * metrics.c: writing the metrics time series (see metrics.h).  Owns the
 * file and its format; cpusched.c decides when to sample and what.
 */
#include <errno.h>
#include <string.h>

#include "metrics.h"

int metrics_open(struct metrics *m, const char *path, struct vmm_error *err)
{
	m->path = path;
	m->file = fopen(path, "w");
	if (!m->file)
		return vmm_errorf(err, "%s: cannot write metrics: %s", path,
				  strerror(errno));
	fprintf(m->file, "%s\n", METRICS_HEADER);
	fflush(m->file);
	return 0;
}

void metrics_write(struct metrics *m, const struct metrics_row *r)
{
	fprintf(m->file, "%.3f,%s,%s,%.6f,%.4f,%.4f,%.3f,%.3f,%u,%u,%llu,%llu\n",
		r->time_s, r->instance, r->state, r->cpu_s, r->share, r->target,
		r->credit_ms, r->parked_s, r->weight, r->cap,
		(unsigned long long)r->memory_mib,
		(unsigned long long)r->exits);
}

void metrics_flush(struct metrics *m)
{
	fflush(m->file);
}

void metrics_close(struct metrics *m)
{
	if (m->file)
		fclose(m->file);
	m->file = NULL;
}
