/*
 * frametab.c: the frame table, its free list and the reverse map (see
 * frametab.h).
 *
 * This file owns which frames are free, who owns each allocated one, the
 * epoch that lets capabilities notice a frame was freed, and the record
 * of every mapping of a frame.  The free list is doubly linked through
 * frame indices so a named frame leaves it in O(1); runs of more than one
 * frame are found by a scan.  It is a queue: a freed frame joins the tail
 * and single frames leave from the head, so a frame just freed is the
 * last to be handed out again.  Each zone (frametab.h) has its own queue.
 * That keeps a frame its owner gave back
 * available to a later allocation by name, and gives a stale reference
 * to it the longest time to show up as a dead capability rather than as
 * someone else's data.  Mapping entries come from one pool: first
 * the entries never used, in order, then those given back, linked through
 * ft_rmap.next (so initialising the pool costs nothing, which matters on
 * hosts that emulate a guest kernel instruction by instruction).  Every index is 32 bits with FT_NONE as "none",
 * which bounds the table at FT_MAX_FRAMES frames.
 */
#include <stdint.h>
#include <string.h>

#include "frametab.h"

/* The most frames whose pool indices stay below FT_NONE. */
#define FT_MAX_FRAMES ((size_t)(FT_NONE / FT_RMAP_PER_FRAME))

/* Both arrays start at a multiple of the stricter of their alignments. */
#define FT_ALIGN                                                               \
	(_Alignof(struct ft_frame) > _Alignof(struct ft_rmap)                  \
	     ? _Alignof(struct ft_frame)                                       \
	     : _Alignof(struct ft_rmap))

#define FT_FIRST_EPOCH 1u

static size_t align_up(size_t x, size_t align)
{
	return (x + align - 1) & ~(align - 1);
}

static size_t clamp_frames(size_t nframes)
{
	return nframes > FT_MAX_FRAMES ? FT_MAX_FRAMES : nframes;
}

/* Bytes of the frame array, padded so the pool after it is aligned. */
static size_t table_bytes(size_t nframes)
{
	return align_up(nframes * sizeof(struct ft_frame), FT_ALIGN);
}

size_t frametab_bytes(size_t nframes)
{
	nframes = clamp_frames(nframes);
	/* FT_ALIGN - 1 spare bytes let init align any `mem` it is given. */
	return FT_ALIGN - 1 + table_bytes(nframes) +
	       nframes * FT_RMAP_PER_FRAME * sizeof(struct ft_rmap);
}

/* ---- Free list ---------------------------------------------------- */

static struct ft_queue *queue_of(struct frametab *ft, uint32_t f)
{
	return &ft->free[f < ft->split ? FT_ZONE_LOW : FT_ZONE_HIGH];
}

static void free_push(struct frametab *ft, uint32_t f)
{
	struct ft_frame *fr = &ft->frames[f];
	struct ft_queue *q = queue_of(ft, f);

	fr->owner = FT_OWNER_FREE;
	fr->epoch = 0; /* epoch 0 is no frame's: its capabilities die */
	fr->flags = 0;
	fr->next = FT_NONE;
	fr->prev = q->tail;
	if (q->tail != FT_NONE)
		ft->frames[q->tail].next = f;
	else
		q->head = f;
	q->tail = f;
	ft->nfree++;
}

static void free_unlink(struct frametab *ft, uint32_t f)
{
	struct ft_frame *fr = &ft->frames[f];
	struct ft_queue *q = queue_of(ft, f);

	if (fr->prev != FT_NONE)
		ft->frames[fr->prev].next = fr->next;
	else
		q->head = fr->next;
	if (fr->next != FT_NONE)
		ft->frames[fr->next].prev = fr->prev;
	else
		q->tail = fr->prev;
	fr->prev = FT_NONE;
	fr->next = FT_NONE;
	ft->nfree--;
}

/* ---- Table ------------------------------------------------------------ */

static void init_frames(struct frametab *ft)
{
	const struct ft_frame kernel_frame = {
	    .owner = FT_OWNER_KERNEL,
	    .rmap = FT_NONE,
	    .prev = FT_NONE,
	    .next = FT_NONE,
	};

	for (size_t i = 0; i < ft->nframes; i++)
		ft->frames[i] = kernel_frame;
}

static void init_pool(struct frametab *ft)
{
	ft->rmap_free = FT_NONE;
	ft->rmap_unused = 0;
}

/* An entry from the pool, or FT_NONE if it is empty. */
static uint32_t pool_get(struct frametab *ft)
{
	uint32_t r = ft->rmap_free;

	if (r != FT_NONE)
		ft->rmap_free = ft->rmaps[r].next;
	else if (ft->rmap_unused < ft->nrmaps)
		r = ft->rmap_unused++;
	return r;
}

void frametab_init(struct frametab *ft, void *mem, size_t nframes,
		   uint32_t split)
{
	uintptr_t base = align_up((uintptr_t)mem, FT_ALIGN);

	ft->nframes = clamp_frames(nframes);
	ft->frames = (struct ft_frame *)base;
	ft->rmaps = (struct ft_rmap *)(base + table_bytes(ft->nframes));
	ft->nrmaps = ft->nframes * FT_RMAP_PER_FRAME;
	for (int z = 0; z < FT_ZONES; z++)
		ft->free[z] = (struct ft_queue){FT_NONE, FT_NONE};
	ft->split = split < ft->nframes ? split : (uint32_t)ft->nframes;
	ft->nfree = 0;
	ft->next_epoch = FT_FIRST_EPOCH;
	init_frames(ft);
	init_pool(ft);
}

void frametab_release(struct frametab *ft, uint32_t frame)
{
	if (frame >= ft->nframes || (ft->frames[frame].owner != FT_OWNER_KERNEL &&
				     ft->frames[frame].owner != FT_OWNER_ABSENT))
		return;
	free_push(ft, frame);
}

bool frametab_withdraw(struct frametab *ft, uint32_t frame)
{
	if (frame >= ft->nframes || ft->frames[frame].owner != FT_OWNER_FREE)
		return false;
	free_unlink(ft, frame);
	ft->frames[frame].owner = FT_OWNER_ABSENT;
	return true;
}

void frametab_mark_absent(struct frametab *ft, uint32_t frame)
{
	if (frame < ft->nframes && ft->frames[frame].owner == FT_OWNER_KERNEL)
		ft->frames[frame].owner = FT_OWNER_ABSENT;
}

/* A fresh epoch, never 0 (which names no allocation) even on wrap. */
static uint32_t new_epoch(struct frametab *ft)
{
	uint32_t epoch = ft->next_epoch;

	if (epoch == 0)
		epoch = FT_FIRST_EPOCH;
	ft->next_epoch = epoch + 1;
	if (ft->next_epoch == 0)
		ft->next_epoch = FT_FIRST_EPOCH;
	return epoch;
}

/* Are frames [first, first + count) all free?  The range is in bounds. */
static bool run_free(const struct frametab *ft, uint32_t first, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		if (ft->frames[first + i].owner != FT_OWNER_FREE)
			return false;
	}
	return true;
}

/* The lowest start of `count` adjacent free frames in [from, to), or FT_NONE. */
static uint32_t find_run_in(const struct frametab *ft, uint32_t count,
			    uint32_t from, uint32_t to)
{
	uint32_t run = 0;

	for (uint32_t i = from; i < to; i++) {
		run = ft->frames[i].owner == FT_OWNER_FREE ? run + 1 : 0;
		if (run == count)
			return i + 1 - count;
	}
	return FT_NONE;
}

/*
 * Where `count` free frames are: from the low zone only (low_only), else
 * from the high zone first.  A single frame is the longest free of its
 * queue, found without a scan.
 */
static uint32_t find_run(const struct frametab *ft, uint32_t count,
			 bool low_only)
{
	uint32_t f = FT_NONE;

	if (count == 1) {
		if (!low_only)
			f = ft->free[FT_ZONE_HIGH].head;
		return f != FT_NONE ? f : ft->free[FT_ZONE_LOW].head;
	}
	if (!low_only)
		f = find_run_in(ft, count, ft->split, (uint32_t)ft->nframes);
	return f != FT_NONE ? f : find_run_in(ft, count, 0, ft->split);
}

/* Take the free run [first, first + count) for owner with a new epoch. */
static void take_run(struct frametab *ft, exo_envid_t owner, uint32_t first,
		     uint32_t count)
{
	uint32_t epoch = new_epoch(ft);

	for (uint32_t f = first; f < first + count; f++) {
		struct ft_frame *fr = &ft->frames[f];

		free_unlink(ft, f);
		fr->owner = owner;
		fr->epoch = epoch;
		fr->flags = 0;
		fr->nmaps = 0;
		fr->rmap = FT_NONE;
	}
}

static int alloc(struct frametab *ft, exo_envid_t owner, uint32_t first,
		 uint32_t count, bool low_only, uint32_t *out)
{
	/* A frame handed to FT_OWNER_FREE would look free but be off-list. */
	if (count == 0 || owner == FT_OWNER_FREE)
		return -E_INVAL;
	if (first == FT_NONE) {
		if (count > ft->nfree)
			return -E_NOMEM;
		first = find_run(ft, count, low_only);
		if (first == FT_NONE)
			return -E_NOMEM;
	} else {
		if (first >= ft->nframes || count > ft->nframes - first)
			return -E_INVAL;
		if (low_only && (first >= ft->split || count > ft->split - first))
			return -E_INVAL;
		if (!run_free(ft, first, count))
			return -E_BUSY;
	}
	take_run(ft, owner, first, count);
	*out = first;
	return 0;
}

int frametab_alloc(struct frametab *ft, exo_envid_t owner, uint32_t first,
		   uint32_t count, uint32_t *out)
{
	return alloc(ft, owner, first, count, false, out);
}

int frametab_alloc_low(struct frametab *ft, exo_envid_t owner, uint32_t first,
		       uint32_t count, uint32_t *out)
{
	return alloc(ft, owner, first, count, true, out);
}

void frametab_free(struct frametab *ft, uint32_t frame)
{
	/*
	 * Refuse a frame still mapped (it could be handed out again while
	 * someone can reach it) and a free one (the list would loop).
	 */
	if (frame >= ft->nframes)
		return;
	if (ft->frames[frame].owner == FT_OWNER_FREE ||
	    ft->frames[frame].nmaps != 0)
		return;
	free_push(ft, frame);
}

/* ---- Reverse map ------------------------------------------------------ */

int frametab_rmap_add(struct frametab *ft, uint32_t frame, exo_envid_t env,
		      uint64_t va)
{
	struct ft_frame *fr;
	uint32_t r;

	if (frame >= ft->nframes || ft->frames[frame].owner == FT_OWNER_FREE)
		return -E_INVAL;
	if ((r = pool_get(ft)) == FT_NONE)
		return -E_NOMEM;
	fr = &ft->frames[frame];
	ft->rmaps[r].env = env;
	ft->rmaps[r].va = va;
	ft->rmaps[r].next = fr->rmap;
	fr->rmap = r;
	fr->nmaps++;
	return 0;
}

/* Return entry r, already off its frame's list, to the pool. */
static void pool_put(struct frametab *ft, uint32_t r)
{
	ft->rmaps[r].env = EXO_ENV_NONE;
	ft->rmaps[r].va = 0;
	ft->rmaps[r].next = ft->rmap_free;
	ft->rmap_free = r;
}

bool frametab_rmap_remove(struct frametab *ft, uint32_t frame, exo_envid_t env,
			  uint64_t va)
{
	uint32_t *link;

	if (frame >= ft->nframes)
		return false;
	/* Walk the links themselves so unlinking needs no "previous". */
	for (link = &ft->frames[frame].rmap; *link != FT_NONE;
	     link = &ft->rmaps[*link].next) {
		uint32_t r = *link;

		if (ft->rmaps[r].env == env && ft->rmaps[r].va == va) {
			*link = ft->rmaps[r].next;
			ft->frames[frame].nmaps--;
			pool_put(ft, r);
			return true;
		}
	}
	return false;
}

bool frametab_rmap_pop(struct frametab *ft, uint32_t frame, exo_envid_t *env,
		       uint64_t *va)
{
	struct ft_frame *fr;
	uint32_t r;

	if (frame >= ft->nframes || ft->frames[frame].rmap == FT_NONE)
		return false;
	fr = &ft->frames[frame];
	r = fr->rmap;
	*env = ft->rmaps[r].env;
	*va = ft->rmaps[r].va;
	fr->rmap = ft->rmaps[r].next;
	fr->nmaps--;
	pool_put(ft, r);
	return true;
}

bool frametab_live(const struct frametab *ft, uint64_t first, uint64_t count,
		   uint32_t epoch)
{
	/* Epoch 0 and an empty range name no allocation. */
	if (epoch == 0 || count == 0)
		return false;
	if (first >= ft->nframes || count > ft->nframes - first)
		return false;
	for (uint64_t f = first; f < first + count; f++) {
		if (ft->frames[f].owner == FT_OWNER_FREE ||
		    ft->frames[f].epoch != epoch)
			return false;
	}
	return true;
}

bool frametab_any_live(const struct frametab *ft, uint64_t first,
		       uint64_t count, uint32_t epoch)
{
	if (epoch == 0 || first >= ft->nframes || count > ft->nframes - first)
		return false;
	for (uint64_t f = first; f < first + count; f++)
		if (frametab_live(ft, f, 1, epoch))
			return true;
	return false;
}
