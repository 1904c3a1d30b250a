/*
 * cpusched.c: the CPU quota layer's thread (see cpusched.h).  Owns the
 * credit scheduler's state at run time, the CPU pool the vCPU threads are
 * pinned to, the tick loop (read every vCPU thread's clocks, let credit.c
 * decide, park the vCPUs that must stop and release the others, each
 * running one on a CPU of its own, give the memory quota layer its
 * tick), and the sampling of each vCPU's share, which the metrics time
 * series and cpusched_stats report.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpusched.h"
#include "monotonic.h"
#include "memory.h"

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000.0
/* Enough of a stat line for pid, (comm) and state: comm is <= 16 bytes. */
#define THREAD_STAT_PREFIX 64
/* A whole schedstat line: three decimal 64-bit numbers. */
#define THREAD_SCHEDSTAT_LEN 64

/* One instance's vCPU as the layer sees it. */
struct vcpu {
	struct instance *inst;
	int id;		 /* in the credit scheduler; -1: not (any more) */
	clockid_t clock; /* its thread's CPU clock */
	int stat_fd;	 /* its /proc stat file; -1: not open yet */
	int schedstat_fd; /* its /proc schedstat file; -1: not open yet */
	uint64_t cpu_ns; /* at the last tick */
	uint64_t wait_ns;   /* waited for a CPU since wait_from, at the last tick */
	uint64_t waited_ns; /* of which, allowed to run (not parked) */
	uint64_t wait_from; /* the schedstat wait when first read */
	bool wait_read;	    /* it has been read */
	uint64_t parked_ns;
	uint64_t sampled_cpu_ns; /* at the last sample */
	double share;		 /* CPUs used between the last two samples */
	int pinned; /* the pool index its thread is pinned to, or CREDIT_CPU_ANY */
};

struct cpusched {
	struct credit_sched credit;
	struct vcpu vcpu[CREDIT_VCPUS_MAX];
	size_t n;
	cpu_set_t pool;
	int pool_cpu[CREDIT_VCPUS_MAX]; /* the pool's CPUs, in order */
	struct credit_placement placement;
	struct metrics *metrics;
	uint64_t metrics_interval_ns;
	uint64_t start_ns, last_sample_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* an early tick: cpusched_stop, cpusched_set */
	bool stopping;
};

/* What a clock reads, in ns; false if it cannot be read (a CPU clock of
 * a thread that has ended). */
static bool clock_ns(clockid_t clock, uint64_t *ns)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return false;
	*ns = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
	return true;
}

static uint64_t monotonic_ns(void)
{
	uint64_t ns = 0;

	clock_ns(CLOCK_MONOTONIC, &ns);
	return ns;
}

/*
 * The start of the vCPU thread's /proc/self/task/TID/NAME in buf, as a
 * string; *fd keeps the file open.  False until the thread has said who
 * it is, or if the file cannot be read.
 */
static bool read_task_file(struct vcpu *v, const char *name, int *fd,
			   char *buf, size_t size)
{
	char path[64];
	ssize_t len;
	int tid = atomic_load(&v->inst->tid);

	if (*fd < 0 && tid) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid,
			 name);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (*fd < 0)
		return false;
	len = pread(*fd, buf, size - 1, 0);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	return true;
}

/*
 * Whether the vCPU thread is runnable now (running, or waiting for a CPU):
 * the state field of its stat file, after the command name in
 * parentheses.  False until the thread has said who it is; then its CPU
 * use alone says whether it wants CPU (credit.c).
 */
static bool thread_runnable(struct vcpu *v)
{
	char buf[THREAD_STAT_PREFIX];
	const char *state;

	if (!read_task_file(v, "stat", &v->stat_fd, buf, sizeof(buf)))
		return false;
	state = strrchr(buf, ')');
	return state && state[1] == ' ' && state[2] == 'R';
}

/*
 * How long the vCPU thread has waited for a CPU while runnable, since it
 * was first read: the second field of its schedstat file, in ns.  It
 * stays put while the file cannot be read or makes no sense (a kernel
 * without schedstats: see credit_clock).
 */
static uint64_t thread_wait_ns(struct vcpu *v)
{
	char buf[THREAD_SCHEDSTAT_LEN], *wait, *end;
	uint64_t ns;

	if (!read_task_file(v, "schedstat", &v->schedstat_fd, buf,
			    sizeof(buf)))
		return v->wait_ns;
	strtoull(buf, &wait, 10); /* the CPU time: the clock says it */
	ns = strtoull(wait, &end, 10);
	if (end == wait || (v->wait_read && ns < v->wait_from))
		return v->wait_ns;
	if (!v->wait_read)
		v->wait_from = ns;
	v->wait_read = true;
	return ns - v->wait_from;
}

/* A vCPU thread's clocks `elapsed` ns after the last ones, or false if
 * it has ended.  Its state is read only if credit.c needs it (the vCPU
 * was in `state` since the last tick). */
static bool vcpu_clock(struct vcpu *v, enum credit_state state,
		       uint64_t elapsed, struct credit_clock *c)
{
	if (atomic_load(&v->inst->finished) ||
	    !clock_ns(v->clock, &c->cpu_ns))
		return false;
	c->runnable = credit_needs_runnable(state, c->cpu_ns - v->cpu_ns,
					    elapsed) &&
		      thread_runnable(v);
	c->wait_ns = thread_wait_ns(v);
	v->cpu_ns = c->cpu_ns;
	v->wait_ns = c->wait_ns;
	return true;
}

unsigned cpusched_host_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

/* The first `cpus` CPUs this process may use, as a set and in order. */
static void make_pool(struct cpusched *cs, unsigned cpus)
{
	cpu_set_t allowed;
	unsigned taken = 0;

	CPU_ZERO(&cs->pool);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (int cpu = 0; cpu < CPU_SETSIZE && taken < cpus; cpu++)
		if (CPU_ISSET(cpu, &allowed)) {
			CPU_SET(cpu, &cs->pool);
			if (taken < CREDIT_VCPUS_MAX)
				cs->pool_cpu[taken] = cpu;
			taken++;
		}
}

/* Pin the vCPU's thread to pool CPU `index`, or to the whole pool. */
static int pin(struct cpusched *cs, struct vcpu *v, int index)
{
	cpu_set_t one;
	const cpu_set_t *set = &cs->pool;
	int rc;

	if (index != CREDIT_CPU_ANY) {
		CPU_ZERO(&one);
		CPU_SET(cs->pool_cpu[index], &one);
		set = &one;
	}
	rc = pthread_setaffinity_np(v->inst->thread, sizeof(*set), set);
	if (rc == 0)
		v->pinned = index;
	return rc;
}

/* Close the vCPU thread's /proc files, if they were opened. */
static void close_task_files(struct vcpu *v)
{
	if (v->stat_fd >= 0)
		close(v->stat_fd);
	if (v->schedstat_fd >= 0)
		close(v->schedstat_fd);
	v->stat_fd = v->schedstat_fd = -1;
}

/*
 * Every vCPU's clocks.  One parked since the last tick is charged the time
 * as parked, less what it ran before it left the guest; one allowed to
 * run, the time it waited for a host CPU as waited (a parked vCPU waits
 * too, to leave the guest, in what is already its parked time).  So CPU,
 * parked and waited time never add up to more than the time that passed.
 * A vCPU whose instance ended is forgotten once all are read, and its
 * share goes to the others.
 */
static void read_clocks(struct cpusched *cs, uint64_t elapsed,
			struct credit_clock clock[])
{
	bool ended[CREDIT_VCPUS_MAX] = {false};

	for (size_t i = 0; i < cs->n; i++) {
		struct vcpu *v = &cs->vcpu[i];
		enum credit_state state;
		uint64_t wait_before = v->wait_ns, cpu_before = v->cpu_ns, ran;

		if (v->id < 0)
			continue;
		state = credit_state(&cs->credit, v->id);
		if (!vcpu_clock(v, state, elapsed, &clock[v->id]))
			ended[i] = true;
		else if (state == CREDIT_RUN)
			v->waited_ns += v->wait_ns - wait_before;
		else if ((ran = v->cpu_ns - cpu_before) < elapsed)
			v->parked_ns += elapsed - ran;
	}
	for (size_t i = 0; i < cs->n; i++) {
		if (!ended[i])
			continue;
		credit_remove(&cs->credit, cs->vcpu[i].id);
		cs->vcpu[i].id = -1;
		close_task_files(&cs->vcpu[i]);
	}
}

/*
 * Park or release each vCPU as the credit scheduler decided, each one
 * released to run on a CPU of its own (pinned before it is released, so
 * it never starts behind another).  A thread that ended meanwhile fails
 * to pin; the next tick forgets it.
 */
static void apply(struct cpusched *cs)
{
	credit_place(&cs->credit, &cs->placement);
	for (size_t i = 0; i < cs->n; i++) {
		struct vcpu *v = &cs->vcpu[i];
		bool parked;

		if (v->id < 0)
			continue;
		parked = credit_state(&cs->credit, v->id) != CREDIT_RUN;
		if (!parked && v->pinned != cs->placement.cpu[v->id])
			pin(cs, v, cs->placement.cpu[v->id]);
		instance_park(v->inst, parked);
	}
}

/* The vCPU's figures now, with the share of the last sample. */
static void vcpu_stats(const struct cpusched *cs, const struct vcpu *v,
		       struct cpusched_stats *out)
{
	const struct credit_vcpu *c = v->id >= 0 ? &cs->credit.vcpu[v->id]
						 : NULL;

	*out = (struct cpusched_stats){
		.state = !c			      ? CPUSCHED_ENDED
			 : c->state == CREDIT_RUN ? CPUSCHED_RUNNING
						  : CPUSCHED_PARKED,
		.cpu_s = (double)v->cpu_ns / NS_PER_SEC,
		.share = v->share,
		.target = c ? (double)c->share / (double)cs->credit.period_ns
			    : 0,
		.credit_ms = c ? (double)c->credit / NS_PER_MS : 0,
		.parked_s = (double)v->parked_ns / NS_PER_SEC,
		.waited_s = (double)v->waited_ns / NS_PER_SEC,
		.weight = c ? c->weight : v->inst->cfg->weight,
		.cap = c ? c->cap : v->inst->cfg->cap,
		.exits = atomic_load(&v->inst->exits),
	};
}

/* A line of metrics for the vCPU, as it is now. */
static void write_metrics(struct cpusched *cs, struct vcpu *v, uint64_t now)
{
	struct cpusched_stats cpu;
	struct memory_stats memory;
	struct metrics_row row = {
		.time_s = (double)(now - cs->start_ns) / NS_PER_SEC,
		.instance = v->inst->cfg->name,
		.cpu = &cpu,
		.memory = &memory,
	};

	vcpu_stats(cs, v, &cpu);
	memory_stats(v->inst, &memory);
	metrics_write(cs->metrics, &row);
}

/*
 * End an interval: each vCPU's share is what it used since the last
 * sample; then a line of metrics each, if they are written.
 */
static void sample(struct cpusched *cs, uint64_t now)
{
	uint64_t interval = now - cs->last_sample_ns;

	for (size_t i = 0; i < cs->n; i++) {
		struct vcpu *v = &cs->vcpu[i];

		v->share = interval ? (double)(v->cpu_ns - v->sampled_cpu_ns) /
					      (double)interval
				    : 0;
		v->sampled_cpu_ns = v->cpu_ns;
		if (cs->metrics)
			write_metrics(cs, v, now);
	}
	if (cs->metrics)
		metrics_flush(cs->metrics);
	cs->last_sample_ns = now;
}

/*
 * The memory quota layer runs on this clock: chunks still owed past their
 * deadline are taken, and each guest learns its vCPU's stolen time (parked
 * or waiting for a host CPU), which its deadlines do not count.
 */
static void tick_memory(struct cpusched *cs, uint64_t now)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct vcpu *v = &cs->vcpu[i];

		memory_note_stolen(v->inst, v->parked_ns + v->waited_ns);
		memory_tick(v->inst, now);
	}
}

/* One tick; returns when the next is due (CLOCK_MONOTONIC ns). */
static uint64_t tick(struct cpusched *cs)
{
	struct credit_clock clock[CREDIT_VCPUS_MAX] = {{0}};
	uint64_t now = monotonic_ns(), next;

	read_clocks(cs, now - cs->credit.last_tick, clock);
	next = now + credit_tick(&cs->credit, now, clock);
	/* A guest released must already see the time it was parked. */
	tick_memory(cs, now);
	apply(cs);
	if (now - cs->last_sample_ns >= cs->metrics_interval_ns)
		sample(cs, now);
	if (next > cs->last_sample_ns + cs->metrics_interval_ns)
		next = cs->last_sample_ns + cs->metrics_interval_ns;
	return next;
}

static void *cpusched_thread(void *arg)
{
	struct cpusched *cs = arg;
	struct timespec at;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stopping) {
		uint64_t next = tick(cs);

		at = vmm_deadline(next);
		pthread_cond_timedwait(&cs->wake, &cs->lock, &at);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

/* Pin every vCPU thread to the pool and register it with the scheduler. */
static int add_vcpus(struct cpusched *cs, struct instance *instances,
		     struct vmm_error *err)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct vcpu *v = &cs->vcpu[i];
		const struct vmm_instance_config *cfg = instances[i].cfg;
		struct credit_clock clock = {0};
		int rc;

		*v = (struct vcpu){.inst = &instances[i], .id = -1,
				   .stat_fd = -1, .schedstat_fd = -1};
		if (!v->inst->started)
			continue;
		rc = pthread_getcpuclockid(v->inst->thread, &v->clock);
		if (rc == 0)
			rc = pin(cs, v, CREDIT_CPU_ANY);
		if (rc == ESRCH)
			continue; /* it has ended already */
		if (rc != 0)
			return vmm_errorf(err,
					  "instance %s: cannot schedule its "
					  "vCPU thread: %s",
					  cfg->name, strerror(rc));
		vcpu_clock(v, CREDIT_RUN, 0, &clock);
		v->id = credit_add(&cs->credit, cfg->weight, cfg->cap, clock);
	}
	return 0;
}

static void close_vcpus(struct cpusched *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->vcpu[i].inst) /* add_vcpus got this far */
			close_task_files(&cs->vcpu[i]);
}

int cpusched_start(struct cpusched **out, const struct vmm_config *cfg,
		   struct instance *instances, size_t n,
		   struct metrics *metrics, struct vmm_error *err)
{
	struct cpusched *cs = calloc(1, sizeof(*cs));
	unsigned cpus = cfg->cpus ? cfg->cpus : cpusched_host_cpus();
	int rc;

	if (!cs)
		return vmm_errorf(err, "out of memory");
	cs->n = n;
	cs->metrics = metrics;
	cs->metrics_interval_ns = cfg->metrics_interval_ns;
	cs->start_ns = monotonic_ns();
	cs->last_sample_ns = cs->start_ns;
	make_pool(cs, cpus);
	credit_place_init(&cs->placement);
	credit_init(&cs->credit, cpus, cfg->timeslice_ns, cs->start_ns);
	pthread_mutex_init(&cs->lock, NULL);
	vmm_cond_init_monotonic(&cs->wake);
	if (add_vcpus(cs, instances, err) < 0) {
		close_vcpus(cs);
		free(cs);
		return -1;
	}
	rc = pthread_create(&cs->thread, NULL, cpusched_thread, cs);
	if (rc != 0) {
		close_vcpus(cs);
		free(cs);
		return vmm_errorf(err, "cannot start the CPU scheduler: %s",
				  strerror(rc));
	}
	*out = cs;
	return 0;
}

int cpusched_set(struct cpusched *cs, size_t index, unsigned weight,
		 unsigned cap, struct vmm_error *err)
{
	struct vcpu *v = &cs->vcpu[index];
	int rc = 0;

	pthread_mutex_lock(&cs->lock);
	if (v->id < 0) {
		rc = vmm_errorf(err, "instance %s has ended",
				v->inst->cfg->name);
	} else {
		credit_set(&cs->credit, v->id, weight, cap);
		/* Park or release by the new share now, not at the next tick. */
		pthread_cond_signal(&cs->wake);
	}
	pthread_mutex_unlock(&cs->lock);
	return rc;
}

void cpusched_stats(struct cpusched *cs, size_t index,
		    struct cpusched_stats *out)
{
	pthread_mutex_lock(&cs->lock);
	vcpu_stats(cs, &cs->vcpu[index], out);
	pthread_mutex_unlock(&cs->lock);
}

void cpusched_stop(struct cpusched *cs)
{
	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stopping = true;
	pthread_cond_signal(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->thread, NULL);
	sample(cs, monotonic_ns()); /* the last, partial interval */
	for (size_t i = 0; i < cs->n; i++)
		instance_park(cs->vcpu[i].inst, false);
	close_vcpus(cs);
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}
