/*
 * good.c: the well-behaved neighbour of every adversarial boot test
 * (tests/boot/adversarial.sh runs `run=adv_X,good`).  Owned by the
 * adversarial tests, with the adv_*.c programs.
 *
 * It fills pages of its own with a pattern (fresh frames mapped at
 * GOOD_VA, and a .bss array that lives in the frames the kernel loaded it
 * into), notes where each is mapped, then yields GOOD_YIELDS times, so it
 * lives across many slices while the adversary beside it does its worst.
 * At the end it checks that nothing of its own changed: the patterns, the
 * mappings (through the UVPT view), its frame count and capability, and
 * that the kernel never asked it for resources.  Its TAP lines carry the
 * prefix "good: " so that a test can tell them from the adversary's
 * (which print plain TAP on the same console).  Exits 0 when every check
 * passed.
 */
#include "libos.h"

#define GOOD_VA 0x30000000ull /* where the fresh pattern pages go */
#define GOOD_PAGES 4
#define GOOD_BSS_PAGES 2
#define GOOD_YIELDS 40
#define GOOD_TESTS 10
#define WORDS_PER_PAGE (EXO_PAGE_SIZE / sizeof(uint64_t))

/* In the frames the kernel loaded the program into (the data segment). */
static uint64_t bss_pattern[GOOD_BSS_PAGES * WORDS_PER_PAGE]
	__attribute__((aligned(4096)));

static unsigned ran, failed;

static void ok(bool cond, const char *what)
{
	ran++;
	if (!cond)
		failed++;
	libos_printf("good: %sok %u - %s\n", cond ? "" : "not ", ran, what);
}

/* The word at index i of region `which`: different everywhere. */
static uint64_t pattern(unsigned which, uint64_t i)
{
	return 0x600d000000000000ull ^ ((uint64_t)which << 40) ^
	       (i * 0x9e3779b97f4a7c15ull);
}

static void fill(volatile uint64_t *p, uint64_t words, unsigned which)
{
	for (uint64_t i = 0; i < words; i++)
		p[i] = pattern(which, i);
}

/* The number of words that differ from the pattern. */
static uint64_t check(const volatile uint64_t *p, uint64_t words,
		      unsigned which)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < words; i++)
		bad += p[i] != pattern(which, i);
	return bad;
}

/* The leaf PTE for va through the read-only UVPT view, or 0 if none. */
static uint64_t pte_of(uint64_t va)
{
	for (int level = 4; level > 1; level--)
		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return 0;
	return *EXO_UVPT_ENTRY(va, 1);
}

#define NWATCH (GOOD_PAGES + GOOD_BSS_PAGES + 2)

int main(void)
{
	struct exo_env_status before, after;
	struct exo_cap_info info;
	uint64_t watch_va[NWATCH], watch_pte[NWATCH];
	uint64_t slices0, slices1, bad_mid, bad_pages, bad_bss;
	unsigned nwatch = 0, yields_ok = 0, changed = 0;
	volatile uint64_t *pages = (volatile uint64_t *)GOOD_VA;
	long slot, err;

	libos_printf("good: 1..%u\n", GOOD_TESTS);
	libos_printf("good: # env %u, pml4 at 0x%lx\n", libos_uenv->id,
		     (unsigned long)(*EXO_UVPT_ENTRY(EXO_UVPT, 4) &
				     EXO_PTE_ADDR));

	slot = libos_map_new(GOOD_VA, GOOD_PAGES, EXO_MAP_READ | EXO_MAP_WRITE, 0);
	ok(slot >= 0, "pattern pages mapped");
	if (slot < 0)
		sys_env_exit(LIBOS_EXIT_FAILURE);
	fill(pages, GOOD_PAGES * WORDS_PER_PAGE, 1);
	fill(bss_pattern, GOOD_BSS_PAGES * WORDS_PER_PAGE, 2);

	for (unsigned i = 0; i < GOOD_PAGES; i++)
		watch_va[nwatch++] = GOOD_VA + i * EXO_PAGE_SIZE;
	for (unsigned i = 0; i < GOOD_BSS_PAGES; i++)
		watch_va[nwatch++] = (uint64_t)bss_pattern + i * EXO_PAGE_SIZE;
	watch_va[nwatch++] = 0x400000;			     /* text */
	watch_va[nwatch++] = EXO_USER_STACK_TOP - EXO_PAGE_SIZE; /* stack */
	for (unsigned i = 0; i < nwatch; i++)
		watch_pte[i] = pte_of(watch_va[i]);
	libos_printf("good: # pattern frames at 0x%lx, bss at 0x%lx\n",
		     (unsigned long)(watch_pte[0] & EXO_PTE_ADDR),
		     (unsigned long)(watch_pte[GOOD_PAGES] & EXO_PTE_ADDR));
	err = sys_env_status(EXO_SLOT_SELF, &before);

	/* Live across many slices while the adversary runs. */
	slices0 = libos_uenv->slice.slices;
	bad_mid = 0;
	for (unsigned i = 0; i < GOOD_YIELDS; i++) {
		yields_ok += sys_yield(EXO_ENV_NONE) == 0;
		if (i == GOOD_YIELDS / 2)
			bad_mid = check(pages, GOOD_PAGES * WORDS_PER_PAGE, 1);
	}
	slices1 = libos_uenv->slice.slices;

	ok(yields_ok == GOOD_YIELDS, "every yield returned 0");
	ok(slices1 - slices0 >= GOOD_YIELDS,
	   "ran across at least one slice per yield");
	bad_pages = check(pages, GOOD_PAGES * WORDS_PER_PAGE, 1);
	ok(bad_mid == 0 && bad_pages == 0, "pattern pages unchanged");
	bad_bss = check(bss_pattern, GOOD_BSS_PAGES * WORDS_PER_PAGE, 2);
	ok(bad_bss == 0, "pattern in the loaded frames (.bss) unchanged");
	for (unsigned i = 0; i < nwatch; i++) {
		uint64_t now = pte_of(watch_va[i]);

		if ((now & ~(EXO_PTE_ACCESSED | EXO_PTE_DIRTY)) !=
		    (watch_pte[i] & ~(EXO_PTE_ACCESSED | EXO_PTE_DIRTY))) {
			libos_printf("good: # pte of 0x%lx was 0x%lx, now 0x%lx\n",
				     (unsigned long)watch_va[i],
				     (unsigned long)watch_pte[i],
				     (unsigned long)now);
			changed++;
		}
	}
	ok(changed == 0 && (watch_pte[0] & EXO_PTE_PRESENT),
	   "every watched mapping unchanged");
	ok(err == 0 && sys_env_status(EXO_SLOT_SELF, &after) == 0 &&
	       after.frames_used == before.frames_used &&
	       after.frame_quota == before.frame_quota &&
	       after.slots_used == before.slots_used &&
	       after.state == EXO_ENV_STATE_RUNNABLE,
	   "frame and slot counts unchanged");
	ok(libos_uenv->revoke.seq == 0 && libos_uenv->reposs.seq == 0 &&
	       libos_uenv->reposs.frames_total == 0,
	   "never asked to give anything back");
	ok(sys_cap_info(slot, &info) == 0 && info.type == EXO_CAP_FRAME &&
	       info.count == GOOD_PAGES &&
	       info.base == (watch_pte[0] & EXO_PTE_ADDR),
	   "the pattern pages' capability still names them");
	ok(libos_uenv->slice.forced == 0, "never preempted by force");
	if (bad_mid || bad_pages || bad_bss)
		libos_printf("good: # %lu + %lu + %lu words changed\n",
			     (unsigned long)bad_mid, (unsigned long)bad_pages,
			     (unsigned long)bad_bss);
	libos_printf("good: # %u of %u checks passed\n", ran - failed, ran);
	return failed || ran != GOOD_TESTS ? LIBOS_EXIT_FAILURE
					   : LIBOS_EXIT_SUCCESS;
}
