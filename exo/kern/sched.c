/*
 * sched.c: the CPU as a vector of time slices.  The LAPIC timer runs one
 * shot per slice; slots are taken round robin; an env owns slots (asked
 * for through capabilities) and may yield or donate the rest of a slice.
 * A slot whose owner waits in SYS_PCT_CALL runs the callee (the caller's
 * time is donated along the chain).
 *
 * At a slice's start the env's prologue upcall runs (if registered) so the
 * library OS can schedule its threads; at the end its epilogue upcall asks
 * it to save state and yield within a bound (half a slice).  An env still
 * running at the bound is preempted by force, its context saved by the
 * kernel, and charged: each offence costs it as many of its next slices
 * as it has offences so far.  Contiguous slots of one env run as one
 * long slice, without upcalls between them, unless the env asks for an
 * upcall pair per slice (EXO_UENV_SLICE_EACH).
 */
#include <exo/hvc.h>

#include "chunks.h"
#include "kern.h"
#include "revoke.h"
#include "sched.h"
#include "syscall.h"
#include "timer.h"
#include "upcall.h"
#include "x86.h"

#define EPILOGUE_BOUND_DIVISOR 2 /* bound = slice / this */
#define EPILOGUE_BOUND_MIN_US 1000u

struct slot_vector slot_vector;
struct quota root_slots = {.limit = EXO_NSLOTS};
struct sched_params sched_params = {SLICE_DEFAULT_US, REVOKE_GRACE_DEFAULT_US};

static exo_envid_t slice_owner; /* owner of the current slot */
static bool in_grace;		/* between an epilogue and its bound */
static uint64_t grace_start_tsc;  /* when the epilogue was sent */
static uint64_t grace_stolen_ns; /* the vCPU's stolen time then */

uint64_t sched_deadline(uint64_t grace_us)
{
	return rdtsc() + timer_us_to_tsc(grace_us);
}

/* Who runs for owner: owner, or the env its PCT call chain ends at. */
static struct env *runner_for(struct env *owner)
{
	struct env *e = owner;

	for (unsigned hops = 0; e && hops < NENV; hops++) {
		if (e->state == EXO_ENV_STATE_RUNNABLE)
			return e;
		if (e->state != EXO_ENV_STATE_WAITING)
			return NULL;
		e = env_lookup(e->waiting_on);
	}
	return NULL;
}

/* Round-robin filter: the slot's owner (or its callee) can run now. */
static bool can_run(exo_envid_t id, void *unused)
{
	struct env *owner = env_lookup(id);

	(void)unused;
	if (!owner || !runner_for(owner))
		return false;
	if (owner->forfeit) {
		owner->forfeit--;
		env_uenv(owner)->slice.slices_forfeited++;
		return false;
	}
	return true;
}

static void start_slice(struct env *owner)
{
	struct exo_uenv *u = env_uenv(owner);
	struct env *r = runner_for(owner);

	slice_owner = owner->id;
	in_grace = false;
	u->slice.slices++;
	u->slice.slice_start_tsc = rdtsc();
	timer_oneshot_us(sched_params.slice_us);
	if (env_uenv(r)->entry[EXO_UPCALL_PROLOGUE])
		r->pending |= PENDING(EXO_UPCALL_PROLOGUE);
	curenv = r;
}

static void next_slice(void)
{
	int s;

	/* Yields restart the timer, so deadlines are checked here too. */
	revoke_enforce_deadlines();
	s = slots_next(&slot_vector, can_run, NULL);

	slice_owner = EXO_ENV_NONE;
	curenv = NULL;
	if (s >= 0)
		start_slice(env_lookup(slot_vector.owner[s]));
}

static void charge_offence(struct env *e)
{
	struct exo_uenv *u = env_uenv(e);

	if (!e->offences)
		kprintf("exo: env %u (%s) preempted: no yield within %lu us "
			"of its epilogue\n",
			e->id, e->name,
			sched_params.slice_us / EPILOGUE_BOUND_DIVISOR);
	e->offences++;
	e->forfeit += e->offences;
	e->in_epilogue = false;
	e->pending &= ~PENDING(EXO_UPCALL_EPILOGUE);
	u->slice.forced++;
}

static uint64_t epilogue_bound_us(void)
{
	uint64_t us = sched_params.slice_us / EPILOGUE_BOUND_DIVISOR;

	return us < EPILOGUE_BOUND_MIN_US ? EPILOGUE_BOUND_MIN_US : us;
}

/* Whether the next slot is the current owner's too (a contiguous run). */
static bool run_continues(void)
{
	unsigned next = (slot_vector.current + 1) % EXO_NSLOTS;
	struct env *owner = env_lookup(slice_owner);

	if (!owner || slot_vector.owner[next] != owner->id ||
	    !runner_for(owner) ||
	    (env_uenv(owner)->flags & EXO_UENV_SLICE_EACH))
		return false;
	slot_vector.current = next;
	env_uenv(owner)->slice.slices++;
	timer_oneshot_us(sched_params.slice_us);
	/*
	 * A donation (sys_yield to an env) lasts the rest of one slice: the
	 * run goes on as the owner's, else a donee that never yields would
	 * keep every later slot of the run and starve the owner.
	 */
	curenv = runner_for(owner);
	return true;
}

/* Tell the running env its slice is over; true if it was told. */
static bool send_epilogue(struct env *e)
{
	if (!e || e->state != EXO_ENV_STATE_RUNNABLE ||
	    !env_uenv(e)->entry[EXO_UPCALL_EPILOGUE] || upcall_on_stack(e))
		return false;
	e->in_epilogue = true;
	e->pending |= PENDING(EXO_UPCALL_EPILOGUE);
	in_grace = true;
	grace_start_tsc = rdtsc();
	grace_stolen_ns = chunks_stolen_ns();
	timer_oneshot_us(epilogue_bound_us());
	return true;
}

/*
 * The bound is time the env could run: the vCPU's stolen time since the
 * epilogue (parked by exovmm, or waiting for a host CPU) does not count.  True if the env has not run
 * for the bound yet and the timer was set for the rest.
 */
static bool extend_grace(void)
{
	uint64_t wall_us = (rdtsc() - grace_start_tsc) / timer_us_to_tsc(1);
	uint64_t stolen_us = chunks_stolen_since(grace_stolen_ns) / NS_PER_US;
	uint64_t ran_us = wall_us > stolen_us ? wall_us - stolen_us : 0;
	uint64_t bound_us = epilogue_bound_us();

	if (ran_us + EPILOGUE_BOUND_MIN_US >= bound_us)
		return false;
	timer_oneshot_us(bound_us - ran_us);
	return true;
}

/* The one-shot timer: a slice or an epilogue bound ran out. */
static void sched_timer(void)
{
	chunks_poll(); /* in case the mailbox's interrupt was lost */
	revoke_enforce_deadlines();
	if (slice_owner == EXO_ENV_NONE)
		return; /* idle: sched_resume picks again */
	if (in_grace) {
		if (curenv && curenv->in_epilogue && extend_grace())
			return;
		if (curenv && curenv->in_epilogue)
			charge_offence(curenv);
		next_slice();
		return;
	}
	if (run_continues() || send_epilogue(curenv))
		return;
	next_slice();
}

void sched_yield(struct env *e, struct env *to)
{
	e->in_epilogue = false;
	e->pending &= ~PENDING(EXO_UPCALL_EPILOGUE);
	if (to && to != e && to->state == EXO_ENV_STATE_RUNNABLE && !in_grace) {
		curenv = to; /* the rest of this slice is to's */
		return;
	}
	next_slice();
}

void sched_env_gone(struct env *e)
{
	slots_free(&slot_vector, e->id, ~0ull);
}

/* Whether some slot's owner could run, forfeits aside. */
static bool any_can_run(void)
{
	for (unsigned s = 0; s < EXO_NSLOTS; s++) {
		struct env *owner = env_lookup(slot_vector.owner[s]);

		if (owner && runner_for(owner))
			return true;
	}
	return false;
}

/* Nothing to run now: exit if nothing ever will, else wait a slice. */
static void idle(void)
{
	if (env_all_dead())
		exo_exit(env_boot_exit_code());
	if (!any_can_run()) {
		kprintf("exo: no env can run: none that is left holds a slot\n");
		exo_exit(EXO_EXIT_STUCK);
	}
	timer_oneshot_us(sched_params.slice_us);
	sti();
	hlt();
	cli();
}

struct trapframe *sched_resume(void)
{
	for (;;) {
		struct env *e = curenv;

		if (!e || e->state != EXO_ENV_STATE_RUNNABLE) {
			struct env *owner = env_lookup(slice_owner);

			e = owner ? runner_for(owner) : NULL;
			if (!e) {
				next_slice();
				e = curenv;
			}
		}
		if (!e) {
			idle();
			continue;
		}
		curenv = e;
		upcall_deliver_pending(e);
		if (e->state != EXO_ENV_STATE_RUNNABLE)
			continue; /* killed delivering it */
		env_switch_to(e);
		return &e->tf;
	}
}

_Noreturn void sched_start(void)
{
	timer_take_over(sched_timer);
	next_slice();
	trap_return(sched_resume());
}

/* (env, count, flags) -> slot of a SLOTS capability */
SYSCALL_HANDLER(sys_slot_alloc)
{
	struct cap c = {.type = EXO_CAP_TIMESLOTS,
			.rights = EXO_R_FREE | EXO_R_GRANT};
	struct env *target;
	uint64_t mask;
	int slot, err = sys_env_cap(e, a[0], EXO_R_CONTROL, &target);

	if (err)
		return err;
	if (a[1] == 0 || a[1] > EXO_NSLOTS || (a[2] & ~EXO_SLOT_CONTIGUOUS))
		return -E_INVAL;
	if ((err = quota_charge(&target->slots, a[1])))
		return err;
	err = slots_alloc(&slot_vector, target->id, (unsigned)a[1],
			  a[2] & EXO_SLOT_CONTIGUOUS, &mask);
	if (err) {
		quota_uncharge(&target->slots, a[1]);
		return err;
	}
	c.base = mask;
	c.object = target->id;
	slot = captab_insert(&e->caps, EXO_SLOT_ANY, &c);
	if (slot < 0) {
		slots_free(&slot_vector, target->id, mask);
		quota_uncharge(&target->slots, a[1]);
		return slot;
	}
	env_uenv(target)->slice.slots_mask =
	    slots_owned(&slot_vector, target->id);
	return slot;
}

/* Give back the slots in mask that owner holds. */
static void free_slots(struct env *owner, uint64_t mask)
{
	unsigned n = slots_free(&slot_vector, owner->id, mask);

	quota_uncharge(&owner->slots, n);
	env_uenv(owner)->slice.slots_mask =
	    slots_owned(&slot_vector, owner->id);
}

/* (slot) -> 0 */
SYSCALL_HANDLER(sys_slot_free)
{
	struct cap *c;
	struct env *owner;
	int err = sys_cap(e, a[0], EXO_CAP_TIMESLOTS, EXO_R_FREE, &c);

	if (err)
		return err;
	owner = env_lookup((exo_envid_t)c->object);
	if (owner) {
		free_slots(owner, c->base);
		revoke_progress(owner);
	}
	captab_drop(&e->caps, (int64_t)a[0]);
	return 0;
}

/* (envid or EXO_ENV_NONE) -> 0 once the caller runs again */
SYSCALL_HANDLER(sys_yield)
{
	struct env *to = NULL;

	if (a[0] != EXO_ENV_NONE && !(to = env_lookup((exo_envid_t)a[0])))
		return -E_NOENT;
	e->tf.rax = 0;
	sched_yield(e, to);
	return 0;
}

/* Take slots back by force (revoke.c): the highest-numbered first. */
uint64_t sched_take_slots(struct env *e, unsigned n)
{
	uint64_t mask = slots_highest(slots_owned(&slot_vector, e->id), n);

	free_slots(e, mask);
	return mask;
}
