/*
 * exp_policy.c: the revocation-policy experiment.  Two library OS
 * configurations run side by side in one instance, as two forked
 * children running the same working-set program: passes over a region of
 * NPAGES pages backed by the program's own store (every page's contents
 * can be made again, and every read is checked).  One keeps the default
 * policy (the clock: least recently used by the accessed bits); the other
 * installs its own, which knows the program scans: it gives up the pages
 * it has just passed, whose next use is furthest away.
 *
 * The parent runs three phases: full (both quotas hold the whole region),
 * pressure (both quotas lowered until FIT pages of the region fit: a
 * revocation each, then replacement on every fault) and restored (the
 * quotas raised again).  Each child prints one line per pass:
 *   pass POLICY PHASE FAULTS MICROSECONDS
 * (FAULTS: pages its pager filled in that pass), and the parent a summary
 * per policy and phase:
 *   summary POLICY PHASE PASSES FAULTS_PER_PASS MICROSECONDS_PER_PASS
 * experiments/policy.sh turns these into a table and a plot.
 */
#include "store.h"

#define NPAGES 64	  /* the region the program scans */
#define FIT 40		  /* pages of it the lowered quota holds */
#define PASSES 6	  /* passes per phase, per child */
#define CHILD_QUOTA 256
#define REGION 0x30000000ull
#define SHARED 0x30800000ull /* the page parent and children share */
#define US_PER_MS 1000

enum phase { FULL, PRESSURE, RESTORED, DONE, NPHASES = DONE };
static const char *const phase_name[NPHASES] = {"full", "pressure",
						"restored"};

enum policy { CLOCK, SCAN, NPOLICIES };
static const char *const policy_name[NPOLICIES] = {"clock", "app"};

struct child_state {
	volatile uint64_t passes[NPHASES];
	volatile uint64_t faults[NPHASES];
	volatile uint64_t tsc[NPHASES];
	volatile uint64_t frames_free; /* at its last pass's end */
	volatile uint32_t phase_seen;  /* the phase its last pass ran in */
	volatile int32_t bad_reads;
};

struct shared {
	volatile uint32_t phase;
	struct child_state child[NPOLICIES];
};
#define SH ((struct shared *)SHARED)

static uint64_t page_va(unsigned i)
{
	return REGION + (uint64_t)i * EXO_PAGE_SIZE;
}

/* The page the scan is at: the application's policy reads it. */
static volatile unsigned cursor;

static unsigned scan_policy(uint64_t want, bool demanded, uint64_t *out,
			    unsigned max)
{
	return store_scan_victims(REGION, NPAGES, cursor, want, demanded, out,
				  max);
}

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* One pass, each page read whole and checked; the faults it took. */
static uint64_t one_pass(struct child_state *me)
{
	struct vm_stats before, after;

	vm_get_stats(&before);
	for (unsigned p = 0; p < NPAGES; p++) {
		uint64_t va = page_va(p);

		cursor = p;
		me->bad_reads += (int32_t)store_check(va);
	}
	vm_get_stats(&after);
	me->frames_free = after.frames_free;
	return after.page_ins - before.page_ins;
}

static _Noreturn void child_main(enum policy pol, uint64_t tsc_khz)
{
	struct child_state *me = &SH->child[pol];
	uint32_t phase;

	if (vm_reserve(REGION, NPAGES * EXO_PAGE_SIZE, VM_PROT_READ, 0) ||
	    vm_set_pager(REGION, NPAGES * EXO_PAGE_SIZE, &store_pager))
		libos_exit(LIBOS_EXIT_FAILURE);
	if (pol == SCAN)
		vm_set_policy(scan_policy);
	one_pass(me); /* warm up: fault the whole region in */
	while ((phase = SH->phase) != DONE) {
		uint64_t start = rdtsc(), faults = one_pass(me);
		uint64_t ticks = rdtsc() - start;

		me->passes[phase]++;
		me->faults[phase] += faults;
		me->tsc[phase] += ticks;
		me->phase_seen = phase;
		libos_printf("pass %s %s %lu %lu\n", policy_name[pol],
			     phase_name[phase], faults,
			     ticks * US_PER_MS / tsc_khz);
	}
	libos_exit(me->bad_reads ? LIBOS_EXIT_FAILURE : LIBOS_EXIT_SUCCESS);
}

/* ---- The parent ------------------------------------------------------------ */

static long child_slot[NPOLICIES];

static void set_quota(enum policy pol, uint64_t frames)
{
	struct exo_env_status es;

	if (sys_env_status(child_slot[pol], &es) == E_OK)
		sys_env_set_quota(child_slot[pol], frames, es.slot_quota);
}

/* Lower a child's quota until only FIT pages of its region fit. */
static void squeeze(enum policy pol)
{
	struct exo_env_status es;

	if (sys_env_status(child_slot[pol], &es) == E_OK)
		set_quota(pol, es.frames_used - SH->child[pol].frames_free -
				       (NPAGES - FIT));
}

/* Start phase, and wait until every child has made PASSES passes in it. */
static void run_phase(enum phase phase)
{
	SH->phase = phase;
	for (;;) {
		bool done = true;

		for (int c = 0; c < NPOLICIES; c++)
			done &= SH->child[c].passes[phase] >= PASSES;
		if (done)
			return;
		sys_yield(EXO_ENV_NONE);
	}
}

int main(void)
{
	struct exo_sysinfo si;
	int status, failed = 0;

	if (sys_sysinfo(&si) != E_OK ||
	    vm_reserve(SHARED, EXO_PAGE_SIZE, VM_PROT_READ | VM_PROT_WRITE,
		       VM_SHARED) != E_OK ||
	    vm_populate(SHARED, EXO_PAGE_SIZE) != E_OK)
		return LIBOS_EXIT_FAILURE;
	SH->phase = FULL;
	for (int c = 0; c < NPOLICIES; c++) {
		child_slot[c] = libos_fork_quota(CHILD_QUOTA);
		if (child_slot[c] == 0)
			child_main((enum policy)c, si.tsc_khz);
		if (child_slot[c] < 0)
			return LIBOS_EXIT_FAILURE;
	}
	run_phase(FULL);
	for (int c = 0; c < NPOLICIES; c++)
		squeeze((enum policy)c);
	run_phase(PRESSURE);
	for (int c = 0; c < NPOLICIES; c++)
		set_quota((enum policy)c, CHILD_QUOTA);
	run_phase(RESTORED);
	SH->phase = DONE;
	for (int c = 0; c < NPOLICIES; c++) {
		const struct child_state *s = &SH->child[c];

		libos_wait(child_slot[c], &status);
		failed |= status != 0;
		for (int p = 0; p < NPHASES; p++)
			libos_printf("summary %s %s %lu %lu.%02lu %lu\n",
				     policy_name[c], phase_name[p], s->passes[p],
				     s->faults[p] / s->passes[p],
				     s->faults[p] * 100 / s->passes[p] % 100,
				     s->tsc[p] * US_PER_MS / si.tsc_khz /
					     s->passes[p]);
	}
	return failed ? LIBOS_EXIT_FAILURE : LIBOS_EXIT_SUCCESS;
}
