/*
 * mem.c: mapping frames into an env with SYS_PTE_SET (libos_map), and
 * fresh memory into this env: frames from SYS_FRAME_ALLOC, mapped with
 * SYS_PTE_SET.  Used for the runtime's own stacks and by the loader;
 * and batches of SYS_PTE_SET ops, for the VM layer and fork.
 */
#include "runtime.h"

long libos_map(long env_slot, uint64_t va, long slot, unsigned first,
	       unsigned pages, unsigned perm)
{
	struct pte_batch b = {.env = env_slot};

	for (unsigned i = 0; i < pages; i++)
		pte_batch_add(&b, va + (uint64_t)i * EXO_PAGE_SIZE, slot,
			      first + i, perm);
	pte_batch_flush(&b);
	return b.err;
}

long libos_map_new(uint64_t va, unsigned pages, unsigned perm, unsigned flags)
{
	long slot, err;

	if (pages == 0 || pages > EXO_FRAME_ALLOC_MAX ||
	    va % EXO_PAGE_SIZE != 0)
		return -E_INVAL;
	slot = sys_frame_alloc(EXO_FRAME_ANY, pages, flags);
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

void pte_batch_flush(struct pte_batch *b)
{
	long done;

	if (!b->n || b->err)
		return;
	done = sys_pte_set(b->env, b->op, b->n);
	if (done < 0)
		b->err = done;
	else if ((unsigned long)done < b->n)
		b->err = b->op[done].result;
	for (long i = 0; i < done; i++)
		if (b->put[i].chunk >= 0 && vm_page_unmapped(b->put[i]))
			b->freed++;
	b->n = 0;
}

static void queue(struct pte_batch *b, struct exo_pte_op op,
		  struct vm_page_ref put)
{
	if (b->err)
		return;
	b->put[b->n] = put;
	b->op[b->n++] = op;
	if (b->n == PTE_BATCH_OPS)
		pte_batch_flush(b);
}

void pte_batch_add(struct pte_batch *b, uint64_t va, long slot, unsigned index,
		   unsigned perm)
{
	queue(b, (struct exo_pte_op){va, (uint32_t)slot, index, perm, -E_INVAL},
	      VM_PAGE_NONE);
}

void pte_batch_unmap_put(struct pte_batch *b, uint64_t va,
			 struct vm_page_ref page)
{
	queue(b, (struct exo_pte_op){.va = va, .result = -E_INVAL}, page);
}
