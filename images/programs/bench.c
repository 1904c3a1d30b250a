/*
 * bench.c: the exokernel's primitives timed from ring 3, for `make bench`
 * (bench/exo.sh puts them beside their Linux counterparts).  Each figure
 * is the median, in TSC cycles, of ROUNDS timed repetitions, less the
 * cost of an empty timed region; it is printed as "result NAME CYCLES".
 *
 *   null_syscall     a system call the kernel rejects at once (an unknown
 *                    number): entry, dispatch and return, nothing else
 *   exc_pagefault    a write to a read-only page; the handler maps it
 *                    writable with pte_set and returns to the faulting
 *                    instruction (as Linux's SIGSEGV handler mprotects)
 *   exc_breakpoint   int3; the handler returns past it
 *   pct_roundtrip    SYS_PCT_CALL to a child env and its SYS_PCT_RETURN
 *   frame_map_unmap  frame_alloc + pte_set + one write + frame_free
 */
#include "bench_util.h"
#include "libos.h"

#define ROUNDS 64  /* each round costs a system call or more */
#define WARMUP 4
#define BENCH_PAGE 0x10000000ull /* a free user address for the tests */
#define PCT_CHILD_FRAMES 96
#define PCT_CHILD_SLOTS 1

static uint64_t samples[ROUNDS];
static uint64_t overhead;

static void report(const char *name, uint64_t m)
{
	libos_printf("result %s %lu\n", name, m > overhead ? m - overhead : 0);
}

/* Time body() ROUNDS times after WARMUP untimed runs. */
static uint64_t measure(void (*prepare)(unsigned), void (*body)(void))
{
	return bench_measure(samples, WARMUP, ROUNDS, prepare, body);
}

static void empty(void) {}

static void null_call(void)
{
	libos_syscall(SYS_NCALLS, 0, 0, 0, 0, 0, 0);
}

static long page_slot;

static void map_page(unsigned perm)
{
	struct exo_pte_op op = {.va = BENCH_PAGE, .slot = (uint32_t)page_slot,
				.perm = perm};

	sys_pte_set(EXO_SLOT_SELF, &op, 1);
}

static void on_write_fault(struct exo_upcall_frame *f)
{
	(void)f;
	map_page(EXO_MAP_READ | EXO_MAP_WRITE); /* then retry the write */
}

static void protect(unsigned round)
{
	(void)round;
	map_page(EXO_MAP_READ);
}

static void write_page(void)
{
	*(volatile uint64_t *)BENCH_PAGE = 1;
}

static void on_breakpoint(struct exo_upcall_frame *f)
{
	(void)f; /* int3 is a trap: rip is already past it */
}

static void breakpoint(void)
{
	__asm__ volatile("int3" ::: "memory");
}

static void frame_cycle(void)
{
	long slot = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	struct exo_pte_op op = {.va = BENCH_PAGE, .slot = (uint32_t)slot,
				.perm = EXO_MAP_READ | EXO_MAP_WRITE};

	sys_pte_set(EXO_SLOT_SELF, &op, 1);
	*(volatile uint64_t *)BENCH_PAGE = 1;
	sys_frame_free(slot, 0, EXO_FRAME_REST);
}

static long pct_slot;

static void pct_round_trip(void)
{
	static const uint64_t in[LIBOS_PCT_WORDS] = {1, 2, 3, 4};
	uint64_t out[LIBOS_PCT_WORDS];

	sys_pct_call(pct_slot, in, out);
}

/* The first slot holding a PCT capability, or -1. */
static long find_pct_cap(void)
{
	struct exo_cap_info info;

	for (long slot = 0; slot < EXO_CAP_SLOTS; slot++)
		if (sys_cap_info(slot, &info) == 0 && info.type == EXO_CAP_PCT)
			return slot;
	return -1;
}

/*
 * The PCT row needs a callee: a child running bench_server.  It gets a
 * capability to us, so it can grant us a PCT capability to itself; we
 * lend it our CPU until that arrives.
 */
static bool start_server(void)
{
	long child = libos_spawn("bench_server", PCT_CHILD_FRAMES,
				 PCT_CHILD_SLOTS);
	struct exo_env_status st;

	if (child < 0 || sys_cap_grant(EXO_SLOT_SELF, child, 0, EXO_SLOT_ANY) < 0 ||
	    sys_env_status(child, &st) < 0)
		return false;
	while ((pct_slot = find_pct_cap()) < 0)
		if (sys_yield(st.id) < 0)
			return false;
	return true;
}

int main(void)
{
	overhead = measure(NULL, empty);
	report("null_syscall", measure(NULL, null_call));

	page_slot = libos_map_new(BENCH_PAGE, 1, EXO_MAP_READ, 0);
	libos_set_handler(EXO_UPCALL_EXCEPTION, on_write_fault);
	report("exc_pagefault", measure(protect, write_page));
	libos_set_handler(EXO_UPCALL_EXCEPTION, on_breakpoint);
	report("exc_breakpoint", measure(NULL, breakpoint));
	sys_frame_free(page_slot, 0, EXO_FRAME_REST);

	report("frame_map_unmap", measure(NULL, frame_cycle));
	if (start_server())
		report("pct_roundtrip", measure(NULL, pct_round_trip));
	else
		libos_printf("bench: no PCT server; pct_roundtrip skipped\n");
	return 0;
}
