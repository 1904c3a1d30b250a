/*
 * frametab.h: the frame table and reverse map.  Portable C, no hardware:
 * it knows frame numbers, owners and (env, va) pairs, never page tables.
 *
 * Every frame of RAM the kernel hands out has an entry: its owner (the
 * env charged for it), flags, the epoch of its allocation (capabilities
 * to a frame remember the epoch, so a freed frame's capabilities die),
 * and the list of its mappings.  The reverse map lets the kernel remove
 * every mapping of a frame when a binding is broken.  Mapping entries
 * come from a pool of FT_RMAP_PER_FRAME per frame; each env may use at
 * most FT_RMAP_PER_FRAME per frame of its quota, so one env cannot
 * exhaust the pool for the others (the kernel enforces that by counting).
 */
#ifndef EXO_FRAMETAB_H
#define EXO_FRAMETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <exo/abi.h>

#define FT_NONE UINT32_MAX /* end of a list */
#define FT_RMAP_PER_FRAME 4

/* Owners that are not envs. */
#define FT_OWNER_FREE 0u /* on the free list */
#define FT_OWNER_KERNEL UINT32_MAX /* kernel image, boot data, tables */
#define FT_OWNER_ABSENT (UINT32_MAX - 1) /* no memory now: chunk not granted */

/*
 * Two zones, split at frame `split`: the low one ([0, split)) is never
 * taken from the machine, so page tables, uenv pages and vital frames come
 * from it alone; data frames come from the high one first.  Each zone has
 * its own free queue.
 */
enum ft_zone { FT_ZONE_LOW, FT_ZONE_HIGH, FT_ZONES };

struct ft_queue {
	uint32_t head; /* handed out next */
	uint32_t tail; /* freed last */
};

/* Frame flags. */
#define FT_VITAL 0x1	 /* taken last on repossession */
#define FT_PAGETABLE 0x2 /* a page-table page of its owner's space */
#define FT_UENV 0x4	 /* its owner's uenv page */

struct ft_frame {
	exo_envid_t owner;
	uint32_t epoch;
	uint16_t flags;
	uint32_t nmaps;
	uint32_t rmap;	     /* first mapping, or FT_NONE */
	uint32_t prev, next; /* free list links while free */
};

struct ft_rmap {
	exo_envid_t env;
	uint64_t va;
	uint32_t next; /* next mapping of the same frame, or free pool link */
};

struct frametab {
	struct ft_frame *frames;
	size_t nframes;
	struct ft_queue free[FT_ZONES];
	uint32_t split; /* first frame of the high zone */
	size_t nfree;	/* in both queues */
	struct ft_rmap *rmaps;
	size_t nrmaps;
	uint32_t rmap_free;   /* returned entries, linked through next */
	uint32_t rmap_unused; /* entries from here on were never handed out */
	uint32_t next_epoch; /* never 0: epoch 0 is no frame's */
};

/* Bytes of memory frametab_init needs for n frames (table plus pool). */
size_t frametab_bytes(size_t nframes);

/*
 * Lay the table out in `mem` (frametab_bytes(nframes) bytes) with every
 * frame owned by the kernel and frames from `split` on in the high zone
 * (split >= nframes: one zone); frames are then made allocatable one by
 * one with frametab_release().
 */
void frametab_init(struct frametab *ft, void *mem, size_t nframes,
		   uint32_t split);

/*
 * Put a kernel-owned or absent frame on the free list (boot, the kernel's
 * own, or memory newly granted).
 */
void frametab_release(struct frametab *ft, uint32_t frame);

/* A free frame leaves the free list and becomes absent: true if it was free. */
bool frametab_withdraw(struct frametab *ft, uint32_t frame);

/* A kernel-owned frame (never released) becomes absent. */
void frametab_mark_absent(struct frametab *ft, uint32_t frame);

/*
 * Allocate `count` contiguous free frames for owner, starting at `first`
 * or, with FT_NONE, anywhere.  Returns 0 and *out = the first frame with a
 * fresh epoch shared by the run; -E_INVAL for count 0 or a range past the
 * end; -E_BUSY if a named frame is not free; -E_NOMEM if no run is free.
 */
int frametab_alloc(struct frametab *ft, exo_envid_t owner, uint32_t first,
		   uint32_t count, uint32_t *out);
/* The same for frames that must stay: from the low zone only. */
int frametab_alloc_low(struct frametab *ft, exo_envid_t owner, uint32_t first,
		       uint32_t count, uint32_t *out);

/*
 * Free a frame with no mappings left (the kernel unmaps first): back on
 * the free list, flags cleared, epoch 0 so every capability to it dies.
 */
void frametab_free(struct frametab *ft, uint32_t frame);

/* Record a mapping of frame at (env, va): 0, or -E_NOMEM (pool empty). */
int frametab_rmap_add(struct frametab *ft, uint32_t frame, exo_envid_t env,
		      uint64_t va);
/* Forget that mapping: true if it was recorded. */
bool frametab_rmap_remove(struct frametab *ft, uint32_t frame,
			  exo_envid_t env, uint64_t va);
/*
 * Take the first mapping of frame off its list: true and (*env, *va), or
 * false if it has none.  The kernel loops on this to unmap a frame.
 */
bool frametab_rmap_pop(struct frametab *ft, uint32_t frame, exo_envid_t *env,
		       uint64_t *va);

/*
 * Whether [first, first + count) are all allocated with `epoch` (so a
 * capability recorded at allocation still names them).
 */
bool frametab_live(const struct frametab *ft, uint64_t first, uint64_t count,
		   uint32_t epoch);

/* Whether any frame of [first, first + count) is allocated with `epoch`. */
bool frametab_any_live(const struct frametab *ft, uint64_t first,
		       uint64_t count, uint32_t epoch);

#endif /* EXO_FRAMETAB_H */
