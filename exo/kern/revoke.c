/*
 * revoke.c: visible revocation and the abort protocol.  When an env's
 * quota drops below what it holds, the kernel writes a request into its
 * uenv (how much to give back, by when) and raises its revocation upcall:
 * the env chooses which frames or slots to return.  Past the deadline the
 * kernel takes what is still owed itself (non-vital data frames first,
 * the highest slots), lists what it took in the uenv's repossession
 * vector and raises the repossession upcall.  What the env still owes
 * after that is quota it granted its children: the kernel lowers their
 * limits, first their unused room, then what they hold, and each child
 * cut below its holdings gets a request and a deadline of its own, so the
 * cascade goes on down the env tree.  An env that could pay only with
 * its own vital frames or page tables is killed.
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
		e->revoke_stolen_ns = chunks_stolen_ns();
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

/* One kind of resource held under a quota, so that one cascade serves
 * both: frames and slots have the same containers and the same tree. */
struct resource {
	const char *name;
	struct quota *(*of)(struct env *e);
};

static struct quota *frames_of(struct env *e)
{
	return &e->frames;
}

static struct quota *slots_of(struct env *e)
{
	return &e->slots;
}

static const struct resource frames_res = {"frame", frames_of};
static const struct resource slots_res = {"slot", slots_of};

/*
 * Whether what e still owes of r is more than the quota it granted its
 * children: then only its own vital frames or page tables could pay.
 */
static bool beyond_children(struct env *e, const struct resource *r)
{
	const struct quota *q = r->of(e);

	return quota_over(q) > q->granted;
}

/* Lower child c's limit of r by up to most, never by more than e is still
 * over: what e's deadline takes from its children is exactly its debt. */
static void cut(struct env *e, struct env *c, const struct resource *r,
		uint64_t most)
{
	struct quota *q = r->of(e), *cq = r->of(c);
	uint64_t over = quota_over(q), by = over < most ? over : most;

	if (!by)
		return;
	quota_set_child(q, cq, cq->limit - by);
	kprintf("exo: env %u (%s): cut child env %u's %s quota by %lu to "
		"%lu\n",
		e->id, e->name, c->id, r->name, by, cq->limit);
}

/*
 * e's child with the largest limit of r, the first in the table among
 * equals (so the choice is deterministic); NULL if none has any left.
 */
static struct env *largest_child(struct env *e, const struct resource *r)
{
	struct env *best = NULL;

	for (unsigned i = 0; i < NENV; i++) {
		struct env *c = env_child(e, i);

		if (c && r->of(c)->limit > (best ? r->of(best)->limit : 0))
			best = c;
	}
	return best;
}

/*
 * e is over its limit of r only by what it granted its children: lower
 * their limits until it is not.  Their unused room first, from every
 * child: it costs a child nothing.  Then what they hold, the largest
 * child first and as much of it as the debt needs: that disturbs the
 * fewest children (each cut is a request, a deadline and perhaps a
 * cascade below it), and the child with the largest quota is the
 * likeliest to have data frames to give back rather than only vital
 * ones.  A child
 * cut below its holdings owes, and at its own deadline pays the same way.
 */
static void cut_children(struct env *e, const struct resource *r)
{
	struct env *c;

	for (unsigned i = 0; i < NENV; i++)
		if ((c = env_child(e, i)))
			cut(e, c, r, quota_room(r->of(c)));
	while (quota_over(r->of(e)) && (c = largest_child(e, r))) {
		cut(e, c, r, r->of(c)->limit);
		revoke_request(c);
	}
}

/* Take what e still owes: its own frames and slots, then its children's
 * quotas; kill it if only its vital frames or page tables could pay. */
static void repossess(struct env *e)
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
	if (beyond_children(e, &frames_res) || beyond_children(e, &slots_res)) {
		env_kill(e, "it could give back only vital frames or page "
			    "tables");
		return;
	}
	cut_children(e, &frames_res);
	cut_children(e, &slots_res);
	frames_reposs_end(e);
	revoke_progress(e);
}

/*
 * e's deadline, later by the vCPU's stolen time since the request (parked
 * by exovmm, or waiting for a host CPU): the grace is time for the env to
 * run, and a host sharing its CPUs among many instances must not spend
 * it.  (uenv.revoke's deadline_tsc is the earliest it can be.)
 */
static uint64_t deadline_of(const struct env *e)
{
	uint64_t stolen_us =
	    chunks_stolen_since(e->revoke_stolen_ns) / NS_PER_US;

	return e->revoke_deadline_tsc + timer_us_to_tsc(stolen_us);
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
