/*
 * mem.c: mapping fresh memory into this env: frames from SYS_FRAME_ALLOC,
 * mapped with SYS_PTE_SET.  Used for the runtime's own stacks.
 */
#include "libos.h"

/* PTE operations sent per SYS_PTE_SET: a bounded array on the stack. */
#define MAP_OPS_PER_CALL 16

/*
 * Map pages [first, first + n) of the frames in slot at va + first pages.
 * Returns 0 or the first failure's E_* code.
 */
static long map_chunk(uint64_t va, long slot, unsigned first, unsigned n,
		      unsigned perm)
{
	struct exo_pte_op ops[MAP_OPS_PER_CALL];
	long done;

	for (unsigned i = 0; i < n; i++) {
		ops[i] = (struct exo_pte_op){
			.va = va + (uint64_t)(first + i) * EXO_PAGE_SIZE,
			.slot = (uint32_t)slot,
			.index = first + i,
			.perm = perm,
			.result = -E_INVAL, /* until the kernel says otherwise */
		};
	}
	done = sys_pte_set(EXO_SLOT_SELF, ops, n);
	if (done < 0)
		return done;
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].result < 0)
			return ops[i].result;
	}
	return (unsigned long)done == n ? E_OK : -E_INVAL;
}

long libos_map_new(uint64_t va, unsigned pages, unsigned perm)
{
	long slot, err = E_OK;

	if (pages == 0 || pages > EXO_FRAME_ALLOC_MAX ||
	    va % EXO_PAGE_SIZE != 0)
		return -E_INVAL;
	slot = sys_frame_alloc(EXO_FRAME_ANY, pages);
	if (slot < 0)
		return slot;
	for (unsigned first = 0; first < pages && err == E_OK;
	     first += MAP_OPS_PER_CALL) {
		unsigned n = pages - first < MAP_OPS_PER_CALL
				     ? pages - first
				     : MAP_OPS_PER_CALL;

		err = map_chunk(va, slot, first, n, perm);
	}
	if (err != E_OK) {
		/* Freeing unmaps whatever part did get mapped. */
		sys_frame_free(slot);
		return err;
	}
	return slot;
}
