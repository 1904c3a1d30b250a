/*
 * fork.c: fork, done entirely in user space with copy-on-write.
 *
 * First every page of a shared region gets a frame, so that both sides
 * see the same memory even where neither had touched it yet.
 * The parent makes the child env and gives it every chunk of frames it
 * holds (read-only capabilities: the child can map them, and pass them
 * on to its own children, but not write or free them).  Then it walks its
 * regions: a shared region's pages go into the child as they are; every
 * other mapped page goes into the child read-only, and a writable one
 * becomes read-only here too.  The first write on either side faults, and
 * the VM layer copies the page (vm.c).  Nothing is copied at fork but the
 * runtime's private pages (runtime.h) and a fresh upcall stack, which the
 * child needs before it can take a fault at all.
 *
 * The child starts on that upcall stack in libos_fork_child_main, sets up
 * its uenv page, lets each part of the runtime forget what was only the
 * parent's (its children, its threads, its PCT service, the pipe ends it
 * got over RPC), and resumes the context libos_fork_capture saved, where
 * fork returns 0.  Before the child runs, the parent counts it in as
 * holding copies of its pipe ends (pipe.c).
 *
 * A child ends with its parent (the exokernel's env tree): it borrows the
 * parent's frames, and the parent keeps the frames it stopped using but
 * the child may still map until it has waited for the child.
 */
#include "runtime.h"

#define FORK_MIN_FRAMES 64 /* tables, uenv, a chunk of copies: less fails */
#define FORK_SLICES 1	   /* time slices a child gets, when there are any */

long libos_fork_capture(struct exo_regs *regs);
_Noreturn void libos_fork_child_main(struct exo_upcall_frame *resume);

/* What the child finds in its copy of the private pages. */
static struct {
	struct exo_upcall_frame resume;	 /* where fork returns 0 */
	uint64_t entry[EXO_UPCALL_NKINDS]; /* the parent's upcall entries */
	uint64_t uenv_flags;
} handoff LIBOS_PRIVATE;

struct walk {
	struct pte_batch parent, child;
	unsigned bit; /* the child's bit in the chunks' share masks */
};

/* One mapped page: into the child, and copy-on-write on both sides. */
static void share_page(void *arg, uint64_t va, uint64_t pte, unsigned prot,
		       unsigned flags, struct vm_page_ref ref)
{
	struct walk *w = arg;
	unsigned cow = prot & ~EXO_MAP_WRITE;

	if (flags & VM_PRIVATE_PAGES)
		return; /* copied whole: see copy_private() */
	vmf_share(ref, w->bit);
	if (flags & VM_SHARED) {
		pte_batch_add(&w->child, va, vmf_child_slot(ref), ref.index,
			      prot);
		return;
	}
	if (pte & EXO_PTE_WRITABLE)
		pte_batch_add(&w->parent, va, vmf_slot(ref), ref.index, cow);
	pte_batch_add(&w->child, va, vmf_child_slot(ref), ref.index, cow);
}

static long share_memory(long child, unsigned bit)
{
	struct walk w = {.parent = {.env = EXO_SLOT_SELF},
			 .child = {.env = child},
			 .bit = bit};

	vm_each_page(share_page, &w);
	pte_batch_flush(&w.parent);
	pte_batch_flush(&w.child);
	return w.parent.err ? w.parent.err : w.child.err;
}

static uint64_t private_pages(void)
{
	return ((uintptr_t)__libos_private_end -
		(uintptr_t)__libos_private_start) /
	       EXO_PAGE_SIZE;
}

/*
 * The child's private pages (a copy of ours as they are now, handoff
 * included) and its upcall stack, in one vital allocation of ours.
 * Returns its slot or -E_*.
 */
static long copy_private(long child)
{
	uint64_t priv = private_pages();
	uint64_t pages = priv + LIBOS_UPCALL_STACK_PAGES;
	long slot = sys_frame_alloc(EXO_FRAME_ANY, pages, EXO_FRAME_VITAL), err;

	if (slot < 0)
		return slot;
	err = libos_map(EXO_SLOT_SELF, LIBOS_SPAWN_WINDOW, slot, 0,
				(unsigned)priv, EXO_MAP_READ | EXO_MAP_WRITE);
	if (!err) {
		memcpy((void *)LIBOS_SPAWN_WINDOW, __libos_private_start,
		       priv * EXO_PAGE_SIZE);
		err = libos_map(EXO_SLOT_SELF, LIBOS_SPAWN_WINDOW, slot, 0,
				(unsigned)priv, 0);
	}
	if (!err)
		err = libos_map(child, (uintptr_t)__libos_private_start, slot,
				0, (unsigned)priv,
				EXO_MAP_READ | EXO_MAP_WRITE);
	if (!err)
		err = libos_map(child, LIBOS_UPCALL_STACK_BASE, slot,
				(unsigned)priv, LIBOS_UPCALL_STACK_PAGES,
				EXO_MAP_READ | EXO_MAP_WRITE);
	if (err) {
		sys_frame_free(slot, 0, EXO_FRAME_REST);
		return err;
	}
	return slot;
}

/* The child's first context: libos_fork_child_main on its upcall stack. */
static long start_child(long child)
{
	struct exo_regs regs = {
		.rip = (uintptr_t)libos_fork_child_main,
		/* As if just called: aligned, less a return address. */
		.rsp = LIBOS_UPCALL_STACK_BASE +
		       LIBOS_UPCALL_STACK_PAGES * EXO_PAGE_SIZE - LIBOS_WORD,
		.rdi = (uintptr_t)&handoff.resume,
	};
	long err = sys_env_set_regs(child, &regs);

	return err ? err : sys_env_start(child);
}

/* Frames a child gets when the caller does not say: half our room. */
static uint64_t default_quota(void)
{
	return vmf_quota_room() / 2;
}

/* Everything but the capture and the start; undone by proc_forget. */
static long make_child(uint64_t frames, long *child, struct proc_entry **p)
{
	long err;

	if ((*child = sys_env_create(frames, 0)) < 0)
		return *child;
	if (!(*p = proc_add(*child, PROC_FORKED))) {
		sys_env_kill(*child);
		sys_cap_drop(*child);
		return -E_NOMEM;
	}
	/* Slices if we can spare them; else it runs on time we donate. */
	(*p)->slices_slot = libos_give_slices(*child, frames, FORK_SLICES);
	if ((err = vmf_grant_all(*child)) < 0)
		return err;
	if (sys_cap_info(EXO_SLOT_INITRD, &(struct exo_cap_info){0}) == E_OK &&
	    (err = sys_cap_grant(EXO_SLOT_INITRD, *child, EXO_R_READ | EXO_R_GRANT,
				 EXO_SLOT_INITRD)) < 0)
		return err;
	return share_memory(*child, (*p)->bit);
}

long libos_fork_quota(uint64_t frames)
{
	struct proc_entry *p = NULL;
	long child, err;

	if ((err = vm_ready()))
		return err;
	if (!frames)
		frames = default_quota();
	if (frames < FORK_MIN_FRAMES)
		return -E_NOMEM;
	/* No other thread may change memory (the heap) while it is shared. */
	libos_thread_fork_prepare();
	err = vm_populate_shared();
	if (!err)
		err = make_child(frames, &child, &p);
	if (!err)
		err = libos_pipe_fork_parent(child);
	if (!err) {
		for (unsigned k = 0; k < EXO_UPCALL_NKINDS; k++)
			handoff.entry[k] = libos_uenv->entry[k];
		handoff.uenv_flags = libos_uenv->flags;
		handoff.resume.kind = EXO_UPCALL_EXCEPTION;
		if (!libos_fork_capture(&handoff.resume.regs))
			return 0; /* the child, resumed */
		err = (p->private_slot = copy_private(child)) < 0
			      ? p->private_slot
			      : start_child(child);
	}
	libos_thread_fork_parent();
	if (err) {
		if (p)
			proc_forget(p);
		return err;
	}
	return child;
}

long libos_fork(void)
{
	return libos_fork_quota(0);
}

_Noreturn void libos_fork_child_main(struct exo_upcall_frame *resume)
{
	/* First the upcalls, so that faults (copy-on-write) work. */
	libos_uenv->upcall_stack_base = LIBOS_UPCALL_STACK_BASE;
	libos_uenv->upcall_stack_size =
		LIBOS_UPCALL_STACK_PAGES * EXO_PAGE_SIZE;
	for (unsigned k = 0; k < EXO_UPCALL_NKINDS; k++)
		if (k != EXO_UPCALL_PCT)
			libos_uenv->entry[k] = handoff.entry[k];
	libos_uenv->flags = handoff.uenv_flags;
	vmf_fork_child();
	proc_fork_child();
	libos_spawn_fork_child();
	libos_pct_fork_child();
	libos_thread_fork_child();
	libos_pipe_fork_child();
	libos_resume(resume);
}
