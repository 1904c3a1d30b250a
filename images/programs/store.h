/*
 * store.h: a program's backing store for working-set experiments, shared
 * by exp_policy and wset.  Every page's contents are a function of its
 * address, so the pager can make a page again after it was evicted or
 * taken, and every read can be checked.  Both scan their region in order,
 * and share the policy that knows it.
 */
#ifndef STORE_H
#define STORE_H

#include "libos.h"

#define STORE_WORDS (EXO_PAGE_SIZE / sizeof(uint64_t))

static inline uint64_t store_word(uint64_t va, unsigned i)
{
	return va * 0x9e3779b97f4a7c15ull + i;
}

/* The pager's page_in: make the page at va again. */
static inline void store_page_in(void *arg, uint64_t va)
{
	(void)arg;
	for (unsigned i = 0; i < STORE_WORDS; i++)
		((volatile uint64_t *)va)[i] = store_word(va, i);
}

static const struct vm_pager store_pager = {store_page_in, NULL, NULL};

/* Read the page at va whole: the words that were not what they should be. */
static inline unsigned store_check(uint64_t va)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < STORE_WORDS; i++)
		bad += ((volatile uint64_t *)va)[i] != store_word(va, i);
	return bad;
}

/*
 * A revocation policy for a program that scans npages pages from base in
 * order and is now at page `cursor`: the pages just passed first, most
 * recent first, since their next use is furthest away.  Same contract as
 * vm_policy_fn.
 */
static inline unsigned store_scan_victims(uint64_t base, uint64_t npages,
					  uint64_t cursor, uint64_t want,
					  bool demanded, uint64_t *out,
					  unsigned max)
{
	unsigned n = 0;

	for (uint64_t k = 1; k <= npages && n < max && n < want; k++) {
		uint64_t va =
		    base + ((cursor + npages - k) % npages) * EXO_PAGE_SIZE;

		if (vm_reclaimable(va, demanded))
			out[n++] = va;
	}
	return n;
}

#endif /* STORE_H */
