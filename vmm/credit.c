/*
 * credit.c: the credit scheduler's arithmetic (see credit.h for the
 * rules).  Owns the shares, the credit of each vCPU, and the decision of
 * who may run; knows nothing of threads or clocks.
 */
#include <stddef.h>
#include <string.h>

#include "credit.h"

#define NVCPUS ((int)CREDIT_VCPUS_MAX)

void credit_init(struct credit_sched *s, unsigned cpus, uint64_t period_ns,
		 uint64_t now)
{
	memset(s, 0, sizeof(*s));
	s->cpus = cpus;
	s->period_ns = period_ns;
	s->period_start = now;
	s->last_tick = now;
	s->capacity = CREDIT_CAPACITY_ONE;
}

/* The most CPU a vCPU may get in one period: its cap, or one CPU. */
static uint64_t period_limit(const struct credit_sched *s,
			     const struct credit_vcpu *v)
{
	if (!v->cap)
		return s->period_ns;
	return s->period_ns * v->cap / CREDIT_PERCENT;
}

/* weight / weights of total, rounded down, without overflow. */
static uint64_t part(uint64_t total, uint64_t weight, uint64_t weights)
{
	return total / weights * weight + total % weights * weight / weights;
}

/*
 * Share the CPU time of a period the vCPUs can get (credit_sched.capacity
 * of `cpus` periods) among the vCPUs in `among`, by weight, none above
 * its limit; what a limited vCPU cannot take goes to the others.
 * Each round either settles every remaining vCPU or settles at least
 * one at its limit, so it ends within CREDIT_VCPUS_MAX rounds.
 */
static void water_fill(struct credit_sched *s, const bool among[])
{
	bool settled[CREDIT_VCPUS_MAX] = {false};
	uint64_t left = part((uint64_t)s->cpus * s->period_ns, s->capacity,
			     CREDIT_CAPACITY_ONE);

	for (;;) {
		uint64_t weights = 0;
		bool capped_one = false;

		for (int id = 0; id < NVCPUS; id++)
			if (among[id] && !settled[id])
				weights += s->vcpu[id].weight;
		if (!weights)
			return;
		for (int id = 0; id < NVCPUS; id++) {
			struct credit_vcpu *v = &s->vcpu[id];
			uint64_t limit = period_limit(s, v);

			if (!among[id] || settled[id] ||
			    part(left, v->weight, weights) < limit)
				continue;
			v->share = (int64_t)limit;
			settled[id] = true;
			left -= limit < left ? limit : left;
			capped_one = true;
		}
		if (capped_one)
			continue;
		for (int id = 0; id < NVCPUS; id++) {
			if (!among[id] || settled[id])
				continue;
			s->vcpu[id].share =
				(int64_t)part(left, s->vcpu[id].weight, weights);
			settled[id] = true;
		}
		return;
	}
}

/*
 * Shares for the vCPUs that want CPU this period.  An idle one gets the
 * share it would have if every vCPU were busy: credit to wake up with,
 * not taken from the busy ones' shares.
 */
static void compute_shares(struct credit_sched *s)
{
	bool busy[CREDIT_VCPUS_MAX], all[CREDIT_VCPUS_MAX], any_idle = false;

	for (int id = 0; id < NVCPUS; id++) {
		const struct credit_vcpu *v = &s->vcpu[id];

		all[id] = v->present;
		busy[id] = v->present && (v->wants || v->wanted);
		any_idle = any_idle || (v->present && !busy[id]);
	}
	/* First as if all were busy, then the busy ones for real. */
	if (any_idle)
		water_fill(s, all);
	water_fill(s, busy);
}

/* Credit no higher than one share. */
static void clamp_credit(struct credit_vcpu *v)
{
	if (v->credit > v->share)
		v->credit = v->share;
}

/*
 * Move the capacity estimate towards what the ticks of the period that
 * ended measured, if they measured enough of it (credit.h).
 */
static void update_capacity(struct credit_sched *s)
{
	uint64_t measured;

	if (s->full_ns >= s->period_ns / 2) {
		measured = part(s->full_used_ns, CREDIT_CAPACITY_ONE,
				s->full_ns * s->cpus);
		if (measured > CREDIT_CAPACITY_ONE)
			measured = CREDIT_CAPACITY_ONE;
		if (measured < CREDIT_CAPACITY_FLOOR)
			measured = CREDIT_CAPACITY_FLOOR;
		s->capacity = s->capacity -
			      s->capacity / CREDIT_CAPACITY_SMOOTHING +
			      measured / CREDIT_CAPACITY_SMOOTHING;
	}
	s->full_ns = s->full_used_ns = 0;
}

/* A new period: new shares, and each vCPU's credit topped up by its own. */
static void refill(struct credit_sched *s, uint64_t now)
{
	uint64_t periods = (now - s->period_start) / s->period_ns;

	update_capacity(s);
	compute_shares(s);
	for (int id = 0; id < NVCPUS; id++) {
		struct credit_vcpu *v = &s->vcpu[id];

		if (!v->present)
			continue;
		if (v->credit < -v->share)
			v->credit = -v->share; /* debt of one period at most */
		v->credit += v->share;
		clamp_credit(v);
		v->wanted = v->wants;
	}
	s->period_start += periods * s->period_ns;
	s->periods += periods;
}

/* Does a rank before b?  Credit left before debt, then more of the share
 * left, then the heavier, then the first added. */
static bool ranks_before(const struct credit_sched *s, int a, int b)
{
	const struct credit_vcpu *va = &s->vcpu[a], *vb = &s->vcpu[b];
	__int128 left_a, left_b;

	if ((va->credit > 0) != (vb->credit > 0))
		return va->credit > 0;
	/* credit_a / share_a against credit_b / share_b, without division. */
	left_a = (__int128)va->credit * (vb->share ? vb->share : 1);
	left_b = (__int128)vb->credit * (va->share ? va->share : 1);
	if (left_a != left_b)
		return left_a > left_b;
	if (va->weight != vb->weight)
		return va->weight > vb->weight;
	return a < b;
}

/* Who may run: see credit.h. */
static void decide(struct credit_sched *s)
{
	int order[CREDIT_VCPUS_MAX];
	unsigned n = 0;

	for (int id = 0; id < NVCPUS; id++) {
		struct credit_vcpu *v = &s->vcpu[id];
		unsigned at;

		if (!v->present)
			continue;
		if (v->cap && v->credit <= 0) {
			v->state = CREDIT_PARKED_CAP;
			continue;
		}
		v->state = CREDIT_RUN;
		if (!v->wants)
			continue; /* halted: free to wake */
		/* Insertion sort: at most CREDIT_VCPUS_MAX entries. */
		at = n++;
		while (at > 0 && ranks_before(s, id, order[at - 1])) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = id;
	}
	for (unsigned k = s->cpus; k < n; k++)
		s->vcpu[order[k]].state = CREDIT_PARKED;
}

/* Whether the vCPU runs now and wants a CPU to itself. */
static bool placed(const struct credit_vcpu *v)
{
	return v->present && v->state == CREDIT_RUN && v->wants;
}

/* Runnable vCPUs allowed to run: they share the CPUs among them. */
static unsigned running(const struct credit_sched *s)
{
	unsigned n = 0;

	for (int id = 0; id < NVCPUS; id++)
		n += placed(&s->vcpu[id]);
	return n;
}

/* Until a running vCPU runs out of credit or the period ends, at most a
 * tick, at least CREDIT_TICK_MIN_NS. */
static uint64_t next_wait(const struct credit_sched *s, uint64_t now)
{
	uint64_t wait = s->period_ns / CREDIT_TICKS_PER_PERIOD;
	uint64_t period_end = s->period_start + s->period_ns;
	unsigned n = running(s);

	if (period_end > now && period_end - now < wait)
		wait = period_end - now;
	for (int id = 0; id < NVCPUS; id++) {
		const struct credit_vcpu *v = &s->vcpu[id];
		uint64_t until;

		if (!v->present || v->state != CREDIT_RUN || !v->wants || v->credit <= 0)
			continue;
		/* Sharing the CPUs, it spends its credit more slowly. */
		until = (uint64_t)v->credit;
		if (n > s->cpus)
			until = until * n / s->cpus;
		if (until < wait)
			wait = until;
	}
	return wait < CREDIT_TICK_MIN_NS ? CREDIT_TICK_MIN_NS : wait;
}

/* How far a clock moved since the last tick (never backwards). */
static uint64_t advance(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Whether a vCPU that used `used` and waited `waited` of the `elapsed`
 * since the last tick was runnable throughout (credit.h). */
static bool runnable_throughout(uint64_t used, uint64_t waited,
				uint64_t elapsed)
{
	return (used + waited) * CREDIT_RUNNABLE_DIVISOR >=
	       elapsed * (CREDIT_RUNNABLE_DIVISOR - 1);
}

/* What each vCPU used and waited for since the last tick. */
struct tick_use {
	uint64_t used[CREDIT_VCPUS_MAX], waited[CREDIT_VCPUS_MAX];
	uint64_t elapsed;
};

/*
 * If the vCPUs released at the last tick filled every CPU and were
 * runnable until now, the tick measures the capacity (credit.h).
 */
static void measure_capacity(struct credit_sched *s, const struct tick_use *t)
{
	uint64_t used_all = 0;
	bool full = running(s) >= s->cpus && t->elapsed;

	for (int id = 0; id < NVCPUS; id++) {
		const struct credit_vcpu *v = &s->vcpu[id];

		if (!v->present)
			continue;
		used_all += t->used[id];
		if (placed(v))
			full = full && runnable_throughout(t->used[id],
							   t->waited[id],
							   t->elapsed);
	}
	if (full) {
		s->full_ns += t->elapsed;
		s->full_used_ns += used_all;
	}
}

/* Charge each vCPU what its clock says it used; note who is runnable. */
static void account(struct credit_sched *s, uint64_t now,
		    const struct credit_clock clock[])
{
	struct tick_use t = {.elapsed = now - s->last_tick};

	for (int id = 0; id < NVCPUS; id++) {
		const struct credit_vcpu *v = &s->vcpu[id];

		if (!v->present)
			continue;
		t.used[id] = advance(clock[id].cpu_ns, v->clock.cpu_ns);
		t.waited[id] = advance(clock[id].wait_ns, v->clock.wait_ns);
	}
	measure_capacity(s, &t);
	for (int id = 0; id < NVCPUS; id++) {
		struct credit_vcpu *v = &s->vcpu[id];

		if (!v->present)
			continue;
		v->clock = clock[id];
		v->credit -= (int64_t)t.used[id];
		/* A parked vCPU still wants CPU: it wanted it when parked. */
		if (v->state == CREDIT_RUN && t.elapsed)
			v->wants = credit_busy(t.used[id], t.elapsed) ||
				   clock[id].runnable;
		v->wanted = v->wanted || v->wants;
	}
	s->last_tick = now;
}

void credit_place_init(struct credit_placement *p)
{
	for (int id = 0; id < NVCPUS; id++)
		p->cpu[id] = CREDIT_CPU_ANY;
	p->period = 0;
}

void credit_place(const struct credit_sched *s, struct credit_placement *p)
{
	bool taken[CREDIT_VCPUS_MAX] = {false};
	unsigned cpus = s->cpus < CREDIT_VCPUS_MAX ? s->cpus : CREDIT_VCPUS_MAX;
	int *cpu = p->cpu;
	bool full = running(s) >= s->cpus, moves_on = p->period != s->periods;

	p->period = s->periods;
	/* First, those that keep the CPU they had (the next, in a new
	 * period: distinct CPUs stay distinct)... */
	for (int id = 0; id < NVCPUS; id++) {
		bool keeps;

		if (moves_on && cpu[id] >= 0)
			cpu[id] = (int)(((unsigned)cpu[id] + 1) % cpus);
		keeps = full && placed(&s->vcpu[id]) && cpu[id] >= 0 &&
			(unsigned)cpu[id] < cpus && !taken[cpu[id]];
		if (keeps)
			taken[cpu[id]] = true;
		else
			cpu[id] = CREDIT_CPU_ANY;
	}
	/* ...then the others take the free ones (there are enough). */
	for (int id = 0, k = 0; id < NVCPUS; id++) {
		if (!full || !placed(&s->vcpu[id]) || cpu[id] != CREDIT_CPU_ANY)
			continue;
		while ((unsigned)k < cpus && taken[k])
			k++;
		if ((unsigned)k == cpus)
			break;
		taken[k] = true;
		cpu[id] = k;
	}
}

uint64_t credit_tick(struct credit_sched *s, uint64_t now,
		     const struct credit_clock clock[CREDIT_VCPUS_MAX])
{
	account(s, now, clock);
	if (now - s->period_start >= s->period_ns)
		refill(s, now);
	decide(s);
	return next_wait(s, now);
}

int credit_add(struct credit_sched *s, unsigned weight, unsigned cap,
	       struct credit_clock clock)
{
	for (int id = 0; id < NVCPUS; id++) {
		struct credit_vcpu *v = &s->vcpu[id];

		if (v->present)
			continue;
		*v = (struct credit_vcpu){.present = true,
					  .weight = weight,
					  .cap = cap,
					  .clock = clock,
					  .wants = true,
					  .wanted = true,
					  .state = CREDIT_RUN};
		compute_shares(s);
		v->credit = v->share;
		return id;
	}
	return -1;
}

void credit_set(struct credit_sched *s, int id, unsigned weight, unsigned cap)
{
	struct credit_vcpu *v = &s->vcpu[id];

	v->weight = weight;
	v->cap = cap;
	compute_shares(s);
	for (int other = 0; other < NVCPUS; other++)
		clamp_credit(&s->vcpu[other]);
	decide(s);
}

void credit_remove(struct credit_sched *s, int id)
{
	s->vcpu[id].present = false;
	compute_shares(s);
	decide(s);
}
