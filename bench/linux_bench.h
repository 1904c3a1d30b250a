/*
 * linux_bench.h: what the sources of bench/linux_prims (linux_prims.c,
 * linux_vm.c) share: the cycle counter, sample buffers and their medians,
 * the "NAME VALUE" output lines, error exits and signal handlers.
 */
#ifndef BENCH_LINUX_BENCH_H
#define BENCH_LINUX_BENCH_H

#if !defined(__x86_64__)
#error "linux_prims reads the x86-64 time-stamp counter"
#endif

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <x86intrin.h>

/* Enough samples that the median is steady to a few cycles. */
#define ITERATIONS 10000
/* Untimed iterations first, to fault in code, stacks, page tables and
 * kernel paths so that the samples see the steady state. */
#define WARMUP 1000

/* sysconf(_SC_PAGESIZE), set by main before any benchmark runs. */
extern long page_size;

/* lfence before rdtsc keeps earlier instructions from finishing after the
 * read; lfence after keeps later ones from starting before it. */
static inline uint64_t cycles(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

/* Print "linux_prims: WHAT[: errno text]" to stderr and exit 1. */
__attribute__((noreturn)) void die(const char *what);
__attribute__((noreturn)) void fail(const char *what);
/* The async-signal-safe way to say something, for signal handlers. */
void write_stderr(const char *msg);

uint64_t *alloc_samples(size_t n);
/* The median cost of an empty timed region, to subtract from each row. */
uint64_t rdtsc_overhead(void);
/* Print "NAME CYCLES": the median of samples, less overhead, divided by
 * per (the operations one sample times), and flush it out. */
void report_per(const char *name, uint64_t *samples, size_t n,
		uint64_t overhead, uint64_t per);
void report(const char *name, uint64_t *samples, size_t n, uint64_t overhead);

void handle(int sig, void (*handler)(int, siginfo_t *, void *));
void unhandle(int sig);

/* linux_vm.c: the Appel-Li rows and fork_4m. */
void bench_vm(uint64_t overhead);

#endif /* BENCH_LINUX_BENCH_H */
