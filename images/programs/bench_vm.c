/*
 * bench_vm.c: the library OS's side of the virtual-memory rows of `make
 * bench`: the Appel-Li set, fork_4m and pipe_roundtrip, on the VM layer
 * (libos_vm.h), libos_fork/libos_wait and pipes (libos_ipc.h), beside
 * their Linux namesakes (bench/exo.sh).
 * Each figure is the median, in TSC cycles, of timed repetitions after a
 * few untimed ones, less the cost of an empty timed region, divided by
 * the operations one repetition does; it is printed as "result NAME
 * CYCLES".  bench/linux_vm.c defines every row and its unit; this file
 * does the same work with the library OS's calls:
 *
 *   appel_dirty      vm_dirty() of one written page (the kernel's page
 *                    tables read through the UVPT view, no system call).
 *                    Unit: one query; a sample times DIRTY_BATCH of them,
 *                    as one alone is below the timer's resolution.
 *   appel_prot1      vm_protect(VM_PROT_READ) of one written page of the
 *                    100-page region (which splits the region, as mprotect
 *                    splits the mapping).  Unit: one call.
 *   appel_prot100    the same for all 100 pages in one call.  Unit: the call.
 *   appel_unprot100  vm_protect(READ | WRITE) of those 100 read-only pages
 *                    in one call.  Unit: the call.
 *   appel_trap       a write to a read-only page; the application's fault
 *                    handler (vm_set_fault_handler) returns true without
 *                    unprotecting, so the write traps again: one trap is
 *                    from one entry of the handler to the next.  Unit: one
 *                    trap.
 *   appel_appel1     a write to a protected page of the 100, in a fixed
 *                    random order; the handler protects the page the
 *                    previous write faulted on and unprotects this one.
 *                    Unit: one page (one trap).
 *   appel_appel2     protect all 100 pages in one call, then write each in
 *                    that order; the handler unprotects the faulting page.
 *                    Unit: one page (the round divided by 100).
 *   fork_4m          libos_fork of a process that has written every page
 *                    of a 4 MiB region, the child libos_exits at once, the
 *                    parent libos_waits for it.  Unit: fork+exit+wait.
 *   pipe_roundtrip   the parent libos_writes 8 bytes down one pipe
 *                    (libos_ipc.h), a forked child libos_reads them and
 *                    writes them back up another, the parent reads them:
 *                    linux_prims.c's row of that name.  Unit: one round
 *                    trip (two waits, each one SYS_YIELD to the other).
 *
 * The page order is Linux's own: both sides take it from
 * bench/page_order.h.  One difference is forced on us: Linux's
 * appel1 and appel2 protect to PROT_NONE, and the VM layer refuses
 * VM_PROT_NONE over mapped pages, so they protect to VM_PROT_READ here.
 * The timed accesses are writes, so either protection traps every one of
 * them, and either is one page-table entry rewritten per page.
 *
 * Every call of the kernel costs about 130 µs on the development host
 * (its kernel code is emulated: doc/BENCHMARKS.md), so the sample counts
 * are far below Linux's thousands: even so the program runs for about
 * half a minute there, most of it in prot100, unprot100 and fork_4m.
 */
#include "bench_util.h"
#include "libos.h"

/* By its path from this file: guest programs have no -I for bench/. */
#include "../../bench/page_order.h"

/* Each sample costs one to a few system calls: 130 µs to 80 ms each on
 * the development host, the dearer the more pages they map. */
#define SAMPLES 21
#define WARMUP 2
/* An appel2 round takes a hundred traps and a hundred calls. */
#define APPEL2_SAMPLES 7
#define APPEL2_WARMUP 1
/* A fork maps a thousand pages into the child and its exit frees them. */
#define FORK_SAMPLES 5
#define FORK_WARMUP 1
#define SAMPLES_MAX SAMPLES
_Static_assert(APPEL2_SAMPLES <= SAMPLES_MAX && FORK_SAMPLES <= SAMPLES_MAX,
	       "every row's samples fit the one buffer");

/* linux_prims.c's pipe message: one machine word. */
#define PIPE_MESSAGE_BYTES 8

/* A dirty query is a few loads, less than the timer's own jitter: a
 * sample times this many, and the row divides by them. */
#define DIRTY_BATCH 100

/* vmpup.c's 100 pages, and the 100 of prot100 and unprot100. */
#define REGION_PAGES 100
#define FORK_BYTES (4ull << 20)
/* Free addresses between the program image and the heap (libos_vm.h). */
#define REGION_VA (1ull << 32)
#define FORK_VA (REGION_VA + (1ull << 30))
#define RW (VM_PROT_READ | VM_PROT_WRITE)

static uint64_t samples[SAMPLES_MAX];
static uint64_t overhead;
static size_t order[REGION_PAGES];

/* What the fault handlers work on: the page the next timed write goes
 * to, the page appel1's handler protects next, the faults taken (checked
 * against the writes, so none goes unnoticed) and the trap row's
 * handler-entry times. */
static uint64_t target;
static volatile uint64_t protect_next;
static volatile uint64_t faults;
static uint64_t trap_stamps[WARMUP + SAMPLES + 1];
static volatile unsigned trap_stamped;
static volatile bool dirty_answer;

static _Noreturn void fail(const char *what, long err)
{
	libos_printf("bench_vm: %s failed (%ld)\n", what, err);
	libos_exit(LIBOS_EXIT_FAILURE);
}

static uint64_t page_at(uint64_t index)
{
	return REGION_VA + index * EXO_PAGE_SIZE;
}

static void touch(uint64_t va)
{
	*(volatile char *)va = 1;
}

static void touch_region(void)
{
	for (uint64_t i = 0; i < REGION_PAGES; i++)
		touch(page_at(i));
}

/* vm_protect, safe in a fault handler: a failure ends the program. */
static void protect(uint64_t va, uint64_t pages, unsigned prot)
{
	long err = vm_protect(va, pages * EXO_PAGE_SIZE, prot);

	if (err)
		fail("vm_protect", err);
}

/* ---- Timing ------------------------------------------------------------ */

/* Time run() n times after warmup untimed runs (bench_util.h). */
static uint64_t measure(unsigned warmup, unsigned n, void (*prepare)(unsigned),
			void (*run)(void))
{
	return bench_measure(samples, warmup, n, prepare, run);
}

/* Print the median m, less the overhead, per operation. */
static void report(const char *name, uint64_t m, uint64_t per)
{
	libos_printf("result %s %lu\n", name,
		     m > overhead ? (m - overhead) / per : 0);
}

static void empty(void) {}

static void expect_faults(uint64_t expected, const char *row)
{
	if (faults != expected) {
		libos_printf("bench_vm: %s: %lu faults, expected %lu\n", row,
			     (uint64_t)faults, expected);
		libos_exit(LIBOS_EXIT_FAILURE);
	}
}

/* The region's page a fault hit; any other fault is declined (a bug:
 * the layer then reports it and ends the program). */
static bool faulting_page(uint64_t addr, uint64_t *page)
{
	if (addr < REGION_VA || addr >= page_at(REGION_PAGES))
		return false;
	*page = addr & ~(EXO_PAGE_SIZE - 1);
	return true;
}

/* ---- dirty ----------------------------------------------------------------- */

static void query_dirty(void)
{
	dirty_answer = vm_dirty(page_at(0));
}

static void query_dirty_batch(void)
{
	for (unsigned i = 0; i < DIRTY_BATCH; i++)
		query_dirty();
}

/* Clear the bits and write, as Linux clears soft-dirty and writes, so
 * the query answers "dirty". */
static void bench_dirty(void)
{
	long err = vm_clear_bits(page_at(0), EXO_PAGE_SIZE);

	if (err)
		fail("vm_clear_bits", err);
	touch(page_at(0));
	query_dirty();
	if (!dirty_answer)
		fail("vm_dirty of a written page", 0);
	report("appel_dirty",
	       measure(WARMUP, SAMPLES, NULL, query_dirty_batch), DIRTY_BATCH);
}

/* ---- prot1, prot100, unprot100 -------------------------------------------- */

static void make_one_writable(unsigned i)
{
	(void)i;
	protect(page_at(0), 1, RW);
	touch(page_at(0));
}

static void read_protect_one(void)
{
	protect(page_at(0), 1, VM_PROT_READ);
}

static void make_all_writable(unsigned i)
{
	(void)i;
	protect(page_at(0), REGION_PAGES, RW);
	touch_region();
}

static void read_protect_all(void)
{
	protect(page_at(0), REGION_PAGES, VM_PROT_READ);
}

static void make_all_read_only(unsigned i)
{
	make_all_writable(i);
	read_protect_all();
}

static void unprotect_all(void)
{
	protect(page_at(0), REGION_PAGES, RW);
}

static void bench_protect(void)
{
	report("appel_prot1",
	       measure(WARMUP, SAMPLES, make_one_writable, read_protect_one), 1);
	report("appel_prot100",
	       measure(WARMUP, SAMPLES, make_all_writable, read_protect_all), 1);
	report("appel_unprot100",
	       measure(WARMUP, SAMPLES, make_all_read_only, unprotect_all), 1);
}

/* ---- trap ------------------------------------------------------------------ */

/* Stamp the entry and resume with the page still protected, so that the
 * write traps again, until every stamp is taken; then let it by. */
static bool on_trap(uint64_t addr, bool write, struct exo_upcall_frame *f)
{
	uint64_t now = bench_cycles(), page;

	(void)write;
	(void)f;
	if (!faulting_page(addr, &page))
		return false;
	if (trap_stamped < WARMUP + SAMPLES + 1) {
		trap_stamps[trap_stamped++] = now;
		return true;
	}
	protect(page, 1, RW);
	return true;
}

static void bench_trap(void)
{
	trap_stamped = 0;
	protect(page_at(0), 1, VM_PROT_READ);
	vm_set_fault_handler(on_trap);
	touch(page_at(0));
	vm_set_fault_handler(NULL);
	/* One more entry than intervals: each sample lies between two. */
	for (unsigned i = 0; i < SAMPLES; i++)
		samples[i] = trap_stamps[WARMUP + i + 1] - trap_stamps[WARMUP + i];
	report("appel_trap", bench_median(samples, SAMPLES), 1);
}

/* ---- appel1: prot1+trap+unprot --------------------------------------------- */

static bool on_appel1(uint64_t addr, bool write, struct exo_upcall_frame *f)
{
	uint64_t page;

	(void)write;
	(void)f;
	if (!faulting_page(addr, &page))
		return false;
	protect(protect_next, 1, VM_PROT_READ);
	protect(page, 1, RW);
	protect_next = page;
	faults++;
	return true;
}

static void aim_in_order(unsigned i)
{
	target = page_at(order[i % REGION_PAGES]);
}

static void touch_target(void)
{
	touch(target);
}

/* Only the last page of the order is open to start with, so the first
 * write, to the first page, traps and closes it. */
static void bench_appel1(void)
{
	protect(page_at(0), REGION_PAGES, VM_PROT_READ);
	protect_next = page_at(order[REGION_PAGES - 1]);
	protect(protect_next, 1, RW);
	faults = 0;
	vm_set_fault_handler(on_appel1);
	report("appel_appel1",
	       measure(WARMUP, SAMPLES, aim_in_order, touch_target), 1);
	vm_set_fault_handler(NULL);
	expect_faults(WARMUP + SAMPLES, "appel1");
}

/* ---- appel2: protN+trap+unprot --------------------------------------------- */

static bool on_appel2(uint64_t addr, bool write, struct exo_upcall_frame *f)
{
	uint64_t page;

	(void)write;
	(void)f;
	if (!faulting_page(addr, &page))
		return false;
	protect(page, 1, RW);
	faults++;
	return true;
}

static void protect_all_then_touch_in_order(void)
{
	read_protect_all();
	for (uint64_t i = 0; i < REGION_PAGES; i++)
		touch(page_at(order[i]));
}

static void bench_appel2(void)
{
	faults = 0;
	vm_set_fault_handler(on_appel2);
	report("appel_appel2",
	       measure(APPEL2_WARMUP, APPEL2_SAMPLES, NULL,
		       protect_all_then_touch_in_order),
	       REGION_PAGES);
	vm_set_fault_handler(NULL);
	expect_faults((APPEL2_WARMUP + APPEL2_SAMPLES) * REGION_PAGES, "appel2");
}

/* ---- fork_4m ---------------------------------------------------------------- */

static void fork_exit_wait(void)
{
	int status = -1;
	long child = libos_fork(), waited;

	if (child < 0)
		fail("libos_fork", child);
	if (child == 0)
		libos_exit(LIBOS_EXIT_SUCCESS);
	waited = libos_wait(child, &status);
	if (waited != child || status != LIBOS_EXIT_SUCCESS)
		fail("libos_wait (or the child)", waited < 0 ? waited : status);
}

static void bench_fork(void)
{
	long err = vm_reserve(FORK_VA, FORK_BYTES, RW, 0);

	if (err)
		fail("vm_reserve", err);
	for (uint64_t off = 0; off < FORK_BYTES; off += EXO_PAGE_SIZE)
		touch(FORK_VA + off);
	report("fork_4m", measure(FORK_WARMUP, FORK_SAMPLES, NULL, fork_exit_wait),
	       1);
}

/* ---- pipe_roundtrip --------------------------------------------------------- */

static int down[2], up[2];
static uint64_t message;

/* The child: echo every message until end of file. */
static _Noreturn void echo(void)
{
	uint64_t word;
	long n;

	libos_close(down[1]);
	libos_close(up[0]);
	while ((n = libos_read(down[0], &word, sizeof(word))) > 0)
		if (libos_write(up[1], &word, (size_t)n) != n)
			libos_exit(LIBOS_EXIT_FAILURE);
	libos_exit(n == 0 ? LIBOS_EXIT_SUCCESS : LIBOS_EXIT_FAILURE);
}

static void pipe_round_trip(void)
{
	uint64_t echoed = 0;
	long n;

	message++;
	if ((n = libos_write(down[1], &message, PIPE_MESSAGE_BYTES)) !=
		    PIPE_MESSAGE_BYTES ||
	    (n = libos_read(up[0], &echoed, PIPE_MESSAGE_BYTES)) !=
		    PIPE_MESSAGE_BYTES ||
	    echoed != message)
		fail("the pipe round trip", n);
}

static void bench_pipe(void)
{
	int status = -1;
	long child, err;

	if ((err = libos_pipe(down)) || (err = libos_pipe(up)))
		fail("libos_pipe", err);
	if ((child = libos_fork()) < 0)
		fail("libos_fork", child);
	if (child == 0)
		echo();
	libos_close(down[0]);
	libos_close(up[1]);
	report("pipe_roundtrip", measure(WARMUP, SAMPLES, NULL, pipe_round_trip),
	       1);
	libos_close(down[1]);
	if (libos_wait(child, &status) != child || status != LIBOS_EXIT_SUCCESS)
		fail("the echoing child", status);
	libos_close(up[0]);
}

int main(void)
{
	long err;

	overhead = measure(WARMUP, SAMPLES, NULL, empty);
	if ((err = vm_reserve(REGION_VA, REGION_PAGES * EXO_PAGE_SIZE, RW, 0)))
		fail("vm_reserve", err);
	touch_region();
	page_order(order, REGION_PAGES);
	bench_dirty();
	bench_protect();
	bench_trap();
	bench_appel1();
	bench_appel2();
	/* After the region is gone, so the forking process holds the 4 MiB
	 * and little else, as on Linux. */
	if ((err = vm_release(REGION_VA, REGION_PAGES * EXO_PAGE_SIZE)))
		fail("vm_release", err);
	bench_fork();
	bench_pipe();
	return 0;
}
