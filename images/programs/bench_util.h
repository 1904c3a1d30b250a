/*
 * bench_util.h: the timing the guest benchmark programs share (bench.c,
 * bench_vm.c): the serialised TSC read, the median of a sample array, and
 * the timed loop.  Every figure is a median in TSC cycles.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

/* The TSC, fenced so the timed code neither starts early nor ends late. */
static inline uint64_t bench_cycles(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The median of samples[0..n), which it sorts (insertion: n is small). */
static inline uint64_t bench_median(uint64_t *samples, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && samples[j - 1] > samples[j]; j--) {
			uint64_t t = samples[j];

			samples[j] = samples[j - 1];
			samples[j - 1] = t;
		}
	return samples[n / 2];
}

/*
 * Time run() n times into samples[] after `warmup` untimed runs, with
 * prepare(i) (if any) before each, outside the timed region; the median.
 */
static inline uint64_t bench_measure(uint64_t *samples, unsigned warmup,
				     unsigned n, void (*prepare)(unsigned),
				     void (*run)(void))
{
	for (unsigned i = 0; i < warmup + n; i++) {
		uint64_t t0, t1;

		if (prepare)
			prepare(i);
		t0 = bench_cycles();
		run();
		t1 = bench_cycles();
		if (i >= warmup)
			samples[i - warmup] = t1 - t0;
	}
	return bench_median(samples, n);
}

#endif /* BENCH_UTIL_H */
