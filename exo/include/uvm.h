/*
 * uvm.h: envs' page tables and the kernel's access to env memory
 * (exo/kern/uvm.c).  Only the kernel writes page tables; page-table pages
 * are frames charged to the env whose space they build, owned by the
 * kernel.  The kernel never dereferences a user address: it walks the
 * env's tables, checks the user and write bits at every level, and goes
 * through the direct map (so SMAP stays on).
 */
#ifndef EXO_UVM_H
#define EXO_UVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "mmu.h"

/* Give e a page-table root: kernel half shared, UVPT slot recursive. */
int uvm_create(struct env *e);
/* Free e's page-table pages (all mappings must be gone). */
void uvm_destroy(struct env *e);

/*
 * Map va to pa in e's space with EXO_MAP_* perm (no other mapping may be
 * there), allocating table pages charged to e.  -E_NOMEM if e's quota
 * has no room for a table page.
 */
int uvm_map(struct env *e, uint64_t va, uint64_t pa, unsigned perm);
/* Remove e's mapping of va: true and *pa if there was one. */
bool uvm_unmap(struct env *e, uint64_t va, uint64_t *pa);
/* The frame mapped at va in e (present), or false. */
bool uvm_lookup(struct env *e, uint64_t va, uint64_t *pa);

/* Call fn for each present user mapping of e (e's tables unchanged). */
void uvm_each_mapping(struct env *e,
		      void (*fn)(struct env *e, uint64_t va, uint64_t pa));

/*
 * Copy between the kernel and e's memory at user address uva.  Every
 * page must be mapped user (and writable for copy_to_user) in e; the
 * range must be canonical and below the user half.  0 or -E_FAULT.
 */
int copy_from_user(struct env *e, void *dst, uint64_t uva, size_t len);
int copy_to_user(struct env *e, uint64_t uva, const void *src, size_t len);

#endif /* EXO_UVM_H */
