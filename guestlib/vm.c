/*
 * vm.c: the library OS's virtual memory (libos_vm.h): the region table,
 * the page-fault handler (demand zero, copy-on-write, the application's
 * own handler), protection changes, and the accessed and dirty bits read
 * through the kernel's read-only page-table view (UVPT).
 *
 * The layer starts at its first use (vm_ready): it describes the program
 * image and stack as regions, takes the frames behind them (frames.c) and
 * installs its exception handler unless the program has its own (which
 * must then pass page faults to vm_handle_fault()).  A program that never
 * uses it pays nothing.
 *
 * Whether a page is copy-on-write is not recorded anywhere: a present,
 * read-only page of a region that allows writes, whose frame may be
 * mapped by another process too (frames.c), is one.
 */
#include "runtime.h"

#define T_PF 14		     /* the page-fault vector */
#define PF_WRITE 0x2ull	     /* #PF error code: the access was a write */
#define PF_FETCH 0x10ull     /* #PF error code: an instruction fetch */
#define VM_REGIONS_MAX 64
#define VM_STACK_MAX (8ull << 20) /* how far the main stack may grow */
#define VM_SPURIOUS_MAX 4 /* re-faults at a page that looks fine, then give up */

static struct {
	bool ready;
	struct region region[VM_REGIONS_MAX];
	vm_fault_fn app_handler;
	struct vm_stats stats;
	uint64_t last_fault_va;
	unsigned repeats;
	unsigned busy;	  /* vm_enter depth: the tables are mid-change */
	unsigned pending; /* reclaim work an upcall left for vm_leave */
} vm LIBOS_PRIVATE;

static uint64_t page_down(uint64_t va)
{
	return va & ~(EXO_PAGE_SIZE - 1);
}

static bool page_aligned(uint64_t x)
{
	return (x & (EXO_PAGE_SIZE - 1)) == 0;
}

/* ---- The page tables, read through the UVPT view ------------------------- */

/* The PTE mapping va, or 0 when a table above it is missing. */
uint64_t vm_pte(uint64_t va)
{
	for (int level = 4; level > 1; level--)
		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return 0;
	return *EXO_UVPT_ENTRY(va, 1);
}

/* The next address after va that might be mapped: skips whole missing
 * tables, so walking a sparse range costs little. */
static uint64_t next_candidate(uint64_t va)
{
	for (int level = 4; level > 1; level--) {
		uint64_t span = EXO_PAGE_SIZE << (9 * (level - 1));

		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return (va & ~(span - 1)) + span;
	}
	return va + EXO_PAGE_SIZE;
}

bool vm_mapped(uint64_t va)
{
	return (vm_pte(va) & EXO_PTE_PRESENT) != 0;
}

bool vm_dirty(uint64_t va)
{
	return (vm_pte(va) & EXO_PTE_DIRTY) != 0;
}

bool vm_accessed(uint64_t va)
{
	return (vm_pte(va) & EXO_PTE_ACCESSED) != 0;
}

/* ---- Regions ---------------------------------------------------------- */

static struct region *region_find(uint64_t va)
{
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		struct region *r = &vm.region[i];

		if (r->end && va >= r->start && va < r->end)
			return r;
	}
	return NULL;
}

static bool overlaps(uint64_t start, uint64_t end)
{
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		const struct region *r = &vm.region[i];

		if (r->end && start < r->end && r->start < end)
			return true;
	}
	return false;
}

/* A new region like `like` (its prot, flags and pager) over [start, end). */
static long region_add_like(uint64_t start, uint64_t end,
			    const struct region *like)
{
	for (int i = 0; i < VM_REGIONS_MAX; i++)
		if (!vm.region[i].end) {
			vm.region[i] = *like;
			vm.region[i].start = start;
			vm.region[i].end = end;
			return E_OK;
		}
	return -E_NOMEM;
}

static long region_add(uint64_t start, uint64_t end, unsigned prot,
		       unsigned flags)
{
	const struct region like = {.prot = (uint8_t)prot,
				    .flags = (uint8_t)flags};

	return region_add_like(start, end, &like);
}

/* Make `at` a region boundary, if it lies inside one. */
static long region_split(uint64_t at)
{
	struct region *r = region_find(at);
	long err;

	if (!r || r->start == at)
		return E_OK;
	err = region_add_like(at, r->end, r);
	if (err == E_OK)
		r->end = at;
	return err;
}

/* Join neighbours that have become alike again (after vm_protect). */
static void region_merge(void)
{
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		struct region *a = &vm.region[i];

		for (int j = 0; a->end && j < VM_REGIONS_MAX; j++) {
			struct region *b = &vm.region[j];

			if (b->end && b->start == a->end && b->prot == a->prot &&
			    b->flags == a->flags && b->pager == a->pager) {
				a->end = b->end;
				b->end = 0;
				j = -1; /* a grew: look again from the start */
			}
		}
	}
}

/* Whether [start, end) is covered by regions without a gap. */
static bool covered(uint64_t start, uint64_t end)
{
	while (start < end) {
		const struct region *r = region_find(start);

		if (!r)
			return false;
		start = r->end;
	}
	return true;
}

/* Pages nothing could page back in (the image, the runtime's own, and
 * what the program marks VM_VITAL) take vital frames. */
static enum vm_pool pool_of(const struct region *r)
{
	return r->flags & VM_SHARED ? VM_POOL_SHARED
	       : r->flags & (VM_VITAL | VM_IMAGE | VM_PRIVATE_PAGES)
		   ? VM_POOL_VITAL
		   : VM_POOL_PRIVATE;
}

/* ---- Mapping --------------------------------------------------------- */

/* One SYS_PTE_SET op in this env: 0 or the op's -E_*. */
static long map_one(uint64_t va, long slot, unsigned index, unsigned perm)
{
	struct exo_pte_op op = {va, (uint32_t)slot, index, perm, -E_INVAL};
	long done = sys_pte_set(EXO_SLOT_SELF, &op, 1);

	return done < 0 ? done : op.result;
}

/* The frame of a mapped page, as (chunk, index); false if unknown. */
static bool page_ref(uint64_t pte, struct vm_page_ref *ref)
{
	return (pte & EXO_PTE_PRESENT) && vmf_lookup(pte & EXO_PTE_ADDR, ref);
}

/*
 * A frame for a page of r.  When the quota is spent, room is made: frames
 * held unmapped (in other pools' chunks) go back to the kernel, so that a
 * chunk of r's pool can be had; failing that, the revocation policy
 * evicts pages of ours (reclaim.c), reused as they are or given back in
 * turn.  Each step frees something or gives up, so this ends.
 */
static long frame_for(const struct region *r, struct vm_page_ref *ref,
		      uint64_t *pa, bool *fresh)
{
	long err;

	while ((err = vmf_alloc(pool_of(r), ref, pa, fresh)) == -E_NOMEM &&
	       (vmf_give_back(UINT64_MAX) || reclaim_for_fill()))
		;
	return err;
}

/*
 * Give va a frame of r's pool holding its contents, mapped with r's
 * protection: zeros, or what r's pager pages in.  The page is mapped
 * writable first when those contents must be written in.  A frame the
 * kernel took without listing it (the repossession vector overflowed)
 * fails to map: it is marked gone and another one tried.  A mapping that
 * needs a new page table, when the quota is spent, needs a frame given
 * back first.
 */
static long fill(const struct region *r, uint64_t va)
{
	struct vm_page_ref ref;
	uint64_t pa;
	bool fresh, prepare, was_used;
	long err;

	for (;;) {
		if ((err = frame_for(r, &ref, &pa, &fresh)))
			return err;
		prepare = !fresh || r->pager;
		err = map_one(va, vmf_slot(ref), ref.index,
			      prepare ? EXO_MAP_READ | EXO_MAP_WRITE : r->prot);
		if (err == -E_BADCAP && vmf_gone(pa, &was_used))
			continue;
		if (err != -E_NOMEM)
			break;
		/* A page table the kernel needs is charged to the quota. */
		vmf_put(ref);
		if (!vmf_give_back(1) &&
		    !(reclaim_for_fill() && vmf_give_back(1)))
			return err;
	}
	if (!err && prepare) {
		if (!fresh)
			memset((void *)va, 0, EXO_PAGE_SIZE);
		if (r->pager) {
			r->pager->page_in(r->pager->arg, va);
			vm.stats.page_ins++;
		}
		if (r->prot != (EXO_MAP_READ | EXO_MAP_WRITE))
			err = map_one(va, vmf_slot(ref), ref.index, r->prot);
	}
	if (err) {
		vmf_put(ref);
		return err;
	}
	vm.stats.zero_fills += !r->pager;
	vm.stats.pages_mapped++;
	return E_OK;
}

/* A write to a copy-on-write page at va: copy it, or take it over when
 * no one else can map its frame any more. */
static long unshare(const struct region *r, uint64_t va, uint64_t pte)
{
	struct vm_page_ref old, new;
	uint64_t pa;
	bool fresh;
	struct exo_pte_op ops[2];
	long err, done;

	if (!page_ref(pte, &old))
		return -E_NOENT;
	if (!vmf_maybe_shared(old)) {
		vm.stats.cow_reuses++;
		return map_one(va, vmf_slot(old), old.index, r->prot);
	}
	if ((err = frame_for(r, &new, &pa, &fresh)))
		return err;
	/* One call: the old frame at the scratch page, the new one at va. */
	ops[0] = (struct exo_pte_op){LIBOS_VM_SCRATCH, (uint32_t)vmf_slot(old),
				     old.index, EXO_MAP_READ, -E_INVAL};
	ops[1] = (struct exo_pte_op){va, (uint32_t)vmf_slot(new), new.index,
				     r->prot, -E_INVAL};
	done = sys_pte_set(EXO_SLOT_SELF, ops, 2);
	if (done != 2) {
		vmf_put(new);
		return done < 0 ? done : ops[done].result;
	}
	memcpy((void *)va, (const void *)LIBOS_VM_SCRATCH, EXO_PAGE_SIZE);
	vmf_put(old);
	vm.stats.cow_copies++;
	return E_OK;
}

/* ---- Faults ------------------------------------------------------------ */

/* Hand the fault to the application; false if it declines or has none. */
static bool app_fault(uint64_t addr, bool write, struct exo_upcall_frame *f)
{
	vm.stats.app_faults++;
	return vm.app_handler && vm.app_handler(addr, write, f);
}

/* The same page faulting again and again though it looks fine: stop. */
static bool spurious(uint64_t va)
{
	if (va != vm.last_fault_va) {
		vm.last_fault_va = va;
		vm.repeats = 0;
	}
	return ++vm.repeats > VM_SPURIOUS_MAX;
}

bool vm_handle_fault(struct exo_upcall_frame *f)
{
	uint64_t va = page_down(f->addr), pte;
	bool write = f->error & PF_WRITE, fetch = f->error & PF_FETCH;
	const struct region *r;
	unsigned need;
	long err = E_OK;

	if (f->trapno != T_PF || !vm.ready)
		return false;
	vm.stats.faults++;
	r = region_find(f->addr);
	need = write ? EXO_MAP_WRITE : fetch ? EXO_MAP_EXEC : EXO_MAP_READ;
	if (!r || !(r->prot & need))
		return app_fault(f->addr, write, f);
	pte = vm_pte(va);
	if (!(pte & EXO_PTE_PRESENT))
		err = fill(r, va);
	else if (write && !(pte & EXO_PTE_WRITABLE))
		err = unshare(r, va, pte);
	else if (spurious(va))
		return app_fault(f->addr, write, f);
	if (err) {
		libos_printf("libos: vm: no frame for 0x%lx (region 0x%lx-0x%lx): "
			     "error %ld\n",
			     f->addr, r->start, r->end, err);
		return false;
	}
	return true;
}

/* The exception upcall when the program has no handler of its own. */
static void on_exception(struct exo_upcall_frame *f)
{
	if (vm_handle_fault(f))
		return;
	libos_printf("libos: fault at 0x%lx (trap %lu error 0x%lx rip 0x%lx)\n",
		     f->addr, f->trapno, f->error, f->regs.rip);
	libos_exit(LIBOS_EXIT_FAULT);
}

vm_fault_fn vm_set_fault_handler(vm_fault_fn fn)
{
	vm_fault_fn old = vm.app_handler;

	vm_ready();
	vm.app_handler = fn;
	return old;
}

/* ---- Start-up ------------------------------------------------------------ */

/* The protection a PTE grants, as EXO_MAP_* bits. */
static unsigned prot_of(uint64_t pte)
{
	return EXO_MAP_READ | (pte & EXO_PTE_WRITABLE ? EXO_MAP_WRITE : 0) |
	       (pte & EXO_PTE_NX ? 0 : EXO_MAP_EXEC);
}

/* The image as regions, one per run of pages with one protection; the
 * runtime's private pages (runtime.h) are a region of their own. */
static long describe_image(void)
{
	uint64_t priv = (uintptr_t)__libos_private_start;
	uint64_t priv_end = (uintptr_t)__libos_private_end;
	uint64_t end = (uintptr_t)__libos_image_end + EXO_PAGE_SIZE - 1;
	uint64_t start = VM_USER_BASE;
	long err = E_OK;

	end = page_down(end);
	for (uint64_t va = VM_USER_BASE; va <= end && err == E_OK;
	     va += EXO_PAGE_SIZE) {
		bool boundary = va == end || va == priv || va == priv_end ||
				prot_of(vm_pte(va)) !=
					prot_of(vm_pte(start));

		if (!boundary || va == start)
			continue;
		err = region_add(start, va, prot_of(vm_pte(start)),
				 start == priv ? VM_PRIVATE_PAGES : VM_IMAGE);
		start = va;
	}
	return err;
}

long vm_ready(void)
{
	long err;

	if (vm.ready)
		return E_OK;
	/* The main stack is vital: nothing could page its contents back. */
	if ((err = vmf_init()) || (err = describe_image()) ||
	    (err = region_add(EXO_USER_STACK_TOP - VM_STACK_MAX,
			      EXO_USER_STACK_TOP, EXO_MAP_READ | EXO_MAP_WRITE,
			      VM_VITAL)))
		return err;
	vm.ready = true;
	if ((err = libos_upcall_init()))
		return err;
	if (!libos_has_handler(EXO_UPCALL_EXCEPTION))
		err = libos_set_handler(EXO_UPCALL_EXCEPTION, on_exception);
	return err ? err : reclaim_init();
}

/*
 * Changes to the tables happen between vm_enter and vm_leave: threads are
 * not switched meanwhile, and a revocation or repossession upcall that
 * arrives then only leaves its work in vm.pending (vm_run); the outermost
 * vm_leave does it.  The page-fault path needs neither: it runs on the
 * upcall stack, where no other upcall interrupts it.
 */
static void vm_enter(void)
{
	libos_preempt_disable();
	vm.busy++;
}

static void vm_leave(void)
{
	if (vm.busy == 1) {
		for (;;) {
			unsigned work;

			while ((work = vm.pending)) {
				vm.pending = 0;
				reclaim_work(work);
			}
			vm.busy = 0;
			/* An upcall between the check and here left work. */
			__asm__ volatile("" ::: "memory");
			if (!vm.pending)
				break;
			vm.busy = 1;
		}
	} else {
		vm.busy--;
	}
	libos_preempt_enable();
}

void vm_run(unsigned work)
{
	if (vm.busy) {
		vm.pending |= work;
		return;
	}
	vm_enter();
	reclaim_work(work);
	vm_leave();
}

bool vm_busy(void)
{
	return vm.busy != 0;
}

/* A public call's body, between vm_enter and vm_leave. */
#define VM_LOCKED(call)                                                        \
	({                                                                     \
		long locked_err_;                                              \
		vm_enter();                                                    \
		locked_err_ = (call);                                          \
		vm_leave();                                                    \
		locked_err_;                                                   \
	})

/* ---- The calls -------------------------------------------------------- */

static long reserve(uint64_t va, uint64_t len, unsigned prot, unsigned flags)
{
	long err = vm_ready();

	if (err)
		return err;
	if (!len || !page_aligned(va) || !page_aligned(len) ||
	    va + len < va || va < VM_USER_BASE || va + len > EXO_USER_MAP_LIMIT ||
	    (prot & ~(EXO_MAP_READ | EXO_MAP_WRITE | EXO_MAP_EXEC)) ||
	    (flags & ~VM_FLAGS_ALL))
		return -E_INVAL;
	if (overlaps(va, va + len))
		return -E_BUSY;
	return region_add(va, va + len, prot, flags);
}

long vm_reserve(uint64_t va, uint64_t len, unsigned prot, unsigned flags)
{
	return VM_LOCKED(reserve(va, len, prot, flags));
}

/* Start the layer; then [va, va + len) must be whole pages inside
 * regions.  0 or -E_*. */
static long ready_range(uint64_t va, uint64_t len)
{
	long err = vm_ready();

	if (err)
		return err;
	if (!len || !page_aligned(va) || !page_aligned(len) || va + len < va ||
	    !covered(va, va + len))
		return -E_INVAL;
	return E_OK;
}

void vm_batch_unmap(struct pte_batch *b, uint64_t va)
{
	uint64_t pte = vm_pte(va);
	struct vm_page_ref ref;

	if (pte & EXO_PTE_PRESENT)
		pte_batch_unmap_put(b, va,
				    page_ref(pte, &ref) ? ref : VM_PAGE_NONE);
}

bool vm_page_unmapped(struct vm_page_ref page)
{
	if (!vmf_put(page))
		return false;
	vm.stats.pages_mapped--;
	return true;
}

void vm_note_lost(uint64_t pages)
{
	vm.stats.pages_mapped -= pages;
}

/* Unmap every mapped page of [va, end) and let its frame go. */
static long unmap_range(uint64_t va, uint64_t end)
{
	struct pte_batch b = {.env = EXO_SLOT_SELF};

	while (va < end && !b.err) {
		if (!(vm_pte(va) & EXO_PTE_PRESENT)) {
			va = next_candidate(va);
			continue;
		}
		vm_batch_unmap(&b, va);
		va += EXO_PAGE_SIZE;
	}
	pte_batch_flush(&b);
	return b.err;
}

static long release(uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	long err = ready_range(va, len);

	if (err)
		return err;
	if ((err = region_split(va)) || (err = region_split(end)) ||
	    (err = unmap_range(va, end)))
		return err;
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		struct region *r = &vm.region[i];

		if (r->end && r->start >= va && r->end <= end)
			r->end = 0;
	}
	vmf_trim();
	return E_OK;
}

long vm_release(uint64_t va, uint64_t len)
{
	return VM_LOCKED(release(va, len));
}

/* The protection a mapped page gets under prot: never writable while
 * its frame may be shared copy-on-write. */
static unsigned page_perm(const struct region *r, uint64_t pte,
			  struct vm_page_ref ref)
{
	bool cow = !(r->flags & VM_SHARED) && !(pte & EXO_PTE_WRITABLE) &&
		   vmf_maybe_shared(ref);

	return cow ? r->prot & ~EXO_MAP_WRITE : r->prot;
}

bool vm_batch_remap(struct pte_batch *b, uint64_t va)
{
	uint64_t pte = vm_pte(va);
	const struct region *r = region_find(va);
	struct vm_page_ref ref;

	if (!page_ref(pte, &ref) || !r)
		return true;
	if (r->prot == VM_PROT_NONE)
		return false;
	pte_batch_add(b, va, vmf_slot(ref), ref.index, page_perm(r, pte, ref));
	return true;
}

/* Re-map every mapped page of [va, end) with its region's protection. */
static long remap_range(uint64_t va, uint64_t end)
{
	struct pte_batch b = {.env = EXO_SLOT_SELF};

	while (va < end && !b.err) {
		if (!(vm_pte(va) & EXO_PTE_PRESENT)) {
			va = next_candidate(va);
			continue;
		}
		if (!vm_batch_remap(&b, va))
			b.err = -E_INVAL;
		va += EXO_PAGE_SIZE;
	}
	pte_batch_flush(&b);
	return b.err;
}

/* Whether [va, end) has a mapped page (PROT_NONE cannot keep one). */
static bool any_mapped(uint64_t va, uint64_t end)
{
	while (va < end) {
		if (vm_pte(va) & EXO_PTE_PRESENT)
			return true;
		va = next_candidate(va);
	}
	return false;
}

/*
 * Make [va, end) whole regions and give them prot, or (set_pager) the
 * pager instead.  0 or -E_NOMEM (no entry left to split a region).
 */
static long regions_set(uint64_t va, uint64_t end, unsigned prot,
			const struct vm_pager *pager, bool set_pager)
{
	long err;

	if ((err = region_split(va)) || (err = region_split(end)))
		return err;
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		struct region *r = &vm.region[i];

		if (!r->end || r->start < va || r->end > end)
			continue;
		if (set_pager)
			r->pager = pager;
		else
			r->prot = (uint8_t)prot;
	}
	return E_OK;
}

static long protect(uint64_t va, uint64_t len, unsigned prot)
{
	uint64_t end = va + len;
	long err = ready_range(va, len);

	if (err)
		return err;
	if ((prot & ~(EXO_MAP_READ | EXO_MAP_WRITE | EXO_MAP_EXEC)) ||
	    (prot == VM_PROT_NONE && any_mapped(va, end)))
		return -E_INVAL;
	if ((err = regions_set(va, end, prot, NULL, false)))
		return err;
	err = remap_range(va, end);
	region_merge();
	return err;
}

long vm_protect(uint64_t va, uint64_t len, unsigned prot)
{
	return VM_LOCKED(protect(va, len, prot));
}

static long populate(uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	long err = ready_range(va, len);

	if (err)
		return err;
	for (; va < end && err == E_OK; va += EXO_PAGE_SIZE)
		if (!(vm_pte(va) & EXO_PTE_PRESENT))
			err = fill(region_find(va), va);
	return err;
}

long vm_populate(uint64_t va, uint64_t len)
{
	return VM_LOCKED(populate(va, len));
}

static long clear_bits(uint64_t va, uint64_t len)
{
	long err = vm_ready();

	if (err)
		return err;
	if (!len || !page_aligned(va) || !page_aligned(len) || va + len < va)
		return -E_INVAL;
	/* A fresh mapping of the same frame starts with both bits clear. */
	return remap_range(va, va + len);
}

long vm_clear_bits(uint64_t va, uint64_t len)
{
	return VM_LOCKED(clear_bits(va, len));
}

static long set_pager(uint64_t va, uint64_t len, const struct vm_pager *pager)
{
	long err = ready_range(va, len);

	if (err)
		return err;
	if (pager && !pager->page_in)
		return -E_INVAL;
	err = regions_set(va, va + len, 0, pager, true);
	region_merge();
	return err;
}

long vm_set_pager(uint64_t va, uint64_t len, const struct vm_pager *pager)
{
	return VM_LOCKED(set_pager(va, len, pager));
}

void vm_get_stats(struct vm_stats *out)
{
	*out = vm.stats;
	out->frames_held = vmf_frames_held();
	out->frames_free = vmf_frames_free();
	reclaim_add_stats(out);
}

/* ---- For revocation (reclaim.c) ------------------------------------------ */

/* The region holding va or, failing that, the first one above it. */
static const struct region *region_from(uint64_t va)
{
	const struct region *best = NULL;

	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		const struct region *r = &vm.region[i];

		if (r->end && r->end > va && (!best || r->start < best->start))
			best = r;
	}
	return best;
}

uint64_t vm_next_mapped(uint64_t va, const struct region **out)
{
	const struct region *r;

	while ((r = region_from(va))) {
		if (va < r->start)
			va = r->start;
		while (va < r->end) {
			if (vm_pte(va) & EXO_PTE_PRESENT) {
				*out = r;
				return va;
			}
			va = next_candidate(va);
		}
		va = r->end;
	}
	return 0;
}

/* ---- For fork (fork.c) -------------------------------------------------- */

/*
 * Every page of every VM_SHARED region present.  Fork hands the child the
 * frames behind a shared region; a page neither side had touched yet has
 * none, and would become two separate demand-zero pages after the fork.
 */
static long populate_shared(void)
{
	long err = E_OK;

	for (int i = 0; i < VM_REGIONS_MAX && err == E_OK; i++) {
		const struct region *r = &vm.region[i];

		if (r->end && (r->flags & VM_SHARED))
			err = populate(r->start, r->end - r->start);
	}
	return err;
}

long vm_populate_shared(void)
{
	return VM_LOCKED(populate_shared());
}

void vm_each_page(vm_page_fn fn, void *arg)
{
	for (int i = 0; i < VM_REGIONS_MAX; i++) {
		const struct region *r = &vm.region[i];

		for (uint64_t va = r->start; r->end && va < r->end;) {
			uint64_t pte = vm_pte(va);
			struct vm_page_ref ref;

			if (!page_ref(pte, &ref)) {
				va = (pte & EXO_PTE_PRESENT)
					     ? va + EXO_PAGE_SIZE
					     : next_candidate(va);
				continue;
			}
			fn(arg, va, pte, r->prot, r->flags, ref);
			va += EXO_PAGE_SIZE;
		}
	}
}
