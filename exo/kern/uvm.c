/*
 * uvm.c: envs' page tables.  Each env has its own PML4: the kernel half
 * is shared with the kernel's own tables (global pages), PML4 slot
 * EXO_UVPT_SLOT points back at the PML4 itself, present, user and
 * read-only, which maps every page-table page of the env read-only at
 * EXO_UVPT (the kernel half's tables are not user, so they stay hidden).
 * Intermediate entries are user and writable; the leaf decides.
 *
 * The kernel reaches env memory only here, by walking the env's tables
 * with the checks the CPU would make for a ring-3 access and copying
 * through the direct map.
 */
#include <string.h>

#include "frames.h"
#include "kern.h"
#include "layout.h"
#include "pmap.h"
#include "uvm.h"
#include "x86.h"

#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U)
#define USER_HALF_END EXO_U64(0x0000800000000000)
#define LEVELS 4
#define USER_PML4_SLOTS EXO_UVPT_SLOT /* slots walked for mappings */

static pte_t *table_at(uint64_t pa)
{
	return exo_p2v(pa & PTE_ADDR_MASK);
}

int uvm_create(struct env *e)
{
	const pte_t *kernel = table_at(pmap_kernel_root());
	uint64_t pa;
	pte_t *pml4;
	int err;

	err = frames_alloc(e, EXO_FRAME_ANY, 1, FT_PAGETABLE, &pa);
	if (err)
		return err;
	pml4 = table_at(pa);
	for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		pml4[i] = kernel[i];
	pml4[EXO_UVPT_SLOT] = pa | PTE_P | PTE_U | PTE_NX;
	e->pml4_pa = pa;
	return 0;
}

/* The leaf entry for va, making missing tables when create is set. */
static int walk(struct env *e, uint64_t va, bool create, pte_t **out)
{
	pte_t *table = table_at(e->pml4_pa);

	for (int level = LEVELS; level > 1; level--) {
		pte_t *pte = &table[pt_index(va, level)];

		if (!(*pte & PTE_P)) {
			uint64_t pa;
			int err;

			if (!create)
				return -E_NOENT;
			err = frames_alloc(e, EXO_FRAME_ANY, 1, FT_PAGETABLE,
					   &pa);
			if (err)
				return err;
			*pte = pa | TABLE_FLAGS;
		}
		table = table_at(*pte);
	}
	*out = &table[pt_index(va, 1)];
	return 0;
}

static void invalidate(struct env *e, uint64_t va)
{
	if (e == curenv)
		invlpg(va);
	else
		e->tlb_stale = true;
}

int uvm_map(struct env *e, uint64_t va, uint64_t pa, unsigned perm)
{
	pte_t *pte;
	pte_t bits = PTE_P | PTE_U;
	int err = walk(e, va, true, &pte);

	if (err)
		return err;
	if (perm & EXO_MAP_WRITE)
		bits |= PTE_W;
	if (!(perm & EXO_MAP_EXEC))
		bits |= PTE_NX;
	*pte = pa | bits;
	invalidate(e, va); /* a cached "not present" may linger */
	return 0;
}

bool uvm_unmap(struct env *e, uint64_t va, uint64_t *pa)
{
	pte_t *pte;

	if (walk(e, va, false, &pte) || !(*pte & PTE_P))
		return false;
	*pa = *pte & PTE_ADDR_MASK;
	*pte = 0;
	invalidate(e, va);
	return true;
}

bool uvm_lookup(struct env *e, uint64_t va, uint64_t *pa)
{
	pte_t *pte;

	if (walk(e, va, false, &pte) || !(*pte & PTE_P))
		return false;
	*pa = *pte & PTE_ADDR_MASK;
	return true;
}

static uint64_t va_of(const unsigned idx[LEVELS + 1])
{
	return ((uint64_t)idx[4] << PT_SHIFT(4)) |
	       ((uint64_t)idx[3] << PT_SHIFT(3)) |
	       ((uint64_t)idx[2] << PT_SHIFT(2)) |
	       ((uint64_t)idx[1] << PT_SHIFT(1));
}

/*
 * Visit every present entry below the table at pa, level by level: leaves
 * go to fn, and with free_tables each table page is freed after its
 * entries (the root is the caller's).
 */
static void visit(struct env *e, uint64_t pa, int level, unsigned idx[],
		  void (*fn)(struct env *, uint64_t, uint64_t),
		  bool free_tables)
{
	pte_t *table = table_at(pa);
	unsigned n = level == LEVELS ? USER_PML4_SLOTS : PT_ENTRIES;

	for (unsigned i = 0; i < n; i++) {
		if (!(table[i] & PTE_P))
			continue;
		idx[level] = i;
		if (level == 1) {
			if (fn)
				fn(e, va_of(idx), table[i] & PTE_ADDR_MASK);
			continue;
		}
		visit(e, table[i] & PTE_ADDR_MASK, level - 1, idx, fn,
		      free_tables);
		if (free_tables)
			frames_free(PA_FRAME(table[i] & PTE_ADDR_MASK));
	}
}

void uvm_each_mapping(struct env *e,
		      void (*fn)(struct env *e, uint64_t va, uint64_t pa))
{
	unsigned idx[LEVELS + 1] = {0};

	visit(e, e->pml4_pa, LEVELS, idx, fn, false);
}

void uvm_destroy(struct env *e)
{
	unsigned idx[LEVELS + 1] = {0};

	/* Never free the tables the CPU is using. */
	write_cr3(pmap_kernel_root());
	env_forget_cr3();
	visit(e, e->pml4_pa, LEVELS, idx, NULL, true);
	frames_free(PA_FRAME(e->pml4_pa));
	e->pml4_pa = 0;
}

/*
 * The physical address of user address va in e if a ring-3 access would
 * succeed (present and user at every level, writable too if write).
 * Follows the recursive slot like the CPU, so the UVPT view reads back.
 */
static bool translate(struct env *e, uint64_t va, bool write, uint64_t *pa)
{
	pte_t need = PTE_P | PTE_U | (write ? PTE_W : 0);
	pte_t entry = e->pml4_pa;

	if (va >= USER_HALF_END)
		return false;
	for (int level = LEVELS; level >= 1; level--) {
		entry = table_at(entry)[pt_index(va, level)];
		if ((entry & need) != need || (level > 1 && (entry & PTE_PS)))
			return false;
	}
	*pa = (entry & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1));
	return true;
}

/* Copy len bytes between kernel buffer kbuf and user address uva. */
static int copy_user(struct env *e, uint64_t uva, void *kbuf, size_t len,
		     bool to_user)
{
	char *k = kbuf;

	if (uva + len < uva || uva + len > USER_HALF_END)
		return -E_FAULT;
	while (len) {
		size_t chunk = PAGE_SIZE - (uva & (PAGE_SIZE - 1));
		uint64_t pa;

		if (chunk > len)
			chunk = len;
		if (!translate(e, uva, to_user, &pa))
			return -E_FAULT;
		if (to_user)
			memcpy(exo_p2v(pa), k, chunk);
		else
			memcpy(k, exo_p2v(pa), chunk);
		uva += chunk;
		k += chunk;
		len -= chunk;
	}
	return 0;
}

int copy_from_user(struct env *e, void *dst, uint64_t uva, size_t len)
{
	return copy_user(e, uva, dst, len, false);
}

int copy_to_user(struct env *e, uint64_t uva, const void *src, size_t len)
{
	return copy_user(e, uva, (void *)src, len, true);
}
