/*
 * t_policy.c: guest tests of revocation as the VM layer answers it
 * (libos_vm.h): which pages may go; frames held but unmapped go back
 * first; the default policy (clock) keeps the pages in use; a policy the
 * application installs is the one obeyed; dirty pages of a region with a
 * pager are saved and come back intact; a quota too small for the working
 * set is lived with by replacement; and a child that ignores a revocation
 * survives the kernel's repossession, its backed pages paged back in.
 *
 * Each case runs in a forked child, which asks this process (its parent)
 * through a shared page to set its frame quota: SYS_ENV_SET_QUOTA is the
 * parent's to call.  The child checks what it can see itself and exits
 * with the number of checks that failed.
 */
#include "t_util.h"

#define CHILD_QUOTA 192
#define NPAGES 32	   /* pages of the backed region */
#define HOT 8		   /* of them, in use while the clock runs */
#define TAKE 8		   /* pages asked back beyond the free frames */
#define FIT 20		   /* replacement: pages the quota keeps mapped */
#define NANON 8		   /* pages of the region without a pager */
#define REGION T_VA(0)	   /* the backed region */
#define ANON T_VA(1)	   /* a demand-zero region */
#define SHARED T_VA(2)	   /* the page parent and child talk through */
#define WORDS (EXO_PAGE_SIZE / sizeof(uint64_t))
#define TAKEN_WAIT_MS 20000 /* for the kernel's deadline to pass */
#define MAX_FAILS EXO_ENV_EXIT_MAX

struct talk {
	volatile uint64_t quota; /* the frame quota the child asks for */
	volatile uint32_t ask;	 /* set by the child, cleared when done */
};
#define TALK ((struct talk *)SHARED)

static int fails;

static void check(bool ok, const char *what)
{
	if (!ok) {
		libos_printf("# child: %s\n", what);
		fails++;
	}
}

/* ---- The backed region's contents -----------------------------------------
 * Page i holds version[i] in its first word and a pattern of its address
 * and version in the rest: the backing store is the version alone, since
 * the rest can be made again from it.
 */
static uint64_t version[NPAGES];
static uint64_t page_outs_seen;

static unsigned page_index(uint64_t va)
{
	return (unsigned)((va - REGION) / EXO_PAGE_SIZE);
}

static uint64_t word_of(uint64_t va, uint64_t ver, unsigned i)
{
	return i == 0 ? ver : va ^ (ver << 32) ^ i;
}

static void write_page(uint64_t va, uint64_t ver)
{
	for (unsigned i = 0; i < WORDS; i++)
		((volatile uint64_t *)va)[i] = word_of(va, ver, i);
}

static bool page_holds(uint64_t va, uint64_t ver)
{
	for (unsigned i = 0; i < WORDS; i++)
		if (((volatile uint64_t *)va)[i] != word_of(va, ver, i))
			return false;
	return true;
}

static void page_in(void *arg, uint64_t va)
{
	(void)arg;
	write_page(va, version[page_index(va)]);
}

static void page_out(void *arg, uint64_t va)
{
	(void)arg;
	version[page_index(va)] = *(volatile uint64_t *)va;
	page_outs_seen++;
}

static const struct vm_pager pager = {page_in, page_out, NULL};

/* Every page of the region holds ver (faulting back what went). */
static bool region_holds(uint64_t ver)
{
	bool ok = true;

	for (unsigned i = 0; i < NPAGES; i++)
		ok &= page_holds(REGION + i * EXO_PAGE_SIZE, ver);
	return ok;
}

static unsigned region_mapped(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NPAGES; i++)
		n += vm_mapped(REGION + i * EXO_PAGE_SIZE);
	return n;
}

/* ---- The child's side ------------------------------------------------------ */

static void stats(struct vm_stats *s)
{
	vm_get_stats(s);
}

static uint64_t frames_used(void)
{
	struct exo_env_status es;

	return sys_env_status(EXO_SLOT_SELF, &es) == E_OK ? es.frames_used : 0;
}

/* Ask the parent for a quota; returns when it is set (and the revocation
 * upcall it raised has been answered: it comes before we run again). */
static void ask_quota(uint64_t frames)
{
	TALK->quota = frames;
	TALK->ask = 1;
	while (TALK->ask)
		sys_yield(libos_uenv->parent);
}

/* Ask for `take` frames back beyond those held unmapped. */
static void revoke(uint64_t take)
{
	struct vm_stats s;

	stats(&s);
	ask_quota(frames_used() - s.frames_free - take);
}

/* The backed region, every page paged in (version 0). */
static void backed_region(void)
{
	memset(version, 0, sizeof(version)); /* our own copy, before a fault
						 could need it */
	check(vm_reserve(REGION, NPAGES * EXO_PAGE_SIZE,
			 VM_PROT_READ | VM_PROT_WRITE, 0) == E_OK,
	      "reserve the region");
	check(vm_set_pager(REGION, NPAGES * EXO_PAGE_SIZE, &pager) == E_OK,
	      "set its pager");
	check(vm_populate(REGION, NPAGES * EXO_PAGE_SIZE) == E_OK,
	      "populate it");
}

/* ---- The cases (each in a child) ------------------------------------------- */

static int case_which_pages(void)
{
	uint64_t heap = (uint64_t)(uintptr_t)malloc(1);
	uint64_t stack = (uint64_t)(uintptr_t)&heap;

	backed_region();
	check(vm_reserve(ANON, NANON * EXO_PAGE_SIZE,
			 VM_PROT_READ | VM_PROT_WRITE, 0) == E_OK,
	      "reserve the demand-zero region");
	*(volatile uint64_t *)ANON = 1;
	check(vm_reclaimable(REGION, false) && vm_reclaimable(REGION, true),
	      "a backed page may go at any time");
	check(!vm_reclaimable(ANON, false) && vm_reclaimable(ANON, true),
	      "a demand-zero page may go only when the kernel demands it");
	check(!vm_reclaimable(ANON + EXO_PAGE_SIZE, true),
	      "an unmapped page may not go");
	check(!vm_reclaimable(heap, true), "the heap is vital");
	check(!vm_reclaimable(stack, true), "the stack is vital");
	check(!vm_reclaimable((uint64_t)(uintptr_t)version, true) &&
		      !vm_reclaimable((uint64_t)(uintptr_t)main, true),
	      "the image may not go");
	return fails;
}

static int case_free_first(void)
{
	struct vm_stats before, after;

	backed_region();
	stats(&before);
	check(before.frames_free > 0, "some frames held unmapped");
	revoke(0);
	stats(&after);
	check(after.revocations == before.revocations + 1,
	      "one revocation answered");
	check(after.pages_returned >= before.frames_free,
	      "the unmapped frames went back");
	check(after.pages_evicted == before.pages_evicted, "no page evicted");
	check(region_mapped() == NPAGES, "the region is whole");
	return fails;
}

static int case_clock_keeps_hot(void)
{
	struct vm_stats before, after;
	uint64_t sum = 0;

	backed_region();
	check(vm_clear_bits(REGION, NPAGES * EXO_PAGE_SIZE) == E_OK,
	      "clear the accessed bits");
	for (unsigned i = NPAGES - HOT; i < NPAGES; i++)
		sum += *(volatile uint64_t *)(REGION + i * EXO_PAGE_SIZE);
	(void)sum;
	stats(&before);
	revoke(TAKE);
	stats(&after);
	check(after.pages_evicted - before.pages_evicted == TAKE,
	      "as many pages evicted as asked");
	check(region_mapped() == NPAGES - TAKE, "the rest still mapped");
	for (unsigned i = NPAGES - HOT; i < NPAGES; i++)
		check(vm_mapped(REGION + i * EXO_PAGE_SIZE),
		      "a page in use was kept");
	check(after.page_ins == before.page_ins, "nothing paged in meanwhile");
	return fails;
}

/* A policy of the application's: the highest pages of the region first. */
static unsigned policy_calls;
static bool policy_demanded;

static unsigned top_down(uint64_t want, bool demanded, uint64_t *out,
			 unsigned max)
{
	unsigned n = 0;

	policy_calls++;
	policy_demanded = demanded;
	for (unsigned i = NPAGES; i-- > 0 && n < max && n < want;) {
		uint64_t va = REGION + i * EXO_PAGE_SIZE;

		if (vm_mapped(va))
			out[n++] = va;
	}
	return n;
}

static int case_custom_policy(void)
{
	backed_region();
	check(vm_set_policy(top_down) == vm_policy_clock,
	      "the clock was the policy");
	revoke(TAKE);
	check(policy_calls > 0 && policy_demanded,
	      "our policy was asked, for a demand");
	for (unsigned i = 0; i < NPAGES; i++)
		check(vm_mapped(REGION + i * EXO_PAGE_SIZE) ==
			      (i < NPAGES - TAKE),
		      "exactly the pages it chose went");
	check(vm_set_policy(NULL) == top_down, "ours was the policy");
	return fails;
}

static int case_pager_round_trip(void)
{
	struct vm_stats before, after;

	backed_region();
	for (unsigned i = 0; i < NPAGES; i++)
		write_page(REGION + i * EXO_PAGE_SIZE, 1);
	stats(&before);
	revoke(TAKE);
	check(region_mapped() == NPAGES - TAKE, "pages went");
	check(page_outs_seen >= TAKE, "dirty pages were saved first");
	check(region_holds(1), "every page holds what was written");
	stats(&after);
	/* The quota now holds no spare frame: faulting those back evicts
	 * others, which may come back in turn. */
	check(after.page_ins - before.page_ins >= TAKE,
	      "the pages that went were paged in");
	return fails;
}

static int case_replacement(void)
{
	struct vm_stats before, after;

	backed_region();
	revoke(NPAGES - FIT);
	stats(&before);
	check(region_mapped() == FIT, "the quota keeps FIT pages");
	for (unsigned pass = 0; pass < 2; pass++) {
		check(region_holds(pass + 0), "a page lost what it held");
		for (unsigned i = 0; i < NPAGES; i++)
			write_page(REGION + i * EXO_PAGE_SIZE, pass + 1);
	}
	check(region_holds(2), "the last pass's contents");
	stats(&after);
	check(after.pages_evicted > before.pages_evicted,
	      "faults evicted pages to make room");
	check(region_mapped() <= FIT, "never more mapped than fits");
	return fails;
}

static void ignore(struct exo_upcall_frame *f)
{
	(void)f;
}

static int case_forced(void)
{
	struct vm_stats before, after;
	uint64_t start = __builtin_ia32_rdtsc(), limit, *p;
	struct exo_sysinfo si;
	unsigned zeroed = 0;

	backed_region();
	check(vm_reserve(ANON, NANON * EXO_PAGE_SIZE,
			 VM_PROT_READ | VM_PROT_WRITE, 0) == E_OK,
	      "reserve the demand-zero region");
	for (unsigned i = 0; i < NANON; i++)
		*(volatile uint64_t *)(ANON + i * EXO_PAGE_SIZE) = i + 1;
	for (unsigned i = 0; i < NPAGES; i++)
		write_page(REGION + i * EXO_PAGE_SIZE, 1);
	check(libos_set_handler(EXO_UPCALL_REVOKE, ignore) == E_OK,
	      "ignore revocations");
	stats(&before);
	revoke(TAKE);
	sys_sysinfo(&si);
	limit = si.tsc_khz * TAKEN_WAIT_MS;
	do {
		sys_yield(EXO_ENV_NONE);
		stats(&after);
	} while (after.pages_taken == before.pages_taken &&
		 __builtin_ia32_rdtsc() - start < limit);
	check(after.pages_taken - before.pages_taken >= TAKE,
	      "the kernel took frames");
	check(after.revocations == before.revocations,
	      "our handler, not the layer's, saw the request");
	/* Dirty pages taken unsaved come back as the store last had them. */
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t va = REGION + i * EXO_PAGE_SIZE;

		check(page_holds(va, 1) || page_holds(va, 0),
		      "a backed page came back whole");
	}
	for (unsigned i = 0; i < NANON; i++) {
		uint64_t v = *(volatile uint64_t *)(ANON + i * EXO_PAGE_SIZE);

		check(v == i + 1 || v == 0, "a demand-zero page: kept or zero");
		zeroed += v == 0;
	}
	libos_printf("# child: %u demand-zero pages came back as zeros\n",
		     zeroed);
	p = malloc(EXO_PAGE_SIZE);
	check(p != NULL, "malloc still works");
	if (p) {
		memset(p, 0x5a, EXO_PAGE_SIZE);
		free(p);
	}
	return fails;
}

/* ---- The parent's side ------------------------------------------------------ */

/* Run fn in a child, setting its quota when asked, until it ends. */
static int run_case(int (*fn)(void))
{
	long child = libos_fork_quota(CHILD_QUOTA);
	struct exo_env_status es;
	int status = -1;

	if (child == 0) {
		int n = fn();

		libos_exit(n > MAX_FAILS ? MAX_FAILS : n);
	}
	if (child < 0)
		return -1;
	while (sys_env_status(child, &es) == E_OK &&
	       es.state != EXO_ENV_STATE_DEAD) {
		if (TALK->ask) {
			sys_env_set_quota(child, TALK->quota, es.slot_quota);
			TALK->ask = 0;
		}
		sys_yield(es.id);
	}
	libos_wait(child, &status);
	return status;
}

int main(void)
{
	static const struct {
		int (*fn)(void);
		const char *what;
	} cases[] = {
	    {case_which_pages, "vital, image, heap and stack pages never go; "
			       "demand-zero ones only when demanded"},
	    {case_free_first, "frames held unmapped go back first"},
	    {case_clock_keeps_hot, "the default policy (clock) keeps the "
				   "pages in use"},
	    {case_custom_policy, "the application's policy is obeyed"},
	    {case_pager_round_trip, "dirty backed pages are saved and come "
				    "back intact"},
	    {case_replacement, "a working set larger than the quota runs by "
			       "replacement"},
	    {case_forced, "forced repossession survived: backed pages come "
			  "back, the rest keeps working"},
	};
	unsigned n = sizeof(cases) / sizeof(cases[0]);

	tap_plan(n);
	if (vm_reserve(SHARED, EXO_PAGE_SIZE, VM_PROT_READ | VM_PROT_WRITE,
		       VM_SHARED) != E_OK ||
	    vm_populate(SHARED, EXO_PAGE_SIZE) != E_OK)
		tap_diag("no shared page");
	for (unsigned i = 0; i < n; i++) {
		int status = run_case(cases[i].fn);

		tap_ok(status == 0, "%s (child status %d)", cases[i].what,
		       status);
	}
	return tap_done();
}
