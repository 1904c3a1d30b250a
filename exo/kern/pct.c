/*
 * pct.c: protected control transfer.  SYS_PCT_CALL moves the CPU from the
 * caller straight to the callee's PCT entry with four words in registers
 * and the rest of the caller's slice; the callee answers with
 * SYS_PCT_RETURN and the caller resumes with four words back.  No
 * buffering, no scheduling decision.  SYS_PCT_SEND is the asynchronous
 * form: the caller stays runnable and gets no answer.
 *
 * A callee serves one call at a time: the context the call interrupted
 * is kept in its activation and restored by SYS_PCT_RETURN.  Only an env
 * holding a PCT capability (made by the callee, with a badge it chose)
 * with the CALL right may call.
 */
#include "kern.h"
#include "sched.h"
#include "seg.h"
#include "syscall.h"
#include "x86.h"

/* (badge) -> slot of a PCT capability to the caller itself */
SYSCALL_HANDLER(sys_pct_create)
{
	struct cap c = {.type = EXO_CAP_PCT,
			.rights = EXO_R_CALL | EXO_R_GRANT,
			.base = a[0],
			.object = e->id};

	return captab_insert(&e->caps, EXO_SLOT_ANY, &c);
}

/* Enter callee at its PCT entry for a call from caller. */
static int enter(struct env *caller, struct env *callee, uint64_t badge,
		 const uint64_t w[4], bool reply_wanted)
{
	const struct exo_uenv *u = env_uenv(callee);
	uint64_t entry = u->entry[EXO_UPCALL_PCT], stack = u->pct_stack;
	struct trapframe *tf = &callee->tf;

	if (callee == caller || callee->pct.active ||
	    callee->state != EXO_ENV_STATE_RUNNABLE)
		return -E_BUSY;
	if (!entry || !env_user_address(entry) || !env_user_address(stack))
		return -E_NOENT;
	callee->pct = (struct pct_activation){
	    .active = true,
	    .reply_wanted = reply_wanted,
	    .caller = caller->id,
	    .saved = *tf,
	};
	tf->rip = entry;
	tf->rsp = stack;
	tf->rdi = badge;
	tf->rsi = caller->id;
	tf->rdx = w[0];
	tf->rcx = w[1];
	tf->r8 = w[2];
	tf->r9 = w[3];
	tf->rflags = RFLAGS_IF | RFLAGS_FIXED;
	tf->cs = SEL_UCODE;
	tf->ss = SEL_UDATA;
	tf->vector = VEC_KERNEL_BUILT;
	curenv = callee;
	return 0;
}

static int64_t pct_transfer(struct env *e, const uint64_t a[6],
			    bool reply_wanted)
{
	const uint64_t w[4] = {a[1], a[2], a[3], a[4]};
	struct cap *c;
	struct env *callee;
	int err = sys_cap(e, a[0], EXO_CAP_PCT, EXO_R_CALL, &c);

	if (err)
		return err;
	if (!(callee = env_lookup((exo_envid_t)c->object)))
		return -E_NOENT;
	if ((err = enter(e, callee, c->base, w, reply_wanted)))
		return err;
	if (!reply_wanted)
		return 0;
	e->state = EXO_ENV_STATE_WAITING;
	e->waiting_on = callee->id;
	return SYSCALL_NO_RESULT; /* set by SYS_PCT_RETURN */
}

/* (slot, w0..w3) -> 0 with four words back in %rdi %rsi %rdx %r10 */
SYSCALL_HANDLER(sys_pct_call)
{
	return pct_transfer(e, a, true);
}

/* (slot, w0..w3) -> 0 at once; the callee runs on the caller's slice */
SYSCALL_HANDLER(sys_pct_send)
{
	return pct_transfer(e, a, false);
}

/* Wake a caller waiting on callee with result and words. */
static void wake(struct env *caller, int64_t result, const uint64_t w[4])
{
	struct trapframe *tf = &caller->tf;

	caller->state = EXO_ENV_STATE_RUNNABLE;
	caller->waiting_on = EXO_ENV_NONE;
	tf->rax = (uint64_t)result;
	tf->rdi = w[0];
	tf->rsi = w[1];
	tf->rdx = w[2];
	tf->r10 = w[3];
}

/* (w0..w3) -> resumes the caller (or whoever owns the slice) */
SYSCALL_HANDLER(sys_pct_return)
{
	const uint64_t w[4] = {a[0], a[1], a[2], a[3]};
	struct env *caller;

	if (!e->pct.active)
		return -E_INVAL;
	caller = env_lookup(e->pct.caller);
	e->tf = e->pct.saved;
	e->pct.active = false;
	if (caller && e->pct.reply_wanted &&
	    caller->state == EXO_ENV_STATE_WAITING &&
	    caller->waiting_on == e->id) {
		wake(caller, 0, w);
		curenv = caller;
	} else if (caller) {
		curenv = caller; /* SYS_PCT_SEND: the slice goes back */
	}
	return SYSCALL_NO_RESULT;
}

void pct_env_gone(struct env *e)
{
	static const uint64_t none[4];

	for (unsigned i = 0; i < NENV; i++) {
		struct env *w = &envs[i];

		if (w->state == EXO_ENV_STATE_WAITING && w->waiting_on == e->id)
			wake(w, -E_NOENT, none);
	}
}
