/*
 * revoke.c: visible revocation and the abort protocol.  When an env's
 * quota drops below what it holds, the kernel writes a request into its
 * uenv (how much to give back, by when) and raises its revocation upcall:
 * the env chooses which frames or slots to return.  Past the deadline the
 * kernel takes what is still owed itself (non-vital data frames first,
 * the highest slots), lists what it took in the uenv's repossession
 * vector and raises the repossession upcall.  An env that could only pay
 * with vital frames or page tables is killed.
 */
#include "chunks.h"
#include "frames.h"
#include "kern.h"
#include "revoke.h"
#include "sched.h"
#include "timer.h"
#include "x86.h"

/* The earliest outstanding deadline (UINT64_MAX: none), so the check at
 * every slice start costs one comparison. */
static uint64_t next_deadline_tsc = UINT64_MAX;

uint64_t revoke_requests;

/* Write what e still owes into its uenv; false if it owes nothing. */
static bool write_owed(struct env *e)
{
	struct exo_uenv *u = env_uenv(e);
	uint64_t lo = 0, hi = 0;

	u->revoke.frames_over = quota_over(&e->frames);
	u->revoke.slots_over = quota_over(&e->slots);
	u->revoke.withdraw_frames = e->withdraw_held;
	if (!e->withdraw_held || !chunks_withdraw_range(&lo, &hi))
		lo = hi = 0;
	u->revoke.withdraw_lo = lo;
	u->revoke.withdraw_hi = hi;
	return u->revoke.frames_over || u->revoke.slots_over ||
	       u->revoke.withdraw_frames;
}

/*
 * A request while one is outstanding updates what is owed but keeps the
 * deadline: asking again must not buy an env more time.
 */
void revoke_request(struct env *e)
{
	struct exo_uenv *u = env_uenv(e);

	if (!write_owed(e)) {
		e->revoking = false;
		return;
	}
	u->revoke.frame_quota = e->frames.limit;
	u->revoke.slot_quota = e->slots.limit;
	if (!e->revoking) {
		e->revoke_deadline_tsc =
		    sched_deadline(sched_params.revoke_grace_us);
		e->revoke_parked_ns = chunks_parked_ns();
		if (e->revoke_deadline_tsc < next_deadline_tsc)
			next_deadline_tsc = e->revoke_deadline_tsc;
		u->revoke.deadline_tsc = e->revoke_deadline_tsc;
	}
	u->revoke.seq++;
	revoke_requests++;
	e->revoking = true;
	e->pending |= PENDING(EXO_UPCALL_REVOKE);
}

void revoke_progress(struct env *e)
{
	if (e->revoking && !write_owed(e))
		e->revoking = false;
}

/* Take what e still owes; false if it was killed for it. */
static bool repossess(struct env *e)
{
	struct exo_uenv *u = env_uenv(e);
	uint64_t over = quota_over(&e->frames);
	/* frames_repossess takes those in leaving chunks first: this many
	 * covers both debts. */
	uint64_t frames_owed = over > e->withdraw_held ? over : e->withdraw_held;
	uint64_t slots_owed = quota_over(&e->slots);
	uint64_t taken;

	frames_reposs_begin(e);
	taken = frames_owed ? frames_repossess(e, frames_owed) : 0;
	u->reposs.slots_mask =
	    slots_owed ? sched_take_slots(e, (unsigned)slots_owed) : 0;
	kprintf("exo: env %u (%s): deadline passed, repossessed %lu frames "
		"and %u slots\n",
		e->id, e->name, taken, slots_count(u->reposs.slots_mask));
	if (quota_over(&e->frames) || quota_over(&e->slots)) {
		env_kill(e, "it could give back only vital frames, page tables "
			    "or its children's quotas");
		return false;
	}
	frames_reposs_end(e);
	revoke_progress(e);
	return true;
}

/*
 * e's deadline, later by the time exovmm has kept the vCPU parked since
 * the request: the grace is time for the env to run, and a host sharing
 * its CPUs among many instances must not spend it.  (uenv.revoke's
 * deadline_tsc is the earliest it can be.)
 */
static uint64_t deadline_of(const struct env *e)
{
	uint64_t parked_us =
	    (chunks_parked_ns() - e->revoke_parked_ns) / NS_PER_US;

	return e->revoke_deadline_tsc + timer_us_to_tsc(parked_us);
}

void revoke_enforce_deadlines(void)
{
	uint64_t now = rdtsc();

	if (now < next_deadline_tsc)
		return;
	next_deadline_tsc = UINT64_MAX;
	for (unsigned i = 0; i < NENV; i++) {
		struct env *e = &envs[i];
		uint64_t deadline;

		if (!e->revoking || !env_lookup(e->id))
			continue;
		deadline = deadline_of(e);
		if (now >= deadline)
			repossess(e);
		else if (deadline < next_deadline_tsc)
			next_deadline_tsc = deadline;
	}
}
