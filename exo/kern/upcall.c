/*
 * upcall.c: entering an env at one of its upcall entry points.  The
 * kernel writes a struct exo_upcall_frame holding the interrupted context
 * at the top of the env's upcall stack and points the env's saved context
 * at the entry; the env resumes the interrupted context itself.  The
 * entry point, stack and frame are all the env's own memory and choices,
 * checked at each use: a bad one hurts only that env.  An exception in a
 * handler nests: its frame goes below the handler's own, so a library OS
 * can take page faults (copy-on-write, demand paging) while it handles
 * an upcall; a handler that faults at once forever overflows the stack
 * and is killed.
 */
#include "kern.h"
#include "seg.h"
#include "trap.h"
#include "upcall.h"
#include "uvm.h"
#include "x86.h"

#define STACK_ALIGN 16
#define RETURN_SLOT 8 /* where a call would have put the return address */

/* Vectors a ring-3 fault may hand to the env (not NMI, #DF, #MC). */
static bool env_handles(uint64_t vector)
{
	return vector < T_NEXCEPTIONS && vector != T_NMI && vector != T_DF &&
	       vector != T_MC;
}

bool upcall_on_stack(struct env *e)
{
	const struct exo_uenv *u = env_uenv(e);
	uint64_t base = u->upcall_stack_base, size = u->upcall_stack_size;

	return e->tf.rsp >= base && e->tf.rsp - base < size;
}

/*
 * Where a frame goes: at the top of the upcall stack, or, for an
 * exception taken on it, EXO_UPCALL_NEST_GAP bytes below the interrupted
 * %rsp.  Returns NULL, or why the stack cannot take one.
 */
static const char *frame_address(struct env *e, uint64_t *at)
{
	const struct exo_uenv *u = env_uenv(e);
	uint64_t base = u->upcall_stack_base, size = u->upcall_stack_size;
	uint64_t top = base + size;
	uint64_t need = sizeof(struct exo_upcall_frame) + RETURN_SLOT;

	if (size < need + STACK_ALIGN || top < base ||
	    !env_user_address(top - 1))
		return "its upcall stack is not usable";
	if (upcall_on_stack(e)) {
		top = e->tf.rsp - EXO_UPCALL_NEST_GAP;
		if (e->tf.rsp < base + EXO_UPCALL_NEST_GAP + need + STACK_ALIGN)
			return "its upcall stack overflowed";
	}
	*at = (top - sizeof(struct exo_upcall_frame)) &
	      ~(uint64_t)(STACK_ALIGN - 1);
	return NULL;
}

/*
 * Push a frame of `kind` for e's saved context and redirect it to the
 * entry.  Returns NULL on success, else why it could not.
 */
static const char *push(struct env *e, unsigned kind, uint64_t trapno,
			uint64_t error, uint64_t addr)
{
	uint64_t entry = env_uenv(e)->entry[kind];
	struct exo_upcall_frame f = {kind, trapno, error, addr, {0}};
	uint64_t at;
	const uint64_t zero = 0;
	const char *why;

	if (!entry || !env_user_address(entry))
		return "no handler";
	if ((why = frame_address(e, &at)))
		return why;
	env_regs_from_tf(&e->tf, &f.regs);
	if (copy_to_user(e, at, &f, sizeof(f)) ||
	    copy_to_user(e, at - RETURN_SLOT, &zero, sizeof(zero)))
		return "its upcall stack is not mapped writable";
	e->tf.rip = entry;
	e->tf.rsp = at - RETURN_SLOT;
	e->tf.rdi = at;
	e->tf.rflags = RFLAGS_IF | RFLAGS_FIXED;
	e->tf.cs = SEL_UCODE;
	e->tf.ss = SEL_UDATA;
	e->tf.vector = VEC_KERNEL_BUILT;
	return NULL;
}

void upcall_exception(struct env *e, const struct trapframe *tf)
{
	uint64_t addr = tf->vector == T_PF ? read_cr2() : 0;
	const char *why;

	if (!env_handles(tf->vector)) {
		env_kill(e, "exception %lu at rip %p", tf->vector,
			 (void *)tf->rip);
		return;
	}
	why = push(e, EXO_UPCALL_EXCEPTION, tf->vector, tf->error, addr);
	if (why)
		env_kill(e, "exception %lu error 0x%lx at rip %p (addr %p) and %s",
			 tf->vector, tf->error, (void *)tf->rip, (void *)addr,
			 why);
}

/* Most urgent first. */
static const unsigned delivery_order[] = {
    EXO_UPCALL_REPOSSESSED,
    EXO_UPCALL_REVOKE,
    EXO_UPCALL_EPILOGUE,
    EXO_UPCALL_PROLOGUE,
};

void upcall_deliver_pending(struct env *e)
{
	if (!e->pending || e->pct.active || upcall_on_stack(e))
		return;
	for (unsigned i = 0; i < sizeof(delivery_order) / sizeof(unsigned);
	     i++) {
		unsigned kind = delivery_order[i];
		const char *why;

		if (!(e->pending & PENDING(kind)))
			continue;
		e->pending &= ~PENDING(kind);
		if (!env_uenv(e)->entry[kind])
			continue; /* the env does not want these */
		why = push(e, kind, 0, 0, 0);
		if (why)
			env_kill(e, "upcall %u: %s", kind, why);
		return;
	}
}
