/*
 * frames.c: physical memory as envs see it.  The frame table
 * (exo/lib/frametab.c) covers RAM from address 0; frames the kernel, its
 * tables and the initrd use stay the kernel's, the rest start free.  An
 * allocation is charged to the env's frame quota and zeroed (a frame may
 * have held another env's data).  A mapping of an env-owned frame is a
 * binding recorded in the reverse map, so breaking it (free,
 * repossession, death of the owner) finds every mapping.
 */
#include <string.h>

#include <exo/hvc.h>

#include "boot.h"
#include "chunks.h"
#include "frames.h"
#include "kern.h"
#include "layout.h"
#include "mmu.h"
#include "uvm.h"

struct frametab frametab;
struct quota root_frames;
uint64_t frames_in_use;
uint64_t frames_repossessed;

static uint64_t page_round_up(uint64_t x)
{
	return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* One past the highest RAM byte the direct map reaches. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < boot_info.memmap_entries; i++) {
		const struct pvh_memmap_entry *m = &boot_info.memmap[i];

		if (m->type == PVH_MEMMAP_RAM && m->addr + m->size > end)
			end = m->addr + m->size;
	}
	return end < EXO_MMIO_HOLE_START ? end : EXO_MMIO_HOLE_START;
}

/*
 * Make the frames of physical [start, end) allocatable, highest first.
 * RAM is released from the top down, and the free list hands out the
 * frames released first: single frames come from the top of RAM while
 * runs are found from the bottom (frametab.c), so the two stay apart and
 * long runs stay available.
 */
static void release_range(uint64_t start, uint64_t end)
{
	uint64_t first = page_round_up(start) >> PAGE_SHIFT;
	uint64_t f = end >> PAGE_SHIFT;

	if (f > frametab.nframes)
		f = frametab.nframes;
	while (f-- > first)
		frametab_release(&frametab, (uint32_t)f);
}

/* Release RAM in [start, end) that the initrd does not occupy, top down. */
static void release_ram(uint64_t start, uint64_t end)
{
	uint64_t pa = (uintptr_t)boot_info.initrd - EXO_DIRECT_MAP_BASE;
	uint64_t initrd_start = pa & ~(PAGE_SIZE - 1);
	uint64_t initrd_end = page_round_up(pa + boot_info.initrd_size);

	if (!boot_info.initrd || initrd_end <= start || initrd_start >= end) {
		release_range(start, end);
		return;
	}
	if (initrd_end < end)
		release_range(initrd_end, end);
	if (initrd_start > start)
		release_range(start, initrd_start);
}

/*
 * The frame table covers boot RAM and, under exovmm, every chunk that may
 * be granted later (memory_max).  Everything the kernel keeps must lie
 * below memory_min, the part never taken away.
 */
void frames_init(void)
{
	uint32_t split = UINT32_MAX;
	uint64_t max_frames = chunks_boot(&split);
	uint64_t ram_frames = ram_end() >> PAGE_SHIFT;
	uint64_t nframes = max_frames > ram_frames ? max_frames : ram_frames;
	uint64_t table_pa = page_round_up(KERN_V2P(_kernel_end));
	uint64_t bytes = frametab_bytes(nframes);
	uint64_t first_free = page_round_up(table_pa + bytes);

	if (!boot_ram_contains(table_pa, bytes))
		panic("frames: no RAM for a %lu-byte frame table at %p", bytes,
		      (void *)table_pa);
	if (first_free > FRAME_PA(split)) {
		kprintf("exo: frames: memory_min (%lu MiB) cannot hold the "
			"kernel and its %lu KiB frame table: raise memory_min "
			"or lower memory_max\n",
			FRAME_PA(split) >> 20, bytes >> 10);
		exo_exit(EXO_EXIT_BAD_BOOT);
	}
	frametab_init(&frametab, exo_p2v(table_pa), nframes, split);
	for (uint32_t i = boot_info.memmap_entries; i-- > 0;) {
		const struct pvh_memmap_entry *m = &boot_info.memmap[i];
		uint64_t start = m->addr, end = m->addr + m->size;

		if (m->type != PVH_MEMMAP_RAM || end <= first_free)
			continue;
		release_ram(start > first_free ? start : first_free, end);
	}
	chunks_init();
	root_frames = (struct quota){.limit = frametab.nfree};
	kprintf("exo: frames: %zu free of %lu (table %lu KiB)\n",
		frametab.nfree, nframes, bytes >> 10);
}

int frames_alloc(struct env *e, uint64_t pa, uint64_t count, uint16_t flags,
		 uint64_t *pa_out)
{
	uint32_t first = pa == EXO_FRAME_ANY ? FT_NONE : PA_FRAME(pa);
	uint32_t got;
	int err;

	if (count == 0 || count > EXO_FRAME_ALLOC_MAX ||
	    (pa != EXO_FRAME_ANY &&
	     ((pa & (PAGE_SIZE - 1)) || pa >= FRAME_PA(frametab.nframes))))
		return -E_INVAL;
	err = quota_charge(&e->frames, count);
	if (err)
		return err;
	/* What must stay comes from memory that is never taken away. */
	if (flags & (FT_PAGETABLE | FT_UENV | FT_VITAL))
		err = frametab_alloc_low(&frametab, e->id, first,
					 (uint32_t)count, &got);
	else
		err = frametab_alloc(&frametab, e->id, first, (uint32_t)count,
				     &got);
	if (err) {
		quota_uncharge(&e->frames, count);
		return err;
	}
	for (uint64_t i = 0; i < count; i++)
		frametab.frames[got + i].flags = flags;
	memset(exo_p2v(FRAME_PA(got)), 0, count * PAGE_SIZE);
	frames_in_use += count;
	*pa_out = FRAME_PA(got);
	return 0;
}

/* The env slot an envid names, alive or being torn down. */
static struct env *env_slot_of(exo_envid_t id)
{
	struct env *e;

	/* Owners that are no env (FT_OWNER_KERNEL) index past the table. */
	if (EXO_ENV_INDEX(id) >= NENV)
		return NULL;
	e = &envs[EXO_ENV_INDEX(id)];
	return e->id == id ? e : NULL;
}

static bool tracked(uint64_t pa)
{
	uint32_t f = PA_FRAME(pa);

	return f < frametab.nframes &&
	       frametab.frames[f].owner != FT_OWNER_KERNEL &&
	       frametab.frames[f].owner != FT_OWNER_FREE;
}

int frames_unmap(struct env *e, uint64_t va)
{
	uint64_t pa;

	if (!uvm_unmap(e, va, &pa))
		return -E_NOENT;
	if (tracked(pa) &&
	    frametab_rmap_remove(&frametab, PA_FRAME(pa), e->id, va))
		e->rmaps--;
	return 0;
}

int frames_map(struct env *e, uint64_t va, uint64_t pa, unsigned perm,
	       bool track)
{
	uint64_t old;
	int err;

	if (uvm_lookup(e, va, &old))
		frames_unmap(e, va);
	if (track && e->rmaps >= FT_RMAP_PER_FRAME * e->frames.limit)
		return -E_NOMEM;
	err = uvm_map(e, va, pa, perm);
	if (err || !track)
		return err;
	err = frametab_rmap_add(&frametab, PA_FRAME(pa), e->id, va);
	if (err) {
		uvm_unmap(e, va, &old);
		return err;
	}
	e->rmaps++;
	return 0;
}

void frames_unmap_all(uint32_t frame)
{
	exo_envid_t id;
	uint64_t va, pa;

	while (frametab_rmap_pop(&frametab, frame, &id, &va)) {
		struct env *e = env_slot_of(id);

		if (!e)
			panic("frames: frame %u mapped by unknown env %u",
			      frame, id);
		uvm_unmap(e, va, &pa);
		e->rmaps--;
	}
}

struct env *frames_owner(uint32_t frame)
{
	return env_slot_of(frametab.frames[frame].owner);
}

void frames_free(uint32_t frame)
{
	struct env *owner = frames_owner(frame);

	frames_unmap_all(frame);
	if (owner)
		quota_uncharge(&owner->frames, 1);
	frametab_free(&frametab, frame);
	frames_in_use--;
	chunks_frame_freed(frame, owner);
}

/* e's own mapping at va goes with its tables: forget its binding. */
static void forget_binding(struct env *e, uint64_t va, uint64_t pa)
{
	if (tracked(pa) &&
	    frametab_rmap_remove(&frametab, PA_FRAME(pa), e->id, va))
		e->rmaps--;
}

/* Whether the frame is e's and (with data_only) not a table or uenv. */
static bool owned_by(uint32_t f, struct env *e, bool data_only, bool vital)
{
	const struct ft_frame *fr = &frametab.frames[f];

	if (fr->owner != e->id)
		return false;
	if (!data_only)
		return true;
	return !(fr->flags & (FT_PAGETABLE | FT_UENV)) &&
	       !!(fr->flags & FT_VITAL) == vital;
}

void frames_release_env(struct env *e)
{
	uvm_each_mapping(e, forget_binding);
	for (uint32_t f = 0; f < frametab.nframes; f++)
		if (owned_by(f, e, true, false) || owned_by(f, e, true, true))
			frames_free(f);
	uvm_destroy(e);
	if (e->uenv_pa) {
		frames_free(PA_FRAME(e->uenv_pa));
		e->uenv_pa = 0;
	}
}

void frames_reposs_begin(struct env *e)
{
	env_uenv(e)->reposs.nframes = 0;
}

void frames_reposs_take(struct env *e, uint32_t frame)
{
	struct exo_uenv *u = env_uenv(e);

	if (u->reposs.nframes < EXO_REPOSS_MAX)
		u->reposs.frames[u->reposs.nframes++] = FRAME_PA(frame);
	u->reposs.frames_total++;
	frames_repossessed++;
	frames_free(frame);
}

void frames_reposs_end(struct env *e)
{
	env_uenv(e)->reposs.seq++;
	e->pending |= PENDING(EXO_UPCALL_REPOSSESSED);
}

/* Repossess up to want of e's data frames in [first, end), lowest
 * first, vital ones too if asked. */
static uint64_t repossess_in(struct env *e, uint32_t first, uint32_t end,
			     uint64_t want, bool vital_too)
{
	uint64_t taken = 0;

	for (uint32_t f = first; f < end && taken < want; f++)
		if (owned_by(f, e, true, false) ||
		    (vital_too && owned_by(f, e, true, true))) {
			frames_reposs_take(e, f);
			taken++;
		}
	return taken;
}

/*
 * What e holds in chunks leaving the machine goes first (vital or not: it
 * cannot stay, though vital frames are allocated below memory_min), then
 * non-vital data frames, lowest first.
 */
uint64_t frames_repossess(struct env *e, uint64_t want)
{
	uint64_t taken = 0, lo, hi;

	if (chunks_withdraw_range(&lo, &hi))
		taken = repossess_in(e, PA_FRAME(lo), PA_FRAME(hi), want, true);
	return taken +
	       repossess_in(e, 0, frametab.nframes, want - taken, false);
}
