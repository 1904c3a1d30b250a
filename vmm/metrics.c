/*
 * metrics.c: writing the metrics time series (see metrics.h).  Owns the
 * file and its format; cpusched.c decides when to sample and what.
 */
#include <errno.h>
#include <string.h>

#include "cpusched.h"
#include "memory.h"
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
	const struct cpusched_stats *c = r->cpu;
	const struct memory_stats *mem = r->memory;

	fprintf(m->file,
		"%.3f,%s,%s,%.6f,%.4f,%.4f,%.3f,%.3f,%u,%u,%llu,%llu,%.1f,%llu,"
		"%llu,%llu,%llu,%.3f\n",
		r->time_s, r->instance, c->state, c->cpu_s, c->share, c->target,
		c->credit_ms, c->parked_s, c->weight, c->cap,
		(unsigned long long)(mem->granted / VMM_MIB),
		(unsigned long long)c->exits, (double)mem->used / VMM_MIB,
		(unsigned long long)(mem->target / VMM_MIB),
		(unsigned long long)mem->revocations,
		(unsigned long long)mem->chunks_released,
		(unsigned long long)mem->chunks_taken, c->waited_s);
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
