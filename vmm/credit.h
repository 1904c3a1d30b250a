/*
 * credit.h: the CPU quota layer's decisions: which vCPUs may run, with
 * the semantics of Xen's credit scheduler (weight, cap, a pool of
 * physical CPUs, an accounting period).
 *
 * This is arithmetic only: the caller supplies the time and each vCPU
 * thread's clocks (CPU used, time waited for a CPU), and acts on the answers (cpusched.c parks and
 * releases real threads; tests/unit/test_credit.c runs it on simulated
 * time).
 *
 * The rules:
 * - Each accounting period (the timeslice, 30 ms by default) hands out
 *   the CPU time the vCPUs can actually get of `cpus` periods among the
 *   vCPUs that wanted CPU in the last period, in proportion to their
 *   weights. No vCPU gets more than its cap or one CPU; what those cannot
 *   use is shared among the rest ("water-filling").
 * - What they can actually get: the host keeps some of the CPUs for
 *   itself (exovmm's other threads, other processes, the kernel).
 *   Handing out all of `cpus` would leave that loss to whichever vCPU
 *   is never parked; handing out only the rest spreads it by weight.
 *   It is measured from the vCPUs' own CPU use over the ticks in which
 *   they kept every CPU wanted throughout (see credit_sched.capacity), so
 *   a vCPU that halts or is parked does not make it shrink.
 * - A vCPU's credit is what it has left of its share in this period.
 *   Unused credit does not accumulate past one share. Debt (CPU used past
 *   the credit) carries into the next period, up to one share, so shares
 *   hold on average even though parking lags the clock a little.
 * - A capped vCPU without credit is parked until the next period, even if
 *   CPUs are idle: the cap is a ceiling.
 * - An uncapped vCPU without credit runs only on a CPU that no vCPU with
 *   credit wants (work-conserving, as Xen runs OVER vCPUs when no UNDER
 *   one is runnable).
 * - When more vCPUs want CPU than there are CPUs, those with most of
 *   their share left run, the rest are parked: each vCPU then consumes
 *   its share at an even pace across the period, instead of some
 *   exhausting it early while a CPU idles at the end.
 * - A vCPU that is not runnable at a tick and used less than half the
 *   time since the last one (halted) is not parked, so it wakes at once.
 *   While it idles it keeps a share as if it were busy, so on waking it
 *   has credit and outranks the vCPUs that spent theirs: it is
 *   not starved.
 */
#ifndef VMM_CREDIT_H
#define VMM_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

#define CREDIT_VCPUS_MAX 64u /* VMM_MAX_INSTANCES: one vCPU each */
/* Ticks per accounting period when no vCPU is about to run out. */
#define CREDIT_TICKS_PER_PERIOD 5u
/* The shortest wait between ticks: parking costs a VM exit. */
#define CREDIT_TICK_MIN_NS 200000ull /* 200 us */
#define CREDIT_PERCENT 100u	      /* caps are in percent of one CPU */

/* A vCPU not runnable at a tick that used less than 1/this of the time
 * since the last tick is taken to be halted. */
#define CREDIT_BUSY_DIVISOR 2u

/*
 * The capacity estimate, in millionths of the `cpus` CPUs.  A tick counts
 * towards it when `cpus` vCPUs were released to run and each was runnable
 * throughout, running or waiting for a CPU: at least (this - 1)/this of
 * the time since the last tick (CREDIT_RUNNABLE_DIVISOR, slack for the
 * clocks' skew).  Then no CPU idled for want of a tenant, and what all the
 * vCPUs together did not use of the CPUs went to the host.  A vCPU that
 * halted in the meantime slept part of the time: its CPU may have idled,
 * and the tick does not count.  Each period with at least half of it so
 * measured moves the estimate by 1/CREDIT_CAPACITY_SMOOTHING of the
 * difference.  It never drops below CREDIT_CAPACITY_FLOOR: past that,
 * the host is starving the tenants and handing out less would not help
 * them.
 */
#define CREDIT_RUNNABLE_DIVISOR 16u
#define CREDIT_CAPACITY_ONE 1000000u
#define CREDIT_CAPACITY_FLOOR 950000u /* the estimate goes no lower */
#define CREDIT_CAPACITY_SMOOTHING 8u

/* Why a vCPU may not run now. */
enum credit_state {
	CREDIT_RUN,	    /* may run */
	CREDIT_PARKED,	    /* others with more credit want the CPUs */
	CREDIT_PARKED_CAP,  /* at its cap: parked until the next period */
};

/*
 * What the host says of a vCPU thread: the CPU time it has used and the
 * time it has spent runnable but waiting for a CPU (both from any fixed
 * point; a host that cannot tell the wait gives 0, and then only ticks in
 * which every released vCPU ran flat out measure the capacity, which
 * misses the host's longer bursts), and whether it is runnable now (running or waiting for a
 * CPU; a halted vCPU sleeps in the host).  Whether it is runnable is
 * asked only when credit_needs_runnable() says so: the caller need not
 * find out for the others (it costs a read of /proc).
 */
struct credit_clock {
	uint64_t cpu_ns;
	uint64_t wait_ns;
	bool runnable;
};

/* Whether a vCPU that used `used` ns of the `elapsed` since the last tick
 * was busy: then it wants CPU, whatever it is doing now. */
static inline bool credit_busy(uint64_t used, uint64_t elapsed)
{
	return used * CREDIT_BUSY_DIVISOR >= elapsed;
}

/* Whether the tick needs to know if a vCPU in `state` that used `used`
 * of `elapsed` is runnable: only if it was allowed to run and not busy (a
 * parked vCPU wants CPU as it did when parked). */
static inline bool credit_needs_runnable(enum credit_state state,
					 uint64_t used, uint64_t elapsed)
{
	return state == CREDIT_RUN && !credit_busy(used, elapsed);
}

struct credit_vcpu {
	bool present;
	unsigned weight;      /* 1 to VMM_WEIGHT_MAX */
	unsigned cap;	      /* percent of one CPU; 0 = none */
	int64_t credit;	      /* ns of CPU left in this period */
	int64_t share;	      /* ns per period it is entitled to now */
	struct credit_clock clock; /* its thread's clocks at the last tick */
	bool wants;	      /* runnable since the last tick (or parked) */
	bool wanted;	      /* wanted CPU at some tick of this period */
	enum credit_state state;
};

struct credit_sched {
	unsigned cpus;
	uint64_t period_ns;
	uint64_t period_start;
	uint64_t periods; /* how many have begun */
	uint64_t last_tick;
	/* Of the `cpus` CPUs, what the vCPUs can get (CREDIT_CAPACITY_ONE:
	 * all), and the ticks of this period that measure it: their time
	 * and the vCPUs' CPU use in them. */
	uint64_t capacity;
	uint64_t full_ns, full_used_ns;
	struct credit_vcpu vcpu[CREDIT_VCPUS_MAX];
};

/* No vCPUs yet; the first period starts at now. */
void credit_init(struct credit_sched *s, unsigned cpus, uint64_t period_ns,
		 uint64_t now);
/*
 * Add a vCPU whose thread's clocks read `clock` now.  It starts wanting
 * CPU with a full share of credit.  Returns its id, or -1 if the table is
 * full.
 */
int credit_add(struct credit_sched *s, unsigned weight, unsigned cap,
	       struct credit_clock clock);
/* Change a vCPU's weight and cap; shares are recomputed at once. */
void credit_set(struct credit_sched *s, int id, unsigned weight, unsigned cap);
/* The vCPU is gone (its instance ended). */
void credit_remove(struct credit_sched *s, int id);
/*
 * Account the CPU each vCPU used since the last tick (clock[id]: its
 * thread's clocks now), refill credit when a period has passed, and
 * decide who may run (credit_state()).  Returns how long to wait before
 * the next tick: sooner when a running vCPU is about to run out.
 */
uint64_t credit_tick(struct credit_sched *s, uint64_t now,
		     const struct credit_clock clock[CREDIT_VCPUS_MAX]);

static inline enum credit_state credit_state(const struct credit_sched *s,
					     int id)
{
	return s->vcpu[id].state;
}

/*
 * Where each vCPU runs, as an index into the CPU pool (0..cpus-1), or
 * CREDIT_CPU_ANY.  When as many vCPUs want CPU and may run as there are
 * CPUs (the tick lets no more run), each gets a CPU of its own, so the
 * host never queues two on one CPU while another idles.  Within a period
 * it keeps the CPU it had when it can, so a placement changes only with
 * who runs; at each new period every placement moves on by one CPU, so
 * that what the host takes of one CPU is not always taken from the same
 * vCPU (one entitled to a whole CPU could not make it up elsewhere).
 * With fewer, every vCPU gets CREDIT_CPU_ANY: the host balances them
 * against whatever else it runs (another exovmm among them), which
 * pinning would stop.  Halted and parked vCPUs always get CREDIT_CPU_ANY.
 */
#define CREDIT_CPU_ANY (-1)
struct credit_placement {
	int cpu[CREDIT_VCPUS_MAX]; /* by vCPU id */
	uint64_t period;	   /* credit_sched.periods when placed */
};
/* Nothing placed yet. */
void credit_place_init(struct credit_placement *p);
/* The placement now, from the last one. */
void credit_place(const struct credit_sched *s, struct credit_placement *p);

#endif /* VMM_CREDIT_H */
