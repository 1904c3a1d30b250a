/*
 * reclaim.c: the VM layer's side of revocation (libos_vm.h): which pages
 * may go, the policy hook and the default policy (the clock), eviction
 * (saving dirty pages through their pager first), the revocation and
 * repossession upcall handlers, and replacement when a fault finds the
 * quota spent.
 *
 * Upcalls arrive between any two instructions, possibly while a call of
 * the layer is half-way through its tables: the handlers only ask vm_run
 * for the work, which does it at once or when that call is done.
 */
#include "runtime.h"

#define RECLAIM_BATCH 64     /* victims asked of the policy at once */
#define RECLAIM_FILL_PAGES 8 /* pages evicted when a fault finds no frame */
#define CLOCK_LAPS 2	     /* a lap may only clear bits; the next finds */

static struct {
	vm_policy_fn policy;
	uint64_t clock_hand;
	bool active; /* evicting: a pager's own fault must not evict too */
	exo_envid_t owner; /* whose uenv the repossession marks are from */
	uint64_t reposs_seq, reposs_total;
	uint64_t page_outs, pages_evicted, revocations, pages_returned,
		pages_taken;
} rc LIBOS_PRIVATE;

/* ---- Which pages may go ----------------------------------------------- */

/* The region of va's page if that page may be given up, else NULL. */
static const struct region *victim_region(uint64_t va, bool demanded)
{
	const struct region *r;
	struct vm_page_ref ref;

	va &= ~(EXO_PAGE_SIZE - 1);
	if (vm_next_mapped(va, &r) != va ||
	    (r->flags & (VM_VITAL | VM_IMAGE | VM_PRIVATE_PAGES)) ||
	    (!demanded && !r->pager))
		return NULL;
	if (!vmf_lookup(vm_pte(va) & EXO_PTE_ADDR, &ref) ||
	    !vmf_reclaimable(ref))
		return NULL;
	return r;
}

bool vm_reclaimable(uint64_t va, bool demanded)
{
	return vm_ready() == E_OK && victim_region(va, demanded) != NULL;
}

/* A dirty page of a region with a pager: let the pager save it. */
static void save_if_dirty(const struct region *r, uint64_t va)
{
	if (!r->pager || !r->pager->page_out ||
	    !(vm_pte(va) & EXO_PTE_DIRTY))
		return;
	r->pager->page_out(r->pager->arg, va);
	rc.page_outs++;
}

/* ---- The default policy ------------------------------------------------ */

/* The clock's pass over [va, end): pages with the accessed bit clear go
 * into out (up to max), the others get a second chance queued in b.
 * Returns where it stopped: 0 when it ran off the last region. */
static uint64_t sweep(uint64_t va, uint64_t end, bool demanded, uint64_t *out,
		      unsigned *n, unsigned max, struct pte_batch *b)
{
	const struct region *r;

	while (*n < max && (va = vm_next_mapped(va, &r)) && va < end) {
		if ((r = victim_region(va, demanded))) {
			if (!(vm_pte(va) & EXO_PTE_ACCESSED)) {
				out[(*n)++] = va;
			} else {
				/* Re-mapping clears the dirty bit too: save
				 * the page first. */
				save_if_dirty(r, va);
				vm_batch_remap(b, va);
			}
		}
		va += EXO_PAGE_SIZE;
	}
	return va;
}

unsigned vm_policy_clock(uint64_t want, bool demanded, uint64_t *out,
			 unsigned max)
{
	struct pte_batch b = {.env = EXO_SLOT_SELF};
	uint64_t hand = rc.clock_hand ? rc.clock_hand : VM_USER_BASE, at = hand;
	unsigned n = 0;

	if (want < max)
		max = (unsigned)want;
	/* A lap goes from the hand to the top and round to the hand. */
	for (unsigned lap = 0; lap < CLOCK_LAPS && n < max; lap++) {
		at = sweep(hand, UINT64_MAX, demanded, out, &n, max, &b);
		if (n < max)
			at = sweep(VM_USER_BASE, hand, demanded, out, &n, max, &b);
		pte_batch_flush(&b); /* the next lap sees the bits clear */
	}
	rc.clock_hand = at;
	return n;
}

vm_policy_fn vm_set_policy(vm_policy_fn fn)
{
	vm_policy_fn old = rc.policy ? rc.policy : vm_policy_clock;

	vm_ready();
	rc.policy = fn ? fn : vm_policy_clock;
	return old;
}

/* ---- Eviction ---------------------------------------------------------- */

/* Unmap the pages at va[0..n) that may go; how many did. */
static uint64_t evict(const uint64_t *va, unsigned n, bool demanded)
{
	struct pte_batch b = {.env = EXO_SLOT_SELF};

	for (unsigned i = 0; i < n; i++) {
		const struct region *r = victim_region(va[i], demanded);

		if (!r)
			continue;
		save_if_dirty(r, va[i]);
		vm_batch_unmap(&b, va[i]);
	}
	pte_batch_flush(&b);
	rc.pages_evicted += b.freed;
	return b.freed;
}

/* Evict up to want pages the policy picks; how many went. */
static uint64_t reclaim(uint64_t want, bool demanded)
{
	uint64_t victims[RECLAIM_BATCH], got = 0, done;
	unsigned n;

	while (got < want) {
		n = rc.policy(want - got, demanded, victims, RECLAIM_BATCH);
		if (n > RECLAIM_BATCH)
			n = RECLAIM_BATCH;
		if (!n || !(done = evict(victims, n, demanded)))
			break;
		got += done;
	}
	return got;
}

bool reclaim_for_fill(void)
{
	uint64_t got;

	if (rc.active)
		return false;
	rc.active = true;
	got = reclaim(RECLAIM_FILL_PAGES, false);
	rc.active = false;
	return got > 0;
}

/* ---- The upcalls ------------------------------------------------------- */

/* Mapped pages whose frames lie in [lo, hi), gathered for eviction. */
struct leaving_pages {
	uint64_t lo, hi;
	uint64_t va[RECLAIM_BATCH];
	unsigned n;
};

static void gather_leaving(void *arg, uint64_t va, uint64_t pte,
			   unsigned prot, unsigned flags, struct vm_page_ref ref)
{
	struct leaving_pages *l = arg;
	uint64_t pa = pte & EXO_PTE_ADDR;

	(void)prot, (void)flags, (void)ref;
	if (l->n < RECLAIM_BATCH && pa >= l->lo && pa < l->hi &&
	    victim_region(va, true))
		l->va[l->n++] = va;
}

/*
 * Memory is leaving the machine: the pages on frames in [lo, hi) go
 * whatever the policy would pick (their dirty contents saved through
 * their pagers), then every free frame there.  Pages that may not go
 * (vital, image, shared with a child) are left to the kernel's deadline.
 */
static uint64_t give_back_leaving(uint64_t lo, uint64_t hi)
{
	struct leaving_pages l = {.lo = lo, .hi = hi};

	do {
		l.n = 0;
		vm_each_page(gather_leaving, &l);
	} while (l.n && evict(l.va, l.n, true));
	return vmf_give_back_in(UINT64_MAX, lo, hi);
}

/* What the kernel asks back: frames leaving the machine, unmapped frames,
 * then what the policy picks.  Time slices are left to the kernel: they
 * hold no state. */
static void answer_revocation(void)
{
	volatile struct exo_uenv *u = libos_uenv;
	uint64_t over = u->revoke.frames_over, given = 0;

	rc.revocations++;
	if ((!over && !u->revoke.withdraw_frames) || rc.active)
		return;
	rc.active = true;
	if (u->revoke.withdraw_frames)
		given = give_back_leaving(u->revoke.withdraw_lo,
					  u->revoke.withdraw_hi);
	if (given < over)
		given += vmf_give_back(over - given);
	if (given < over) {
		reclaim(over - given, true);
		given += vmf_give_back(over - given);
	}
	rc.pages_returned += given;
	rc.active = false;
}

/* vmf_resync's question: which pages of one chunk are still mapped. */
struct chunk_marks {
	int chunk;
	uint8_t *bits;
};

static void mark_if_in_chunk(void *arg, uint64_t va, uint64_t pte,
			     unsigned prot, unsigned flags,
			     struct vm_page_ref ref)
{
	struct chunk_marks *m = arg;

	(void)va, (void)pte, (void)prot, (void)flags;
	if (ref.chunk == m->chunk)
		m->bits[ref.index / 8] |= (uint8_t)(1u << (ref.index % 8));
}

static void mapped_in_chunk(void *arg, int chunk, uint8_t *bits)
{
	struct chunk_marks m = {chunk, bits};

	(void)arg;
	vm_each_page(mark_if_in_chunk, &m);
}

/*
 * The kernel took frames: forget them.  The vector lists at most
 * EXO_REPOSS_MAX, and a repossession the handler never saw (it was busy)
 * overwrote the one before: then the pages still believed mapped are
 * checked against the page tables instead.
 */
static void note_repossession(void)
{
	volatile struct exo_uenv *u = libos_uenv;
	uint64_t seq = u->reposs.seq, total = u->reposs.frames_total;
	uint64_t n = u->reposs.nframes, lost = 0;
	bool was_used;

	if (rc.owner != u->id) { /* a forked child's first: its own uenv */
		rc.owner = u->id;
		rc.reposs_seq = rc.reposs_total = 0;
	}
	for (uint64_t i = 0; i < n && i < EXO_REPOSS_MAX; i++)
		if (vmf_gone(u->reposs.frames[i], &was_used) && was_used)
			lost++;
	if (seq != rc.reposs_seq + 1 || total - rc.reposs_total != n)
		lost += vmf_resync(mapped_in_chunk, NULL);
	vm_note_lost(lost);
	rc.pages_taken += total - rc.reposs_total;
	rc.reposs_seq = seq;
	rc.reposs_total = total;
}

void reclaim_work(unsigned work)
{
	if (work & RECLAIM_REPOSSESSED)
		note_repossession();
	if (work & RECLAIM_REVOKE)
		answer_revocation();
}

static void on_revoke(struct exo_upcall_frame *f)
{
	(void)f;
	vm_run(RECLAIM_REVOKE);
}

static void on_repossessed(struct exo_upcall_frame *f)
{
	(void)f;
	vm_run(RECLAIM_REPOSSESSED);
}

long reclaim_init(void)
{
	long err = E_OK;

	if (!rc.policy)
		rc.policy = vm_policy_clock;
	if (!libos_has_handler(EXO_UPCALL_REVOKE))
		err = libos_set_handler(EXO_UPCALL_REVOKE, on_revoke);
	if (!err && !libos_has_handler(EXO_UPCALL_REPOSSESSED))
		err = libos_set_handler(EXO_UPCALL_REPOSSESSED, on_repossessed);
	return err;
}

void reclaim_add_stats(struct vm_stats *out)
{
	out->page_outs = rc.page_outs;
	out->pages_evicted = rc.pages_evicted;
	out->revocations = rc.revocations;
	out->pages_returned = rc.pages_returned;
	out->pages_taken = rc.pages_taken;
}
