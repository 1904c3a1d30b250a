/*
 * libos_vm.h: the library OS's virtual-memory layer (guestlib/vm.c), built
 * in ring 3 on SYS_FRAME_ALLOC and SYS_PTE_SET.
 *
 * Memory comes in regions: a region is a page-aligned range with a
 * protection and flags.  Its pages get frames when first touched (demand
 * zero), or at once with vm_populate().  Frames come from chunks the layer
 * allocates from the kernel (one FRAME capability per chunk, growing from
 * VM_CHUNK_MIN to EXO_FRAME_ALLOC_MAX frames) and hands out page by page.
 *
 * Faults the layer cannot resolve itself (an access the region's
 * protection forbids, or an address outside every region) go to the
 * application's fault handler (vm_set_fault_handler), the hook the
 * Appel-Li uses (write barriers, guard pages) are built on; without one,
 * or when it declines, the process reports the fault and exits with
 * LIBOS_EXIT_FAULT.  The main stack is a region that grows on demand
 * to 8 MiB below EXO_USER_STACK_TOP.  vm_protect() to VM_PROT_NONE is
 * refused over pages already mapped (a frame cannot be kept unmapped).
 */
#ifndef LIBOS_VM_H
#define LIBOS_VM_H

#include <stdbool.h>
#include <stdint.h>

#include <exo/abi.h>

/* Protections: the EXO_MAP_* bits; VM_PROT_NONE keeps the range reserved
 * but inaccessible (every touch is a fault for the application). */
#define VM_PROT_NONE 0u
#define VM_PROT_READ EXO_MAP_READ
#define VM_PROT_WRITE EXO_MAP_WRITE
#define VM_PROT_EXEC EXO_MAP_EXEC

/* Region flags. */
#define VM_SHARED 0x1u /* fork maps it into the child shared, not copied */
#define VM_VITAL 0x2u  /* its frames are vital: the kernel takes them last */
#define VM_FLAGS_ALL (VM_SHARED | VM_VITAL)

/*
 * Where regions may lie: the bottom of the address space up to the
 * runtime's gigabyte below EXO_USER_MAP_LIMIT (libos.h).  The heap
 * (malloc) and thread stacks have their own places in it.
 */
#define VM_USER_BASE 0x400000ull /* program images start here (user.ld) */
#define VM_HEAP_BASE (1ull << 40)
#define VM_HEAP_MAX (1ull << 36) /* the most malloc will ever reserve */
#define VM_STACKS_BASE (VM_HEAP_BASE + VM_HEAP_MAX)
#define VM_STACKS_MAX (1ull << 36)

/*
 * Start the layer now (every call below does so itself): describe the
 * image and stack as regions and install the exception handler, unless
 * the program has its own, which must then pass faults to
 * vm_handle_fault().  Returns 0 or a negative E_*.
 */
long vm_ready(void);

/* Resolve a fault if it is the layer's to resolve (true: resume). */
bool vm_handle_fault(struct exo_upcall_frame *frame);

/*
 * Reserve [va, va + len) as a demand-zero region with prot and flags.  va
 * and len must be page aligned; the range must not overlap a region.
 * Returns 0 or a negative E_*.
 */
long vm_reserve(uint64_t va, uint64_t len, unsigned prot, unsigned flags);

/* Unmap [va, va + len), free its frames and forget it.  0 or -E_*. */
long vm_release(uint64_t va, uint64_t len);

/*
 * Change the protection of [va, va + len), which must lie inside regions
 * (the mprotect equivalent).  Mapped pages change at once; the rest get
 * prot when touched.  Returns 0 or a negative E_*.
 */
long vm_protect(uint64_t va, uint64_t len, unsigned prot);

/* Give every page of [va, va + len) its frame now.  0 or -E_*. */
long vm_populate(uint64_t va, uint64_t len);

/* What the page at va is, read from the read-only page-table view. */
bool vm_mapped(uint64_t va);
bool vm_dirty(uint64_t va);
bool vm_accessed(uint64_t va);

/* Clear the accessed and dirty bits of the mapped pages of [va, va+len). */
long vm_clear_bits(uint64_t va, uint64_t len);

/*
 * The application's fault handler: called, on the upcall stack, with the
 * faulting address, whether the access was a write, and the frame whose
 * context resumes when it returns true (it may change frame->regs).  It
 * may call vm_protect() and the rest of this layer.  Returning false
 * declines the fault.  vm_set_fault_handler returns the previous handler.
 */
typedef bool (*vm_fault_fn)(uint64_t addr, bool write,
			    struct exo_upcall_frame *frame);
vm_fault_fn vm_set_fault_handler(vm_fault_fn fn);

/*
 * Backing store.  A region with a pager is the application's to fill: a
 * page of it gets its contents from pager->page_in, called with the page
 * mapped writable (and zeroed) on the upcall stack, at its first touch and
 * again whenever it comes back after the layer or the kernel took its
 * frame.  Before the layer gives up a dirty page of such a region it calls
 * pager->page_out (if not NULL) with the page still mapped, so that the
 * store keeps what was written.  Pages of a region without a pager come
 * back zero-filled.  The pager must outlive the region's use of it; its
 * calls must not block (they may run inside an upcall handler).
 * vm_set_pager(va, len, NULL) makes the range demand-zero again.
 * Returns 0 or a negative E_*.
 */
struct vm_pager {
	void (*page_in)(void *arg, uint64_t va);
	void (*page_out)(void *arg, uint64_t va);
	void *arg;
};
long vm_set_pager(uint64_t va, uint64_t len, const struct vm_pager *pager);

/*
 * Revocation, and replacement within the quota.  Frames become short in
 * two ways: the kernel asks for some back (the revocation upcall, with a
 * deadline), or a fault needs a frame when the quota is spent.  Either way
 * the layer first uses what costs nothing (frames it holds but has not
 * mapped), then asks the revocation policy which mapped pages to give up.
 *
 * Which pages may go: mapped pages of our own frames (not shared with a
 * forked child) in regions that are not VM_VITAL, nor the program image,
 * nor the runtime's own.  When the quota is spent, only pages of regions
 * with a pager (their contents come back); when the kernel demands frames,
 * pages without a pager too (they come back as zeros: the kernel would
 * take non-vital frames anyway at the deadline, and the policy chooses
 * better than it).  The runtime keeps what it cannot lose vital: the
 * stacks and the heap.  vm_reclaimable(va, demanded) says whether va's
 * page may go.
 *
 * A policy writes up to max addresses of pages it would give up, in the
 * order it prefers, into out and returns how many; it is asked for `want`
 * pages (it may name more, or fewer: the layer asks again, and stops when
 * the policy names nothing new).  It runs inside upcall handlers and the
 * fault path: it must not block, and should not touch unmapped memory.
 * The default, vm_policy_clock, is least-recently-used by the accessed
 * bits (the clock algorithm: a page touched since the hand last passed
 * gets a second chance, its bit cleared).  vm_set_policy(NULL) restores
 * the default; it returns the previous policy.
 *
 * When the kernel takes frames by force (repossession), the layer notes
 * which; their pages fault back in as any untouched page does.
 */
typedef unsigned (*vm_policy_fn)(uint64_t want, bool demanded, uint64_t *out,
				 unsigned max);
vm_policy_fn vm_set_policy(vm_policy_fn fn);
unsigned vm_policy_clock(uint64_t want, bool demanded, uint64_t *out,
			 unsigned max);
bool vm_reclaimable(uint64_t va, bool demanded);

/* Counters, for tests, experiments and the revocation policies. */
struct vm_stats {
	uint64_t faults;	 /* page faults that reached the layer */
	uint64_t zero_fills;	 /* demand-zero pages given a frame */
	uint64_t page_ins;	 /* pages a pager filled */
	uint64_t page_outs;	 /* dirty pages a pager saved */
	uint64_t cow_copies;	 /* copy-on-write pages copied */
	uint64_t cow_reuses;	 /* copy-on-write pages no one else held */
	uint64_t app_faults;	 /* faults handed to the application */
	uint64_t frames_held;	 /* frames from the kernel, in use or not */
	uint64_t frames_free;	 /* of them, mapped nowhere: free to give */
	uint64_t pages_mapped;	 /* of them, mapped in a region */
	uint64_t pages_evicted;	 /* unmapped by the policy */
	uint64_t revocations;	 /* revocation requests answered */
	uint64_t pages_returned; /* given back on those requests */
	uint64_t pages_taken;	 /* repossessed by force */
};
void vm_get_stats(struct vm_stats *out);

#endif /* LIBOS_VM_H */
