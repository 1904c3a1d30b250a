/*
 * runtime.h: what guestlib's own files share and programs need not see:
 * the assembly entry points (upcall.S) and the C functions they call.
 */
#ifndef LIBOS_RUNTIME_H
#define LIBOS_RUNTIME_H

#include "libos.h"

/*
 * The runtime's own state that must be a process's own from its first
 * instruction after a fork: it lives on pages of its own (user.ld), which
 * fork copies into the child at once instead of sharing them
 * copy-on-write.  The page-fault path of the VM layer writes nothing but
 * this state and the upcall stack, so it never faults on itself.
 */
#define LIBOS_PRIVATE __attribute__((section(".libos.private")))
extern char __libos_private_start[], __libos_private_end[];
extern char __libos_image_end[];

/* ---- mem.c: SYS_PTE_SET ops for one env, sent in batches --------------- */
#define PTE_BATCH_OPS 64

/* A page of the VM layer's frames (frames.c): chunk and index. */
struct vm_page_ref {
	int chunk;
	unsigned index;
};

#define VM_PAGE_NONE ((struct vm_page_ref){-1, 0})

struct pte_batch {
	long env; /* the env slot the ops apply to */
	struct exo_pte_op op[PTE_BATCH_OPS];
	/* Per op: the page whose frame is let go once the op is done (an
	 * unmap), or VM_PAGE_NONE.  Not before: until then the frame is
	 * still mapped, and must not be handed out again. */
	struct vm_page_ref put[PTE_BATCH_OPS];
	unsigned n;
	uint64_t freed; /* frames let go, their unmaps done */
	long err;	/* the first failure; later ops are dropped */
};

/* Queue an op (sending the batch when full); flush sends what is left. */
void pte_batch_add(struct pte_batch *b, uint64_t va, long slot, unsigned index,
		   unsigned perm);
/* Queue the unmapping of va, and let page's frame go once it is done. */
void pte_batch_unmap_put(struct pte_batch *b, uint64_t va,
			 struct vm_page_ref page);
void pte_batch_flush(struct pte_batch *b);

/* ---- vm.c: what the rest of the runtime sees of the VM layer ------------ */
/* Internal region flags beside libos_vm.h's VM_SHARED, VM_VITAL. */
#define VM_PRIVATE_PAGES 0x80u /* the LIBOS_PRIVATE pages: fork copies them */
#define VM_IMAGE 0x40u	       /* the program image: nothing to page it in */

struct region {
	uint64_t start, end; /* page aligned; end 0: entry unused */
	uint8_t prot, flags;
	const struct vm_pager *pager; /* NULL: demand zero */
};

/* The PTE mapping va, or 0 when a table above it is missing. */
uint64_t vm_pte(uint64_t va);
/* The first mapped page at or above va, in address order (0: none);
 * *r gets its region. */
uint64_t vm_next_mapped(uint64_t va, const struct region **r);

/* Reclaim work an upcall asks for (vm_run); RECLAIM_* bits. */
#define RECLAIM_REVOKE 0x1u
#define RECLAIM_REPOSSESSED 0x2u
/* Do the work now, or when the layer's tables are no longer mid-change. */
void vm_run(unsigned work);
/* Whether a call of the layer is under way (its tables may be mid-change). */
bool vm_busy(void);

/* ---- frames.c: the frames the VM layer maps -------------------------------
 * Chunks are FRAME (or INITRD) capabilities the process holds: its own
 * (allocated here or its image), or borrowed (granted by the parent it was
 * forked from; never ours to free).  A page of an own chunk is free (ours,
 * unused), used (mapped here), lent (unmapped here but maybe still mapped
 * by a forked child: kept until those children are gone) or gone (given
 * back to the kernel).
 */
#define VM_CHUNK_MIN 16	 /* frames in the first chunk; each next doubles */
#define VM_CHUNKS_MAX 64 /* chunks a process holds at once */
#define VM_CHILDREN_MAX 64 /* forked children tracked at once (a mask) */

enum vm_pool { VM_POOL_PRIVATE, VM_POOL_SHARED, VM_POOL_VITAL, VM_NPOOLS };

long vmf_init(void);
/* A page for pool; *fresh says whether the kernel zeroed it just now. */
long vmf_alloc(enum vm_pool pool, struct vm_page_ref *out, uint64_t *pa,
	       bool *fresh);
/* The page is no longer mapped here; false if it had been let go already. */
bool vmf_put(struct vm_page_ref ref);
bool vmf_lookup(uint64_t pa, struct vm_page_ref *out);
long vmf_slot(struct vm_page_ref ref);
/* Whether a page of ref's chunk may be mapped by another process too. */
bool vmf_maybe_shared(struct vm_page_ref ref);
/* Give fully free own chunks back to the kernel. */
void vmf_trim(void);
/* fork: the child `bit` may map pages of ref's chunk from now on. */
void vmf_share(struct vm_page_ref ref, unsigned bit);
/* fork: the child `bit` is gone; what only it held becomes free. */
void vmf_child_gone(unsigned bit);
/* fork: give every chunk to the child (env slot) and note where it went. */
long vmf_grant_all(long child);
/* fork: where vmf_grant_all put ref's chunk in the child. */
long vmf_child_slot(struct vm_page_ref ref);
/* fork, in the child: the chunks as it holds them (all borrowed). */
void vmf_fork_child(void);
unsigned vmf_chunks_held(void);

/* Revocation (reclaim.c).  Whether ref's frame is ours alone to reuse or
 * give back: an own chunk no forked child may map. */
bool vmf_reclaimable(struct vm_page_ref ref);
/* Give up to want free pages back to the kernel; how many went. */
uint64_t vmf_give_back(uint64_t want);
/* The same, only pages whose frames lie in physical [lo, hi). */
uint64_t vmf_give_back_in(uint64_t want, uint64_t lo, uint64_t hi);
/* The kernel took the frame at pa: false if it was not ours to track;
 * *was_used says whether it was mapped here. */
bool vmf_gone(uint64_t pa, bool *was_used);
/*
 * The kernel took more than it listed: every page of ours marked used but
 * no longer mapped here is gone.  mapped(arg, chunk, bits) sets the bit
 * of each page of that chunk still mapped.  Returns the pages found gone.
 */
uint64_t vmf_resync(void (*mapped)(void *arg, int chunk, uint8_t *bits),
		    void *arg);

/*
 * vm.c: queue the unmapping of va, its frame let go once that is done
 * (b->freed counts them); or its re-mapping with its region's protection
 * (which clears the accessed and dirty bits; false if the region allows
 * no access).  vm_page_unmapped: the batch did unmap page (true if its
 * frame went free).  vm_note_lost: the kernel took that many mapped pages.
 */
void vm_batch_unmap(struct pte_batch *b, uint64_t va);
bool vm_batch_remap(struct pte_batch *b, uint64_t va);
bool vm_page_unmapped(struct vm_page_ref page);
void vm_note_lost(uint64_t pages);

/* ---- reclaim.c: the VM layer's side of revocation ------------------------ */
/* Install the revocation and repossession handlers (unless the program has
 * its own).  0 or -E_*. */
long reclaim_init(void);
/* Do RECLAIM_* work (vm_run calls it with the tables steady). */
void reclaim_work(unsigned work);
/* The quota is spent: unmap pages the policy picks so one can be reused.
 * Whether any was. */
bool reclaim_for_fill(void);
void reclaim_add_stats(struct vm_stats *out);

/* vm.c: map every page of every VM_SHARED region (fork.c); 0 or -E_*. */
long vm_populate_shared(void);
/* vm.c: call fn for every mapped page of every region (fork.c). */
typedef void (*vm_page_fn)(void *arg, uint64_t va, uint64_t pte, unsigned prot,
			   unsigned flags, struct vm_page_ref ref);
void vm_each_page(vm_page_fn fn, void *arg);
uint64_t vmf_frames_held(void);
/* Frames our quota still has room for (not used, not granted to children). */
uint64_t vmf_quota_room(void);
uint64_t vmf_frames_free(void); /* held, not mapped: first to go back */

/* upcall.S: where uenv.entry[] points; the kernel jumps here. */
void libos_upcall_entry(void);
void libos_pct_entry(void);

/* upcall.c: runs the handler registered for frame->kind. */
void libos_upcall_dispatch(struct exo_upcall_frame *frame);

/* pct.c: runs the PCT server, then SYS_PCT_RETURN with its reply. */
_Noreturn void libos_pct_dispatch(uint64_t badge, uint64_t caller, uint64_t w0,
				  uint64_t w1, uint64_t w2, uint64_t w3);

/* ---- proc.c: this process's children ----------------------------------- */
enum proc_kind { PROC_FREE, PROC_FORKED, PROC_SPAWNED };

struct proc_entry {
	long env_slot;
	enum proc_kind kind;
	unsigned bit;	   /* its index: the chunks' share-mask bit */
	long private_slot; /* forked: its private pages and upcall stack */
	long slices_slot;  /* forked: our copy of its slices, or < 0 */
};

/* A new entry for the child in env_slot, or NULL if the table is full. */
struct proc_entry *proc_add(long env_slot, enum proc_kind kind);
/* Kill the child if it lives, free what it had of ours, drop the entry
 * and its ENV capability. */
void proc_forget(struct proc_entry *p);

/* pipe.c: env (a child we reaped) is gone: strike it off the rings we
 * made, and let go of those no one holds any more. */
void pipe_env_gone(exo_envid_t env);

/* ---- In a forked child: forget what was only the parent's --------------- */
void proc_fork_child(void);
void libos_spawn_fork_child(void);
void libos_pct_fork_child(void);
void libos_thread_fork_child(void);

/* spawn.c: raise child's slot quota and give it n of the time slices
 * (freeing some of ours if needed); returns our copy's slot or -E_*. */
long libos_give_slices(long child, uint64_t frame_quota, unsigned n);

#endif /* LIBOS_RUNTIME_H */
