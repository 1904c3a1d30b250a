/*
 * test_credit.c: Check tests of the credit scheduler's arithmetic
 * (vmm/credit.c) on simulated time.
 *
 * The simulator plays the host: `cpus` CPUs, and one thread per vCPU
 * that is either busy (runnable) or halted at each moment.  Every step it
 * gives the CPUs to the busy vCPUs the scheduler lets run: each one
 * credit_place() pinned has its CPU, the others share the CPUs left,
 * evenly when there are more of them than CPUs (as the host's fair
 * scheduler would); a vCPU runnable but not running waits, and, as in
 * Linux's schedstat, the wait shows only once it runs again.  The host
 * may keep part of each CPU for itself (sim.host, or bursts).  It calls
 * credit_tick() when the scheduler asked to be called.  The tests then
 * compare the CPU each vCPU got with the share its weight and cap
 * entitle it to.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vmm/credit.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define PERIOD (30 * MS) /* Xen's default timeslice */
#define STEP (50000ull)	 /* 50 us of simulated time a step */
#define WINDOW (10 * SEC) /* as the share-accuracy benchmark */
#define TOLERANCE 0.01	 /* of one CPU: the layer's goal */
#define SETTLE_LIVE (2 * PERIOD) /* a change takes effect within this */
#define NOCAP 0u
#define ZERO_CLOCK ((struct credit_clock){0, 0, false})

#define SIM_CPUS 4

/* When a vCPU is busy: from `from` until `until` (0: for ever); if `on`
 * is set, only the first `on` ns of every `on + off`. */
struct demand {
	uint64_t from, until;
	uint64_t on, off;
};

struct sim {
	struct credit_sched s;
	struct credit_placement place;
	unsigned cpus, n;
	double host[SIM_CPUS]; /* of each CPU, what the host keeps */
	/* Or the host takes all of CPU 0 for burst_ns every burst_every. */
	uint64_t burst_every, burst_ns;
	int id[CREDIT_VCPUS_MAX];
	struct demand busy[CREDIT_VCPUS_MAX];
	struct credit_clock clock[CREDIT_VCPUS_MAX]; /* by scheduler id */
	/* Waits not yet in clock[].wait_ns: the host adds a wait to it only
	 * when the thread gets a CPU (schedstat's run_delay). */
	uint64_t wait_pending[CREDIT_VCPUS_MAX];
	uint64_t now, next_tick;
	uint64_t halted_but_parked; /* steps a halted vCPU spent parked */
};

static void sim_init(struct sim *m, unsigned cpus)
{
	ck_assert_uint_le(cpus, SIM_CPUS);
	*m = (struct sim){.cpus = cpus};
	credit_init(&m->s, cpus, PERIOD, 0);
	credit_place_init(&m->place);
}

/* A vCPU busy for ever unless sim_demand() says otherwise. */
static unsigned sim_add(struct sim *m, unsigned weight, unsigned cap)
{
	unsigned k = m->n++;

	m->id[k] = credit_add(&m->s, weight, cap, (struct credit_clock){0});
	ck_assert_int_ge(m->id[k], 0);
	m->busy[k] = (struct demand){0};
	return k;
}

static void sim_demand(struct sim *m, unsigned k, uint64_t from,
		       uint64_t until)
{
	m->busy[k] = (struct demand){.from = from, .until = until};
}

/* Busy `on` ns, then halted `off` ns, over and over. */
static void sim_demand_flapping(struct sim *m, unsigned k, uint64_t on,
				uint64_t off)
{
	m->busy[k] = (struct demand){.on = on, .off = off};
}

static bool sim_busy(const struct sim *m, unsigned k)
{
	const struct demand *d = &m->busy[k];

	return m->id[k] >= 0 && m->now >= d->from &&
	       (!d->until || m->now < d->until) &&
	       (!d->on || (m->now - d->from) % (d->on + d->off) < d->on);
}

static bool sim_runs(const struct sim *m, unsigned k)
{
	return sim_busy(m, k) &&
	       credit_state(&m->s, m->id[k]) == CREDIT_RUN;
}

/* What the host keeps of the CPU now. */
static double sim_host(const struct sim *m, unsigned cpu)
{
	if (cpu == 0 && m->burst_every && m->now % m->burst_every < m->burst_ns)
		return 1;
	return m->host[cpu];
}

static int sim_pinned(const struct sim *m, unsigned k)
{
	return m->place.cpu[m->id[k]];
}

/*
 * One step: a busy vCPU allowed to run and pinned has its CPU less what
 * the host keeps of it; the others share the CPUs no vCPU is pinned to,
 * less what the host keeps of those.  One that woke while every CPU had a
 * vCPU pinned to it (a halted vCPU is free to wake) shares them all with
 * the rest until the next tick places it.
 */
static void sim_step(struct sim *m)
{
	bool pinned_to[SIM_CPUS] = {false};
	unsigned runnable = 0, floating = 0, free_cpus = 0;
	double capacity = 0, free_capacity = 0; /* all CPUs; unpinned ones */

	for (unsigned k = 0; k < m->n; k++) {
		runnable += sim_runs(m, k);
		if (sim_runs(m, k) && sim_pinned(m, k) != CREDIT_CPU_ANY)
			pinned_to[sim_pinned(m, k)] = true;
		else
			floating += sim_runs(m, k);
		if (m->id[k] >= 0 && !sim_busy(m, k) &&
		    credit_state(&m->s, m->id[k]) != CREDIT_RUN)
			m->halted_but_parked++;
	}
	for (unsigned cpu = 0; cpu < m->cpus; cpu++) {
		capacity += 1 - sim_host(m, cpu);
		if (!pinned_to[cpu]) {
			free_cpus++;
			free_capacity += 1 - sim_host(m, cpu);
		}
	}
	for (unsigned k = 0; k < m->n; k++) {
		struct credit_clock *c;
		double got;

		if (m->id[k] < 0)
			continue;
		c = &m->clock[m->id[k]];
		c->runnable = sim_runs(m, k);
		if (!c->runnable)
			continue;
		if (floating && !free_cpus)
			got = capacity / (runnable > m->cpus ? runnable : m->cpus);
		else if (sim_pinned(m, k) != CREDIT_CPU_ANY)
			got = 1 - sim_host(m, (unsigned)sim_pinned(m, k));
		else
			got = free_capacity /
			      (floating > free_cpus ? floating : free_cpus);
		c->cpu_ns += (uint64_t)(STEP * got);
		m->wait_pending[m->id[k]] += (uint64_t)(STEP * (1 - got));
		if (got > 0) {
			c->wait_ns += m->wait_pending[m->id[k]];
			m->wait_pending[m->id[k]] = 0;
		}
	}
	m->now += STEP;
	if (m->now >= m->next_tick) {
		m->next_tick = m->now + credit_tick(&m->s, m->now, m->clock);
		credit_place(&m->s, &m->place);
	}
}

static void sim_run(struct sim *m, uint64_t duration)
{
	for (uint64_t end = m->now + duration; m->now < end;)
		sim_step(m);
}

/* CPU each vCPU used over the next `duration`, in CPUs. */
static void sim_measure(struct sim *m, uint64_t duration, double share[])
{
	uint64_t before[CREDIT_VCPUS_MAX];

	for (unsigned k = 0; k < m->n; k++)
		before[k] = m->id[k] >= 0 ? m->clock[m->id[k]].cpu_ns : 0;
	sim_run(m, duration);
	for (unsigned k = 0; k < m->n; k++)
		share[k] = m->id[k] >= 0
				   ? (double)(m->clock[m->id[k]].cpu_ns -
					      before[k]) /
					     (double)duration
				   : 0;
}

static void assert_shares(const char *what, const double got[],
			  const double want[], unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		ck_assert_msg(got[k] > want[k] - TOLERANCE &&
				      got[k] < want[k] + TOLERANCE,
			      "%s: vCPU %u: %.4f of a CPU, want %.4f", what, k,
			      got[k], want[k]);
}

/* Let the layer settle for `settle`, then each vCPU's share over a window
 * must be its want[]. */
static void expect_shares(struct sim *m, uint64_t settle, const char *what,
			  const double want[])
{
	double got[CREDIT_VCPUS_MAX];

	sim_run(m, settle);
	sim_measure(m, WINDOW, got);
	assert_shares(what, got, want, m->n);
}

/* Busy vCPUs only: what each gets once the layer has settled. */
struct busy_case {
	const char *what;
	unsigned cpus, n;
	unsigned weight[4], cap[4];
	double want[4];
};

static const struct busy_case busy_cases[] = {
    {"weights 1:2:4 on 2 CPUs: the heaviest can use only one, the rest "
     "splits 1:2",
     2, 3, {1, 2, 4}, {NOCAP, NOCAP, NOCAP}, {1.0 / 3, 2.0 / 3, 1.0}},
    {"weights 1:1:2:4 on 2 CPUs, exactly proportional",
     2, 4, {256, 256, 512, 1024}, {NOCAP, NOCAP, NOCAP, NOCAP},
     {0.25, 0.25, 0.5, 1.0}},
    {"a 25% cap on the heaviest of 1:2:4: what it cannot use goes to the "
     "others, the middle one up to a whole CPU",
     2, 3, {1, 2, 4}, {NOCAP, NOCAP, 25}, {0.75, 1.0, 0.25}},
    {"a cap is a ceiling even with every other CPU idle",
     2, 1, {256}, {30}, {0.30}},
    {"more CPUs than vCPUs: each has a CPU, whatever its weight",
     4, 2, {1, 65535}, {NOCAP, NOCAP}, {1.0, 1.0}},
};

START_TEST(test_busy_shares)
{
	const struct busy_case *c = &busy_cases[_i];
	struct sim m;

	sim_init(&m, c->cpus);
	for (unsigned k = 0; k < c->n; k++)
		sim_add(&m, c->weight[k], c->cap[k]);
	expect_shares(&m, SEC, c->what, c->want);
}
END_TEST

/* A halted vCPU consumes nothing, is never parked, and the busy one
 * gets the CPU it leaves (work-conserving). */
START_TEST(test_idle_vcpu)
{
	struct sim m;
	const double want[2] = {1.0, 0.0};

	sim_init(&m, 1);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 1024, NOCAP);
	sim_demand(&m, 1, 100 * SEC, 0); /* halted throughout */
	expect_shares(&m, SEC, "one halted", want);
	ck_assert_uint_eq(m.halted_but_parked, 0);
}
END_TEST

/* A vCPU waking after a long idle gets its share at once, not after the
 * others' credit runs out. */
START_TEST(test_wake_up_not_starved)
{
	struct sim m;
	double got[3], want[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
	uint64_t wake = 3 * SEC, before;

	sim_init(&m, 1);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	sim_demand(&m, 2, wake, 0);
	sim_run(&m, wake);
	before = m.clock[m.id[2]].cpu_ns;
	ck_assert_uint_eq(before, 0);
	sim_run(&m, PERIOD);
	/* In its first period awake, at least its share of it. */
	ck_assert_uint_ge(m.clock[m.id[2]].cpu_ns - before, PERIOD / 3);
	sim_measure(&m, WINDOW, got);
	assert_shares("after the wake-up", got, want, 3);
}
END_TEST

/* A weight changed while running takes effect within a period or two. */
START_TEST(test_weight_changed_live)
{
	struct sim m;
	const double even[2] = {0.5, 0.5}, heavy[2] = {0.75, 0.25};

	sim_init(&m, 1);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	expect_shares(&m, SEC, "equal weights", even);
	credit_set(&m.s, m.id[0], 768, NOCAP);
	expect_shares(&m, SETTLE_LIVE, "after 3:1", heavy);
}
END_TEST

/* A cap set live parks at once; removing it frees the vCPU again. */
START_TEST(test_cap_changed_live)
{
	struct sim m;
	const double capped[1] = {0.20}, free_again[1] = {1.0};

	sim_init(&m, 1);
	sim_add(&m, 256, NOCAP);
	sim_run(&m, SEC);
	credit_set(&m.s, m.id[0], 256, 20);
	expect_shares(&m, SETTLE_LIVE, "capped live", capped);
	credit_set(&m.s, m.id[0], 256, NOCAP);
	expect_shares(&m, SETTLE_LIVE, "cap lifted", free_again);
}
END_TEST

/* When a vCPU goes, the others share what it had. */
START_TEST(test_removed_vcpu_share_redistributed)
{
	struct sim m;
	const double want[3] = {0.5, 0.5, 0.0};

	sim_init(&m, 1);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 512, NOCAP);
	sim_run(&m, SEC);
	credit_remove(&m.s, m.id[2]);
	m.id[2] = -1;
	expect_shares(&m, SETTLE_LIVE, "after the removal", want);
}
END_TEST

/* The table holds CREDIT_VCPUS_MAX vCPUs and refuses one more. */
START_TEST(test_table_full)
{
	struct credit_sched s;

	credit_init(&s, 2, PERIOD, 0);
	for (unsigned i = 0; i < CREDIT_VCPUS_MAX; i++)
		ck_assert_int_eq(credit_add(&s, 256, NOCAP, ZERO_CLOCK),
				 (int)i);
	ck_assert_int_eq(credit_add(&s, 256, NOCAP, ZERO_CLOCK), -1);
	credit_remove(&s, 7);
	ck_assert_int_eq(credit_add(&s, 256, NOCAP, ZERO_CLOCK), 7);
}
END_TEST

/* Ticks come sooner when a running vCPU is about to run out of credit,
 * never sooner than the minimum, never later than a tick. */
START_TEST(test_tick_wait_bounds)
{
	struct credit_sched s;
	struct credit_clock clock[CREDIT_VCPUS_MAX] = {{0}};
	uint64_t wait;
	int a;

	credit_init(&s, 1, PERIOD, 0);
	a = credit_add(&s, 256, 10, ZERO_CLOCK); /* 3 ms a period */
	clock[a] = (struct credit_clock){.cpu_ns = MS, .runnable = true};
	wait = credit_tick(&s, MS, clock);
	ck_assert_uint_le(wait, 2 * MS); /* 2 ms of credit left */
	clock[a] = (struct credit_clock){.cpu_ns = 2 * MS, .runnable = true};
	wait = credit_tick(&s, 2 * MS, clock);
	ck_assert_uint_le(wait, MS);
	clock[a] = (struct credit_clock){.cpu_ns = 3 * MS - 1000, .runnable = true};
	wait = credit_tick(&s, 3 * MS, clock);
	ck_assert_uint_eq(wait, CREDIT_TICK_MIN_NS);
	ck_assert_int_eq(credit_state(&s, a), CREDIT_RUN);
	clock[a] = (struct credit_clock){.cpu_ns = 3 * MS + 1000, .runnable = true};
	wait = credit_tick(&s, 4 * MS, clock);
	ck_assert_uint_le(wait, PERIOD / CREDIT_TICKS_PER_PERIOD);
	ck_assert_int_eq(credit_state(&s, a), CREDIT_PARKED_CAP);
}
END_TEST

static bool wants_cpu(const struct sim *m, unsigned k)
{
	const struct credit_vcpu *v = &m->s.vcpu[m->id[k]];

	return v->state == CREDIT_RUN && v->wants;
}

/*
 * While the CPUs are all wanted, each vCPU that runs and wants CPU has a
 * CPU of its own, the others none; within a period one that goes on
 * running keeps its CPU, and at each new period it moves on to the next,
 * so over a run it sees every CPU.  With fewer wanted, none is pinned.
 * Weights 1:1:2:4 on 2 CPUs (the share-accuracy benchmark's); one vCPU
 * halts at 1 s, two more at 2 s, leaving one.
 */
START_TEST(test_placement)
{
	struct sim m;
	int last[CREDIT_VCPUS_MAX];
	const unsigned weights[] = {256, 256, 512, 1024};
	bool heaviest_on[2] = {false, false};
	unsigned placements = 0, floating = 0, moved_on = 0;
	uint64_t last_period = 0;

	sim_init(&m, 2);
	for (unsigned k = 0; k < 4; k++)
		sim_add(&m, weights[k], NOCAP);
	sim_demand(&m, 1, 0, SEC); /* then halted for good */
	sim_demand(&m, 0, 0, 2 * SEC);
	sim_demand(&m, 2, 0, 2 * SEC);
	for (unsigned id = 0; id < CREDIT_VCPUS_MAX; id++)
		last[id] = CREDIT_CPU_ANY;
	for (uint64_t end = 3 * SEC; m.now < end;) {
		bool taken[2] = {false, false}, new_period;
		unsigned wanted = 0;

		sim_step(&m);
		new_period = m.place.period != last_period;
		for (unsigned k = 0; k < m.n; k++)
			wanted += wants_cpu(&m, k);
		for (unsigned k = 0; k < m.n; k++) {
			int id = m.id[k], cpu = m.place.cpu[id];

			if (!wants_cpu(&m, k) || wanted < m.cpus) {
				ck_assert_int_eq(cpu, CREDIT_CPU_ANY);
				floating += wanted < m.cpus && wants_cpu(&m, k);
				continue;
			}
			ck_assert(cpu == 0 || cpu == 1);
			ck_assert(!taken[cpu]);
			taken[cpu] = true;
			placements++;
			if (k == 3)
				heaviest_on[cpu] = true;
			if (last[id] == CREDIT_CPU_ANY)
				continue;
			/* Kept within a period, the next one's in a new one. */
			ck_assert_int_eq(cpu, new_period ? (last[id] + 1) % 2
							 : last[id]);
			moved_on += new_period;
		}
		memcpy(last, m.place.cpu, sizeof(last));
		last_period = m.place.period;
	}
	ck_assert_uint_gt(placements, 0);
	ck_assert_uint_gt(floating, 0);
	ck_assert_uint_gt(moved_on, 0);
	ck_assert(heaviest_on[0] && heaviest_on[1]);
}
END_TEST

/*
 * The host keeps 4% of one CPU for itself: the vCPUs get 1.96 CPUs, and
 * the loss is spread by weight instead of falling on the vCPU that is
 * never parked (the one entitled to a whole CPU, or the largest share
 * once a cap holds the heaviest back).
 */
static const struct busy_case host_cases[] = {
    {"weights 1:1:2:4, the host keeping 4% of a CPU", 2, 4,
     {256, 256, 512, 1024}, {NOCAP, NOCAP, NOCAP, NOCAP},
     {0.245, 0.245, 0.49, 0.98}},
    {"the same with the heaviest capped at 25%", 2, 4,
     {256, 256, 512, 1024}, {NOCAP, NOCAP, NOCAP, 25},
     {0.4275, 0.4275, 0.855, 0.25}},
};
#define HOST_KEEPS 0.04

START_TEST(test_host_share_spread)
{
	const struct busy_case *c = &host_cases[_i];
	struct sim m;

	sim_init(&m, c->cpus);
	m.host[0] = HOST_KEEPS;
	for (unsigned k = 0; k < c->n; k++)
		sim_add(&m, c->weight[k], c->cap[k]);
	expect_shares(&m, SEC, c->what, c->want);
}
END_TEST

/*
 * The same 4% taken in bursts, a whole CPU for 2 ms every 50 ms: a vCPU
 * that waited out a burst was runnable throughout (its wait says so), so
 * the tick still measures the capacity and the burst counts as the
 * host's, not as a halt.
 */
START_TEST(test_host_bursts)
{
	const struct busy_case *c = &host_cases[0];
	struct sim m;

	sim_init(&m, c->cpus);
	m.burst_every = 50 * MS;
	m.burst_ns = (uint64_t)(m.burst_every * HOST_KEEPS);
	for (unsigned k = 0; k < c->n; k++)
		sim_add(&m, c->weight[k], c->cap[k]);
	expect_shares(&m, SEC, "weights 1:1:2:4, the host taking 2 ms "
			       "bursts", c->want);
}
END_TEST

/*
 * Neither a vCPU that halts again and again, leaving its CPU idle, nor
 * the time placed vCPUs wait for their CPUs while such a vCPU, woken,
 * competes with them, is taken for the host's use.  No host use here, so
 * the estimate must stay at (nearly) the whole of the CPUs.
 */
START_TEST(test_capacity_not_lowered_by_halting)
{
	struct sim m;

	sim_init(&m, 2);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	sim_add(&m, 256, NOCAP);
	sim_demand_flapping(&m, 1, 3 * MS, 4 * MS);
	sim_demand_flapping(&m, 2, 5 * MS, 2 * MS);
	sim_run(&m, 5 * SEC);
	ck_assert_msg(m.s.capacity >= CREDIT_CAPACITY_ONE -
					      CREDIT_CAPACITY_ONE / 200,
		      "capacity %lu millionths with no host use",
		      (unsigned long)m.s.capacity);
}
END_TEST

static Suite *credit_suite(void)
{
	Suite *s = suite_create("credit");
	TCase *shares = tcase_create("shares");
	TCase *live = tcase_create("live");
	TCase *table = tcase_create("table");

	tcase_set_timeout(shares, 60);
	tcase_set_timeout(live, 60);
	tcase_add_loop_test(shares, test_busy_shares, 0,
			    sizeof(busy_cases) / sizeof(busy_cases[0]));
	tcase_add_test(shares, test_idle_vcpu);
	tcase_add_loop_test(shares, test_host_share_spread, 0,
			    sizeof(host_cases) / sizeof(host_cases[0]));
	tcase_add_test(shares, test_host_bursts);
	tcase_add_test(shares, test_capacity_not_lowered_by_halting);
	suite_add_tcase(s, shares);
	tcase_add_test(live, test_wake_up_not_starved);
	tcase_add_test(live, test_weight_changed_live);
	tcase_add_test(live, test_cap_changed_live);
	tcase_add_test(live, test_removed_vcpu_share_redistributed);
	suite_add_tcase(s, live);
	tcase_add_test(table, test_table_full);
	tcase_add_test(table, test_tick_wait_bounds);
	tcase_add_test(table, test_placement);
	suite_add_tcase(s, table);
	return s;
}

CHECK_MAIN(credit_suite)
