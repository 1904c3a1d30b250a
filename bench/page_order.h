/*
 * page_order.h: the fixed random order in which the Appel-Li rows of
 * `make bench` visit their region's pages, on Linux (bench/linux_vm.c)
 * and on the library OS (images/programs/bench_vm.c).  Both include this
 * one definition so that the two sides visit the same pages in the same
 * order; it needs only the freestanding headers, as the guest has no
 * random().
 *
 * The order is a Fisher-Yates shuffle, as Appel and Li visit theirs, so
 * no prefetcher learns it, drawn from glibc's random() (its TYPE_3
 * generator) with a fixed seed: the order linux_vm.c has always used with
 * srandom() and random(), so figures stay comparable with earlier runs.
 */
#ifndef BENCH_PAGE_ORDER_H
#define BENCH_PAGE_ORDER_H

#include <stddef.h>
#include <stdint.h>

/* Any fixed seed: the same page order, run after run. */
#define PAGE_ORDER_SEED 1

/* glibc's random(): an additive feedback generator over 31 words, seeded
 * by a Park-Miller sequence, its first ten rounds discarded; the
 * separation of the two taps is 3. */
#define PAGE_ORDER_DEGREE 31
#define PAGE_ORDER_SEPARATION 3
#define PAGE_ORDER_DISCARD (10 * PAGE_ORDER_DEGREE)
#define PAGE_ORDER_MULTIPLIER 16807ull
#define PAGE_ORDER_MODULUS 2147483647ull

struct page_order_random {
	uint32_t state[PAGE_ORDER_DEGREE];
	unsigned front, rear;
};

/* glibc's random(): one step of the feedback, the top 31 bits. */
static inline uint32_t page_order_next(struct page_order_random *r)
{
	uint32_t value = r->state[r->front] += r->state[r->rear];

	r->front = (r->front + 1) % PAGE_ORDER_DEGREE;
	r->rear = (r->rear + 1) % PAGE_ORDER_DEGREE;
	return value >> 1;
}

/* glibc's srandom(seed), for a seed from 1 to below the modulus. */
static inline void page_order_seed(struct page_order_random *r, uint32_t seed)
{
	r->state[0] = seed;
	for (unsigned i = 1; i < PAGE_ORDER_DEGREE; i++)
		r->state[i] =
		    (uint32_t)(r->state[i - 1] * PAGE_ORDER_MULTIPLIER %
			       PAGE_ORDER_MODULUS);
	r->front = PAGE_ORDER_SEPARATION;
	r->rear = 0;
	for (unsigned i = 0; i < PAGE_ORDER_DISCARD; i++)
		page_order_next(r);
}

/* Fill order[0..pages) with a permutation of 0..pages-1. */
static inline void page_order(size_t *order, size_t pages)
{
	struct page_order_random r;

	page_order_seed(&r, PAGE_ORDER_SEED);
	for (size_t i = 0; i < pages; i++)
		order[i] = i;
	/* Swap each page from the last down with one at or before it. */
	for (size_t n = pages; n > 1; n--) {
		size_t j = page_order_next(&r) % n, t = order[n - 1];

		order[n - 1] = order[j];
		order[j] = t;
	}
}

#endif /* BENCH_PAGE_ORDER_H */
