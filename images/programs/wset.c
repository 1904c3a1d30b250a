/*
 * wset.c: a working-set tenant for the memory quota experiments and tests.
 *
 * `run=wset -- MIB SECONDS [app]` makes passes over a region of MIB MiB
 * backed by the program's own store (store.h: every page can be made
 * again, every read is checked) for SECONDS of wall time.  With `app` it
 * installs its own revocation policy, which knows the program scans: it
 * gives up the pages just passed, whose next use is furthest away; without,
 * the library OS's clock decides.  Each second it prints
 *   wset: second K: passes P faults F pages N bad B
 * (P passes and F pages made again by the pager that second, N pages of
 * the region mapped at its end, B bad words ever), and at the end
 *   wset: done: passes P faults F bad B
 * It exits 0 when every word it read was right.
 */
#include "store.h"

#define WSET_MAX_MIB 1024
#define WSET_MAX_SECONDS 3600
#define REGION 0x40000000ull
#define KHZ_PER_HZ 1000
#define PAGES_PER_MIB ((1ull << 20) / EXO_PAGE_SIZE)

static uint64_t npages;
static volatile uint64_t cursor; /* the page the scan is at */

static uint64_t page_va(uint64_t i)
{
	return REGION + i * EXO_PAGE_SIZE;
}

static unsigned scan_policy(uint64_t want, bool demanded, uint64_t *out,
			    unsigned max)
{
	return store_scan_victims(REGION, npages, cursor, want, demanded, out,
				  max);
}

static unsigned long number_arg(int i, unsigned long max, const char *what)
{
	unsigned long v;

	if (!libos_arg_number(i, max, &v)) {
		libos_printf("wset: want %s from 1 to %lu (usage: wset MIB "
			     "SECONDS [app])\n", what, max);
		libos_exit(LIBOS_EXIT_FAILURE);
	}
	return v;
}

/* Pages of the region mapped now. */
static uint64_t pages_mapped(void)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < npages; i++)
		n += vm_mapped(page_va(i));
	return n;
}

int main(void)
{
	unsigned long mib = number_arg(0, WSET_MAX_MIB, "MIB");
	unsigned long seconds = number_arg(1, WSET_MAX_SECONDS, "SECONDS");
	bool app = libos_argc() > 2 && !strcmp(libos_argv(2), "app");
	struct exo_sysinfo si;
	uint64_t bad = 0, passes = 0, faults = 0, tsc_per_second, start;
	struct vm_stats st;

	npages = mib * PAGES_PER_MIB;
	if (sys_sysinfo(&si) != E_OK || !si.tsc_khz ||
	    vm_reserve(REGION, npages * EXO_PAGE_SIZE, VM_PROT_READ, 0) ||
	    vm_set_pager(REGION, npages * EXO_PAGE_SIZE, &store_pager)) {
		libos_puts("wset: cannot set up the region\n");
		return LIBOS_EXIT_FAILURE;
	}
	if (app)
		vm_set_policy(scan_policy);
	tsc_per_second = si.tsc_khz * KHZ_PER_HZ;
	start = __builtin_ia32_rdtsc();
	for (unsigned long k = 1; k <= seconds; k++) {
		uint64_t end = start + k * tsc_per_second, p = 0, f;

		vm_get_stats(&st);
		f = st.page_ins;
		while (__builtin_ia32_rdtsc() < end) {
			for (cursor = 0; cursor < npages; cursor++)
				bad += store_check(page_va(cursor));
			p++;
		}
		vm_get_stats(&st);
		libos_printf("wset: second %lu: passes %lu faults %lu pages %lu "
			     "bad %lu\n", k, p, st.page_ins - f, pages_mapped(),
			     bad);
		passes += p;
		faults += st.page_ins - f;
	}
	libos_printf("wset: done: passes %lu faults %lu bad %lu\n", passes,
		     faults, bad);
	return bad ? LIBOS_EXIT_FAILURE : LIBOS_EXIT_SUCCESS;
}
