/*
 * frames.c: the frames behind the VM layer's pages (see runtime.h).
 *
 * A capability slot is scarce (EXO_CAP_SLOTS per env) and a system call
 * dear, so frames come from the kernel in chunks: one FRAME capability of
 * VM_CHUNK_MIN frames at first, each next chunk twice the last, up to
 * EXO_FRAME_ALLOC_MAX, never more than the quota has room for.  Pages are
 * handed out from chunks one by one and named by (chunk, index), which is
 * also what SYS_PTE_SET needs to map them.
 *
 * After a fork, a page the parent stops using may still be mapped by the
 * child (copy-on-write shares it): the page is lent, and becomes free only
 * when every child that could map it is gone.  A chunk with no page in use
 * or lent goes back to the kernel.
 */
#include "runtime.h"

#define PAGE_FREE 0u
#define PAGE_USED 1u
#define PAGE_LENT 2u
#define PAGE_GONE 3u /* given back to the kernel */
#define STATE_BITS 2u
#define STATE_MASK 3u
#define PAGES_PER_BYTE 4u

/* What a forked child may do with our chunks: read and run them, and
 * pass them on to its own children; write only shared ones. */
#define CHILD_RIGHTS (EXO_R_READ | EXO_R_EXEC | EXO_R_GRANT)
#define CHILD_SHARED_RIGHTS (CHILD_RIGHTS | EXO_R_WRITE)

struct chunk {
	uint32_t count; /* pages; 0: this entry is unused */
	int32_t slot;
	int32_t child_slot; /* fork: where the child holds it, or -1 */
	bool own;	    /* allocated by us: ours to hand out and free */
	uint8_t pool;	    /* enum vm_pool */
	uint16_t untouched; /* pages from here on were never handed out */
	uint16_t nfree, nlent, nused;
	uint64_t base;	     /* physical address of page 0 */
	uint64_t share_mask; /* forked children that may map its pages */
	uint8_t state[EXO_FRAME_ALLOC_MAX / PAGES_PER_BYTE];
};

static struct {
	struct chunk chunk[VM_CHUNKS_MAX];
	unsigned next_pages; /* the size of the next chunk asked for */
} st LIBOS_PRIVATE;

static unsigned page_state(const struct chunk *c, unsigned i)
{
	return (c->state[i / PAGES_PER_BYTE] >>
		((i % PAGES_PER_BYTE) * STATE_BITS)) &
	       STATE_MASK;
}

/* Move page i to state s, keeping the chunk's counts. */
static void set_state(struct chunk *c, unsigned i, unsigned s)
{
	unsigned shift = (i % PAGES_PER_BYTE) * STATE_BITS;
	unsigned old = page_state(c, i);
	uint16_t *count[] = {&c->nfree, &c->nused, &c->nlent, NULL};

	if (count[old])
		(*count[old])--;
	if (count[s])
		(*count[s])++;
	c->state[i / PAGES_PER_BYTE] =
		(uint8_t)((c->state[i / PAGES_PER_BYTE] & ~(STATE_MASK << shift)) |
			  (s << shift));
}

/* Record a capability as a chunk; every page starts in state s. */
static long chunk_add(long slot, uint64_t base, uint64_t count, bool own,
		      enum vm_pool pool, unsigned s)
{
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];

		if (c->count)
			continue;
		*c = (struct chunk){.count = (uint32_t)count, .slot = (int32_t)slot,
				    .child_slot = -1, .own = own,
				    .pool = (uint8_t)pool, .base = base};
		c->nfree = (uint16_t)count; /* every page starts PAGE_FREE */
		for (unsigned p = 0; p < count; p++)
			set_state(c, p, s);
		c->untouched = s == PAGE_FREE ? 0 : (uint16_t)count;
		return i;
	}
	return -E_NOMEM;
}

long vmf_init(void)
{
	struct exo_cap_info img;

	st.next_pages = VM_CHUNK_MIN;
	/* The image and stack the kernel or our parent's loader gave us
	 * (vital: both allocate them so). */
	if (sys_cap_info(EXO_SLOT_IMAGE, &img) != E_OK ||
	    img.type != EXO_CAP_FRAME)
		return E_OK;
	return chunk_add(EXO_SLOT_IMAGE, img.base, img.count,
			 (img.rights & EXO_R_FREE) != 0,
			 VM_POOL_PRIVATE, PAGE_USED) < 0
		       ? -E_NOMEM
		       : E_OK;
}

uint64_t vmf_quota_room(void)
{
	struct exo_env_status s;
	uint64_t held;

	if (sys_env_status(EXO_SLOT_SELF, &s) != E_OK)
		return 0;
	held = s.frames_used + s.frames_granted;
	return held < s.frame_quota ? s.frame_quota - held : 0;
}

/* A new own chunk for pool: as big as asked, or as the quota allows. */
static long chunk_new(enum vm_pool pool)
{
	uint64_t pages = st.next_pages, room = vmf_quota_room();
	unsigned flags = pool == VM_POOL_VITAL ? EXO_FRAME_VITAL : 0;
	struct exo_cap_info info;
	long slot = -E_NOMEM, idx;

	if (pages > room)
		pages = room;
	while (pages > 0 && (slot = sys_frame_alloc(EXO_FRAME_ANY, pages,
						    flags)) == -E_NOMEM)
		pages /= 2; /* no run that long free: take a shorter one */
	if (slot < 0)
		return slot;
	if (sys_cap_info(slot, &info) != E_OK ||
	    (idx = chunk_add(slot, info.base, pages, true, pool,
			     PAGE_FREE)) < 0) {
		sys_frame_free(slot, 0, EXO_FRAME_REST);
		return -E_NOMEM;
	}
	if (pages == st.next_pages && st.next_pages < EXO_FRAME_ALLOC_MAX)
		st.next_pages *= 2;
	return idx;
}

/*
 * A free page of chunk c: the lowest, so pages used before come back
 * before never-used ones (and pages given back are skipped).  *fresh says
 * whether the kernel zeroed it and no one has used it since.
 */
static unsigned take_page(struct chunk *c, bool *fresh)
{
	unsigned i = 0;

	while (page_state(c, i) != PAGE_FREE)
		i++; /* the caller checked c->nfree */
	set_state(c, i, PAGE_USED);
	*fresh = i >= c->untouched;
	if (*fresh)
		c->untouched = (uint16_t)(i + 1);
	return i;
}

long vmf_alloc(enum vm_pool pool, struct vm_page_ref *out, uint64_t *pa,
	       bool *fresh)
{
	long idx = -1;

	for (int i = 0; i < VM_CHUNKS_MAX && idx < 0; i++) {
		const struct chunk *c = &st.chunk[i];

		if (c->count && c->own && c->pool == pool && c->nfree)
			idx = i;
	}
	if (idx < 0 && (idx = chunk_new(pool)) < 0)
		return idx;
	out->chunk = (int)idx;
	out->index = take_page(&st.chunk[idx], fresh);
	*pa = st.chunk[idx].base + out->index * EXO_PAGE_SIZE;
	return E_OK;
}

bool vmf_put(struct vm_page_ref ref)
{
	struct chunk *c = &st.chunk[ref.chunk];

	if (c->own && page_state(c, ref.index) != PAGE_USED)
		return false; /* already let go */
	if (c->own)
		set_state(c, ref.index, c->share_mask ? PAGE_LENT : PAGE_FREE);
	return true;
}

bool vmf_lookup(uint64_t pa, struct vm_page_ref *out)
{
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		const struct chunk *c = &st.chunk[i];

		if (c->count && pa >= c->base &&
		    pa < c->base + c->count * EXO_PAGE_SIZE) {
			out->chunk = i;
			out->index = (unsigned)((pa - c->base) / EXO_PAGE_SIZE);
			return true;
		}
	}
	return false;
}

long vmf_slot(struct vm_page_ref ref)
{
	return st.chunk[ref.chunk].slot;
}

bool vmf_maybe_shared(struct vm_page_ref ref)
{
	const struct chunk *c = &st.chunk[ref.chunk];

	return !c->own || c->share_mask != 0;
}

void vmf_trim(void)
{
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];

		if (!c->count || !c->own || c->nused || c->nlent)
			continue;
		sys_frame_free(c->slot, 0, EXO_FRAME_REST);
		c->count = 0;
	}
}

void vmf_share(struct vm_page_ref ref, unsigned bit)
{
	struct chunk *c = &st.chunk[ref.chunk];

	if (c->own)
		c->share_mask |= 1ull << bit;
}

void vmf_child_gone(unsigned bit)
{
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];

		if (!c->count || !(c->share_mask & (1ull << bit)))
			continue;
		c->share_mask &= ~(1ull << bit);
		if (c->share_mask || !c->nlent)
			continue;
		for (unsigned p = 0; p < c->count; p++)
			if (page_state(c, p) == PAGE_LENT)
				set_state(c, p, PAGE_FREE);
	}
	vmf_trim();
}

/* Grant every chunk to child, at the same slot where it is free. */
long vmf_grant_all(long child)
{
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];
		uint64_t rights = c->pool == VM_POOL_SHARED
					  ? CHILD_SHARED_RIGHTS
					  : CHILD_RIGHTS;
		long got;

		if (!c->count)
			continue;
		got = sys_cap_grant(c->slot, child, rights, c->slot);
		if (got == -E_INVAL)
			got = sys_cap_grant(c->slot, child, rights, EXO_SLOT_ANY);
		if (got < 0)
			return got;
		c->child_slot = (int32_t)got;
	}
	return E_OK;
}

long vmf_child_slot(struct vm_page_ref ref)
{
	return st.chunk[ref.chunk].child_slot;
}

void vmf_fork_child(void)
{
	st.next_pages = VM_CHUNK_MIN;
	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];

		if (!c->count)
			continue;
		if (c->child_slot < 0) {
			c->count = 0; /* the parent could not pass it on */
			continue;
		}
		/* We hold the parent's chunks without FREE: all borrowed. */
		c->slot = c->child_slot;
		c->child_slot = -1;
		c->own = false;
		c->share_mask = 0;
	}
}

/* ---- Revocation (reclaim.c) ----------------------------------------------- */

/* The kernel drops a capability once all its pages are freed: so do we. */
static void forget_if_gone(struct chunk *c)
{
	if (!c->nfree && !c->nused && !c->nlent)
		c->count = 0;
}

bool vmf_reclaimable(struct vm_page_ref ref)
{
	const struct chunk *c = &st.chunk[ref.chunk];

	return c->own && !c->share_mask;
}

/* Physical memory the kernel asks back: pages of [lo, hi). */
struct pa_range {
	uint64_t lo, hi;
};

static bool page_in(const struct chunk *c, unsigned i, struct pa_range r)
{
	uint64_t pa = c->base + (uint64_t)i * EXO_PAGE_SIZE;

	return pa >= r.lo && pa < r.hi;
}

/* Queue frees of up to `want` free pages of c in r, one op per run. */
static uint64_t queue_free_runs(int ci, uint64_t want, struct pa_range r,
				struct exo_syscall *ops, unsigned *n)
{
	const struct chunk *c = &st.chunk[ci];
	uint64_t queued = 0;

	for (unsigned i = 0; i < c->count && queued < want && *n < EXO_BATCH_MAX;) {
		unsigned first = i;

		while (i < c->count && queued < want &&
		       page_state(c, i) == PAGE_FREE && page_in(c, i, r)) {
			i++;
			queued++;
		}
		if (i == first) {
			i++;
			continue;
		}
		ops[(*n)++] = (struct exo_syscall){
		    .nr = SYS_FRAME_FREE,
		    .args = {(uint64_t)c->slot, first, i - first}};
	}
	return queued;
}

/* One SYS_BATCH of frees of free pages in r; the pages actually freed. */
static uint64_t give_back_batch(uint64_t want, struct pa_range r)
{
	struct exo_syscall ops[EXO_BATCH_MAX];
	int chunk_of[EXO_BATCH_MAX];
	unsigned n = 0;
	uint64_t given = 0;
	long done;

	for (int i = 0; i < VM_CHUNKS_MAX && n < EXO_BATCH_MAX; i++) {
		unsigned before = n;

		if (!st.chunk[i].count || !st.chunk[i].own || !st.chunk[i].nfree)
			continue;
		want -= queue_free_runs(i, want, r, ops, &n);
		for (unsigned k = before; k < n; k++)
			chunk_of[k] = i;
		if (!want)
			break;
	}
	done = n ? sys_batch(ops, n) : 0;
	for (long k = 0; k < done; k++) {
		struct chunk *c = &st.chunk[chunk_of[k]];

		for (uint64_t p = 0; p < ops[k].args[2]; p++)
			set_state(c, (unsigned)(ops[k].args[1] + p), PAGE_GONE);
		given += ops[k].args[2];
		forget_if_gone(c);
	}
	return given;
}

uint64_t vmf_give_back_in(uint64_t want, uint64_t lo, uint64_t hi)
{
	struct pa_range r = {lo, hi};
	uint64_t given = 0, got;

	while (given < want && (got = give_back_batch(want - given, r)))
		given += got;
	return given;
}

uint64_t vmf_give_back(uint64_t want)
{
	return vmf_give_back_in(want, 0, UINT64_MAX);
}

bool vmf_gone(uint64_t pa, bool *was_used)
{
	struct vm_page_ref ref;
	struct chunk *c;
	unsigned old;

	if (!vmf_lookup(pa, &ref))
		return false;
	c = &st.chunk[ref.chunk];
	old = page_state(c, ref.index);
	if (!c->own || old == PAGE_GONE)
		return false;
	*was_used = old == PAGE_USED;
	set_state(c, ref.index, PAGE_GONE);
	forget_if_gone(c);
	return true;
}

uint64_t vmf_resync(void (*mapped)(void *arg, int chunk, uint8_t *bits),
		    void *arg)
{
	uint64_t lost = 0;

	for (int i = 0; i < VM_CHUNKS_MAX; i++) {
		struct chunk *c = &st.chunk[i];
		uint8_t bits[EXO_FRAME_ALLOC_MAX / 8] = {0};

		if (!c->count || !c->own || !c->nused)
			continue;
		mapped(arg, i, bits);
		for (unsigned p = 0; p < c->count; p++)
			if (page_state(c, p) == PAGE_USED &&
			    !(bits[p / 8] & (1u << (p % 8)))) {
				set_state(c, p, PAGE_GONE);
				lost++;
			}
		forget_if_gone(c);
	}
	return lost;
}

unsigned vmf_chunks_held(void)
{
	unsigned n = 0;

	for (int i = 0; i < VM_CHUNKS_MAX; i++)
		n += st.chunk[i].count != 0;
	return n;
}

uint64_t vmf_frames_held(void)
{
	uint64_t n = 0;

	for (int i = 0; i < VM_CHUNKS_MAX; i++)
		if (st.chunk[i].own)
			n += st.chunk[i].count;
	return n;
}

uint64_t vmf_frames_free(void)
{
	uint64_t n = 0;

	for (int i = 0; i < VM_CHUNKS_MAX; i++)
		if (st.chunk[i].count && st.chunk[i].own)
			n += st.chunk[i].nfree;
	return n;
}
