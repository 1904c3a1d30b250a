/*
 * linux_bench.c: the helpers bench/linux_prims's sources share (see
 * linux_bench.h): medians, the output lines, error exits, signal handlers.
 */
#include "linux_bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long page_size;

void die(const char *what)
{
	fprintf(stderr, "linux_prims: %s: %s\n", what, strerror(errno));
	exit(1);
}

void fail(const char *what)
{
	fprintf(stderr, "linux_prims: %s\n", what);
	exit(1);
}

void write_stderr(const char *msg)
{
	ssize_t r = write(STDERR_FILENO, msg, strlen(msg));

	(void)r; /* about to _exit anyway; nothing better to do */
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t median(uint64_t *samples, size_t n)
{
	qsort(samples, n, sizeof(*samples), compare_u64);
	return samples[n / 2];
}

uint64_t *alloc_samples(size_t n)
{
	uint64_t *samples = calloc(n, sizeof(*samples));

	if (!samples)
		die("calloc");
	return samples;
}

uint64_t rdtsc_overhead(void)
{
	uint64_t *samples = alloc_samples(ITERATIONS), t0, result;

	for (size_t i = 0; i < WARMUP + ITERATIONS; i++) {
		t0 = cycles();
		if (i >= WARMUP)
			samples[i - WARMUP] = cycles() - t0;
	}
	result = median(samples, ITERATIONS);
	free(samples);
	return result;
}

void report_per(const char *name, uint64_t *samples, size_t n,
		uint64_t overhead, uint64_t per)
{
	uint64_t m = median(samples, n);

	printf("%s %llu\n", name,
	       (unsigned long long)(m > overhead ? (m - overhead) / per : 0));
	if (fflush(stdout) == EOF)
		die("stdout");
}

void report(const char *name, uint64_t *samples, size_t n, uint64_t overhead)
{
	report_per(name, samples, n, overhead, 1);
}

void handle(int sig, void (*handler)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(sig, &sa, NULL) < 0)
		die("sigaction");
}

void unhandle(int sig)
{
	if (signal(sig, SIG_DFL) == SIG_ERR)
		die("signal");
}
