/*
 * linux_vm.c: the Linux side of the virtual-memory rows of `make bench`:
 * the Appel-Li set and fork_4m, printed by bench/linux_prims after the
 * rows of linux_prims.c, as "NAME CYCLES" lines in this order.
 *
 * The Appel-Li set is the one the exokernel paper (Engler, Kaashoek and
 * O'Toole, SOSP 1995) measures for ExOS against Ultrix in its
 * virtual-memory table, after Appel and Li ("Virtual memory primitives for
 * user programs", ASPLOS 1991, and their benchmark program vmpup.c).  The
 * names and what each times:
 *
 *   appel_dirty      paper "dirty": ask whether one page is dirty.  Unit:
 *                    one query.  Linux has no call for it; the nearest is
 *                    the page's /proc/self/pagemap entry, whose bit 55 is
 *                    the soft-dirty bit (set on a write since the last
 *                    "4" to /proc/self/clear_refs): one pread of one
 *                    8-byte entry, a system call and a page-table walk.
 *                    mincore is no substitute: it says resident, not
 *                    written.  A kernel built without CONFIG_MEM_SOFT_DIRTY
 *                    walks the same path but never sets the bit; the line
 *                    soft_dirty_tracked (below) says which this host is.
 *   appel_prot1      paper "prot1": read-protect one page, that is take
 *                    write access away from a resident, written page of a
 *                    100-page region (mprotect PROT_READ; on Linux the call
 *                    also splits the region's mapping in two, as it does
 *                    for any page of a larger heap).  Unit: one call.
 *   appel_prot100    paper "prot100": the same for all 100 pages in one
 *                    call.  Unit: the call, all 100 pages (not per page).
 *   appel_unprot100  paper "unprot100": give write access back to those
 *                    100 read-only pages in one call (mprotect PROT_READ |
 *                    PROT_WRITE).  Unit: the call, all 100 pages.
 *   appel_trap       Appel-Li "trap": a write to a protected page traps,
 *                    a user handler runs and returns, nothing unprotected.
 *                    As in vmpup.c the write then traps again: one trap is
 *                    the time from one entry of the SIGSEGV handler to the
 *                    next (sigreturn, the faulting write, the kernel's
 *                    fault path, signal delivery).  Unit: one trap.
 *   appel_appel1     Appel-Li "prot1+trap+unprot": write to a protected
 *                    page of the 100 (in the fixed random order of
 *                    page_order.h); the handler protects the page the
 *                    previous write faulted on (PROT_NONE), unprotects
 *                    the faulting one, returns and the write completes.
 *                    Unit: one page (one trap).
 *   appel_appel2     Appel-Li "protN+trap+unprot": protect all 100 pages
 *                    in one call, then write each in a fixed random order;
 *                    the handler unprotects the faulting page.  Unit: one
 *                    page: the round's time divided by 100, as the paper
 *                    divides (the protect call amortised over the pages).
 *   fork_4m          fork a process that has written every page of 4 MiB
 *                    of private anonymous memory, the child _exits at
 *                    once, the parent waitpids it.  Unit: fork+exit+wait.
 *   soft_dirty_tracked 0|1  not cycles: whether this kernel sets the
 *                    soft-dirty bit that appel_dirty reads.
 *
 * The page protections (read-only for prot1/prot100/unprot100, no access
 * for the Appel-Li traps) are those of SPIN's reproduction of this set and
 * of vmpup.c.  Pages are 4 KiB and resident before anything is timed, so
 * every protection change edits real page-table entries and every trap is
 * a protection fault, never a demand-zero one.  The pipe round trip the
 * same table compares is linux_prims.c's pipe_roundtrip.
 */
#include "linux_bench.h"
#include "page_order.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* The region of the Appel-Li rows: vmpup.c's 100 pages, and the 100 of
 * prot100 and unprot100. */
#define REGION_PAGES 100
/* A round of appel2 takes a hundred traps: fewer rounds are plenty. */
#define APPEL2_ROUNDS 1000
#define APPEL2_WARMUP 100
/* A fork copies a thousand page-table entries, and the exit wakes the
 * parent: hundreds of µs each, so fewer samples keep the run short. */
#define FORK_ITERATIONS 1000
#define FORK_WARMUP 100
#define FORK_BYTES (4ul << 20)

/* /proc/self/pagemap: one 8-byte entry per virtual page (the kernel's
 * Documentation/admin-guide/mm/pagemap.rst). */
#define PAGEMAP_ENTRY_BYTES 8
#define PAGEMAP_SOFT_DIRTY (1ull << 55)
#define PAGEMAP_PRESENT (1ull << 63)
/* Written to /proc/self/clear_refs: clear the soft-dirty bits. */
#define CLEAR_SOFT_DIRTY "4"

#define PROT_RW (PROT_READ | PROT_WRITE)

/* The region, the order the Appel-Li rows visit its pages in, and what
 * the handlers work on: the page the next timed write goes to, the page
 * appel1's handler protects next, the faults taken (checked against the
 * writes, so none goes unnoticed) and the trap row's handler-entry times. */
static char *region;
static size_t order[REGION_PAGES];
static char *target;
static char *volatile protect_next;
static volatile sig_atomic_t faults;
static uint64_t *trap_stamps;
static volatile size_t trap_stamped, trap_stamps_wanted;
static int pagemap_fd;
static volatile bool dirty_answer;

static char *page_at(size_t index)
{
	return region + index * (size_t)page_size;
}

/* mprotect that may run in a signal handler: a failure exits at once. */
static void protect(char *start, size_t pages, int prot)
{
	if (mprotect(start, pages * (size_t)page_size, prot) < 0) {
		write_stderr("linux_prims: mprotect failed\n");
		_exit(1);
	}
}

static void touch(char *page)
{
	*(volatile char *)page = 1;
}

static void touch_region(void)
{
	for (size_t i = 0; i < REGION_PAGES; i++)
		touch(page_at(i));
}

static char *map_pages(size_t bytes)
{
	char *p =
	    mmap(NULL, bytes, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	/* 4 KiB pages, as the exokernel's, even where transparent huge
	 * pages are on for every mapping. */
	if (madvise(p, bytes, MADV_NOHUGEPAGE) < 0)
		die("madvise");
	return p;
}

/* The page of the region a fault hit; any other fault is a bug. */
static char *faulting_page(const siginfo_t *info)
{
	char *addr = info->si_addr;

	if (addr < region || addr >= page_at(REGION_PAGES)) {
		write_stderr("linux_prims: SIGSEGV outside the test region\n");
		_exit(1);
	}
	return page_at((size_t)(addr - region) / (size_t)page_size);
}

/*
 * Time run() samples times, after warmup untimed runs, with prepare(i)
 * (if any) before each outside the timed region; report the median
 * divided by per, the operations one run() does.
 */
static void measure(const char *name, size_t warmup, size_t samples,
		    void (*prepare)(size_t i), void (*run)(void), uint64_t per,
		    uint64_t overhead)
{
	uint64_t *times = alloc_samples(samples), t0, t1;

	for (size_t i = 0; i < warmup + samples; i++) {
		if (prepare)
			prepare(i);
		t0 = cycles();
		run();
		t1 = cycles();
		if (i >= warmup)
			times[i - warmup] = t1 - t0;
	}
	report_per(name, times, samples, overhead, per);
	free(times);
}

static void expect_faults(long expected, const char *row)
{
	if ((long)faults != expected) {
		fprintf(stderr, "linux_prims: %s: %ld faults, expected %ld\n",
			row, (long)faults, (long)expected);
		exit(1);
	}
}

/* dirty */

static uint64_t pagemap_entry(const char *page)
{
	uint64_t entry;
	off_t at = (off_t)((uintptr_t)page / (uintptr_t)page_size) *
		   PAGEMAP_ENTRY_BYTES;

	if (pread(pagemap_fd, &entry, sizeof(entry), at) != sizeof(entry))
		die("read /proc/self/pagemap");
	return entry;
}

static void query_dirty(void)
{
	uint64_t entry = pagemap_entry(region);

	/* A page not present has no dirty state to read: the walk must
	 * have reached the page's own entry. */
	if (!(entry & PAGEMAP_PRESENT))
		fail("pagemap: the written page is not present");
	dirty_answer = entry & PAGEMAP_SOFT_DIRTY;
}

static void clear_soft_dirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die("open /proc/self/clear_refs");
	if (write(fd, CLEAR_SOFT_DIRTY, sizeof(CLEAR_SOFT_DIRTY) - 1) < 0)
		die("write /proc/self/clear_refs");
	if (close(fd) < 0)
		die("close /proc/self/clear_refs");
}

static void bench_dirty(uint64_t overhead)
{
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		die("open /proc/self/pagemap");
	clear_soft_dirty();
	touch(region);
	query_dirty();
	printf("soft_dirty_tracked %d\n", dirty_answer ? 1 : 0);
	measure("appel_dirty", WARMUP, ITERATIONS, NULL, query_dirty, 1,
		overhead);
	if (close(pagemap_fd) < 0)
		die("close /proc/self/pagemap");
}

/* prot1, prot100, unprot100 */

static void make_one_writable(size_t i)
{
	(void)i;
	protect(region, 1, PROT_RW);
	touch(region);
}

static void read_protect_one(void)
{
	protect(region, 1, PROT_READ);
}

static void make_all_writable(size_t i)
{
	(void)i;
	protect(region, REGION_PAGES, PROT_RW);
	touch_region();
}

static void read_protect_all(void)
{
	protect(region, REGION_PAGES, PROT_READ);
}

static void make_all_read_only(size_t i)
{
	make_all_writable(i);
	read_protect_all();
}

static void unprotect_all(void)
{
	protect(region, REGION_PAGES, PROT_RW);
}

static void bench_protect(uint64_t overhead)
{
	measure("appel_prot1", WARMUP, ITERATIONS, make_one_writable,
		read_protect_one, 1, overhead);
	measure("appel_prot100", WARMUP, ITERATIONS, make_all_writable,
		read_protect_all, 1, overhead);
	measure("appel_unprot100", WARMUP, ITERATIONS, make_all_read_only,
		unprotect_all, 1, overhead);
}

/* trap */

/* Stamp the entry and return with the page still protected, so that the
 * write traps again, until enough entries are stamped; then let it by. */
static void on_trap(int sig, siginfo_t *info, void *context)
{
	uint64_t now = cycles();
	char *page = faulting_page(info);

	(void)sig;
	(void)context;
	if (trap_stamped < trap_stamps_wanted) {
		trap_stamps[trap_stamped++] = now;
		return;
	}
	protect(page, 1, PROT_RW);
}

static void bench_trap(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(ITERATIONS);

	/* One more entry than intervals: each sample lies between two. */
	trap_stamps_wanted = WARMUP + ITERATIONS + 1;
	trap_stamps = alloc_samples(trap_stamps_wanted);
	trap_stamped = 0;
	protect(region, 1, PROT_READ);
	handle(SIGSEGV, on_trap);
	touch(region);
	unhandle(SIGSEGV);
	for (size_t i = 0; i < ITERATIONS; i++)
		samples[i] =
		    trap_stamps[WARMUP + i + 1] - trap_stamps[WARMUP + i];
	report("appel_trap", samples, ITERATIONS, overhead);
	free(trap_stamps);
	free(samples);
}

/* appel1: prot1+trap+unprot */

static void on_appel1(int sig, siginfo_t *info, void *context)
{
	char *page = faulting_page(info);

	(void)sig;
	(void)context;
	protect(protect_next, 1, PROT_NONE);
	protect(page, 1, PROT_RW);
	protect_next = page;
	faults++;
}

static void aim_in_order(size_t i)
{
	target = page_at(order[i % REGION_PAGES]);
}

static void touch_target(void)
{
	touch(target);
}

/* Only the last page of the order is open to start with, so the first
 * write, to the first page, traps and closes it. */
static void bench_appel1(uint64_t overhead)
{
	protect(region, REGION_PAGES, PROT_NONE);
	protect_next = page_at(order[REGION_PAGES - 1]);
	protect(protect_next, 1, PROT_RW);
	faults = 0;
	handle(SIGSEGV, on_appel1);
	measure("appel_appel1", WARMUP, ITERATIONS, aim_in_order, touch_target,
		1, overhead);
	unhandle(SIGSEGV);
	expect_faults(WARMUP + ITERATIONS, "appel1");
}

/* appel2: protN+trap+unprot */

static void on_appel2(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	protect(faulting_page(info), 1, PROT_RW);
	faults++;
}

static void protect_all_then_touch_in_order(void)
{
	protect(region, REGION_PAGES, PROT_NONE);
	for (size_t i = 0; i < REGION_PAGES; i++)
		touch(page_at(order[i]));
}

static void bench_appel2(uint64_t overhead)
{
	faults = 0;
	handle(SIGSEGV, on_appel2);
	measure("appel_appel2", APPEL2_WARMUP, APPEL2_ROUNDS, NULL,
		protect_all_then_touch_in_order, REGION_PAGES, overhead);
	unhandle(SIGSEGV);
	expect_faults((APPEL2_WARMUP + APPEL2_ROUNDS) * REGION_PAGES, "appel2");
}

/* fork_4m */

static void fork_exit_wait(void)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	if (waitpid(child, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("fork child failed");
}

static void bench_fork(uint64_t overhead)
{
	char *memory = map_pages(FORK_BYTES);

	for (size_t off = 0; off < FORK_BYTES; off += (size_t)page_size)
		touch(memory + off);
	measure("fork_4m", FORK_WARMUP, FORK_ITERATIONS, NULL, fork_exit_wait,
		1, overhead);
	if (munmap(memory, FORK_BYTES) < 0)
		die("munmap");
}

void bench_vm(uint64_t overhead)
{
	region = map_pages(REGION_PAGES * (size_t)page_size);
	touch_region();
	page_order(order, REGION_PAGES);
	bench_dirty(overhead);
	bench_protect(overhead);
	bench_trap(overhead);
	bench_appel1(overhead);
	bench_appel2(overhead);
	if (munmap(region, REGION_PAGES * (size_t)page_size) < 0)
		die("munmap");
	/* After the region is gone, so the forking process holds the 4 MiB
	 * and little else. */
	bench_fork(overhead);
}
