/*
 * mem.c: mapping frames into an env with SYS_PTE_SET (libos_map), and
 * fresh memory into this env: frames from SYS_FRAME_ALLOC, mapped with
 * SYS_PTE_SET.  Used for the runtime's own stacks and by the loader.
 */
#include "libos.h"

/* PTE operations sent per SYS_PTE_SET: a bounded array on the stack. */
#define MAP_OPS_PER_CALL 16

/*
 * Map pages [first, first + n) of the frames in slot at consecutive pages
 * from va in env_slot's space.  Returns 0 or the first failure's E_* code.
 */
static long map_chunk(long env_slot, uint64_t va, long slot, unsigned first,
		      unsigned n, unsigned perm)
{
	struct exo_pte_op ops[MAP_OPS_PER_CALL];
	long done;

	for (unsigned i = 0; i < n; i++) {
		ops[i] = (struct exo_pte_op){
			.va = va + (uint64_t)i * EXO_PAGE_SIZE,
			.slot = (uint32_t)slot,
			.index = first + i,
			.perm = perm,
			.result = -E_INVAL, /* until the kernel says otherwise */
		};
	}
	done = sys_pte_set(env_slot, ops, n);
	if (done < 0)
		return done;
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].result < 0)
			return ops[i].result;
	}
	return (unsigned long)done == n ? E_OK : -E_INVAL;
}

long libos_map(long env_slot, uint64_t va, long slot, unsigned first,
	       unsigned pages, unsigned perm)
{
	long err = E_OK;

	for (unsigned done = 0; done < pages && err == E_OK;
	     done += MAP_OPS_PER_CALL) {
		unsigned n = pages - done < MAP_OPS_PER_CALL
				     ? pages - done
				     : MAP_OPS_PER_CALL;

		err = map_chunk(env_slot, va + (uint64_t)done * EXO_PAGE_SIZE,
				slot, first + done, n, perm);
	}
	return err;
}

long libos_map_new(uint64_t va, unsigned pages, unsigned perm)
{
	long slot, err;

	if (pages == 0 || pages > EXO_FRAME_ALLOC_MAX ||
	    va % EXO_PAGE_SIZE != 0)
		return -E_INVAL;
	slot = sys_frame_alloc(EXO_FRAME_ANY, pages);
	if (slot < 0)
		return slot;
	err = libos_map(EXO_SLOT_SELF, va, slot, 0, pages, perm);
	if (err != E_OK) {
		/* Freeing unmaps whatever part did get mapped. */
		sys_frame_free(slot, 0, EXO_FRAME_REST);
		return err;
	}
	return slot;
}
