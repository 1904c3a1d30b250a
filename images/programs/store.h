/*
 * store.h: a program's backing store for working-set experiments, shared
 * by exp_policy and wset.  Every page's contents are a function of its
 * address, so the pager can make a page again after it was evicted or
 * taken, and every read can be checked.
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

#endif /* STORE_H */
