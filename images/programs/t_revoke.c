/*
 * t_revoke.c: guest tests of visible revocation as a parent drives it:
 * SYS_ENV_SET_QUOTA lowering a child's frame quota below what it holds.
 * A child that gives frames back in its revocation upcall keeps the
 * rest and sees no repossession; one that ignores the request has, past
 * the deadline, non-vital frames taken (never its vital frame, nor the
 * runtime's stacks, which libos marks vital), a repossession upcall, and
 * lives on; one that could pay only with vital frames is killed.  The
 * children are t_child in CHILD_REVOKE mode, asked through PCT.
 *
 * The cascade: a middle child (a copy of this program, see middle())
 * that granted its room to a grandchild and ignores requests is not
 * killed at its deadline; the grandchild's quota is cut instead, its
 * unused room first (no request, nothing taken), then its holdings (a
 * request of its own, and past its own deadline, repossession).
 */
#include "t_util.h"

#define CHILD_QUOTA 64
#define TAKEN 2		/* frames asked back each time */
#define RAISE 10	/* a raise: no revocation */
#define WAIT_MS 5000	/* longest wait for the kernel to act */
#define GRACE_WAIT_MS 300 /* well past the grace (50 ms by default) */
#define MIDDLE_QUOTA 128 /* the cascade's middle child's frames */
#define LIVE_VITAL 1ull
#define LIVE(n) ((uint64_t)(n) << T_REVOKE_LIVE_SHIFT | LIVE_VITAL)

static uint64_t tsc_khz;

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* The child's SERVE_REVOKE_STATE; out zeroed if the call fails. */
static long state(long pct, uint64_t out[LIBOS_PCT_WORDS])
{
	const uint64_t in[LIBOS_PCT_WORDS] = {SERVE_REVOKE_STATE};
	long err = sys_pct_call(pct, in, out);

	if (err != E_OK)
		memset(out, 0, LIBOS_PCT_WORDS * sizeof(out[0]));
	return err;
}

/*
 * Donate to the child (so it takes its upcalls) for up to ms of TSC time,
 * until done(pct) says so; returns done's last answer.
 */
static bool donate_until(long c, long pct, unsigned ms,
			 bool (*done)(long c, long pct))
{
	exo_envid_t id = t_env_id(c);
	uint64_t t0 = rdtsc();
	bool ok = false;

	while (!(ok = done && done(c, pct)) && rdtsc() - t0 < ms * tsc_khz)
		sys_yield(id);
	return ok;
}

static bool repossessed(long c, long pct)
{
	uint64_t out[LIBOS_PCT_WORDS];

	(void)c;
	return state(pct, out) == E_OK && out[3] > 0;
}

/* Both upcalls seen: on a loaded host the deadline can pass before the
 * child first runs, and the repossession upcall goes first (it is the more
 * urgent), so the revocation upcall may come only after it. */
static bool revoked(long c, long pct)
{
	uint64_t out[LIBOS_PCT_WORDS];

	(void)c;
	return state(pct, out) == E_OK && out[2] > 0;
}

static bool dead(long c, long pct)
{
	(void)pct;
	return t_env_state(c) == EXO_ENV_STATE_DEAD;
}

static void ignored(void)
{
	uint64_t s0[LIBOS_PCT_WORDS], s1[LIBOS_PCT_WORDS];
	struct exo_env_status st;
	long pct, c = t_server(CHILD_REVOKE, 0, CHILD_QUOTA, -1, &pct);

	long err = c > 0 && pct > 0 ? state(pct, s0) : -E_NOENT;

	tap_ok(err == E_OK && s0[1] == LIVE(T_REVOKE_FRAMES) && s0[2] == 0 &&
		   s0[3] == 0,
	       "a child holding %u frames and a vital one (%lu used)",
	       T_REVOKE_FRAMES, s0[0]);
	tap_ok(sys_env_set_quota(c, s0[0] - TAKEN, 0) == E_OK,
	       "set_quota below what it holds");
	tap_ok(donate_until(c, pct, WAIT_MS, repossessed),
	       "it ignores the request: past the deadline the kernel takes "
	       "frames and says so (repossession upcall)");
	donate_until(c, pct, WAIT_MS, revoked);
	state(pct, s1);
	tap_ok(s1[2] > 0, "it was asked too (revocation upcall)");
	tap_ok(s1[0] == s0[0] - TAKEN &&
		   s1[1] == LIVE(T_REVOKE_FRAMES - TAKEN),
	       "exactly %u non-vital frames went; the vital one stayed",
	       TAKEN);
	tap_ok(sys_env_status(c, &st) == E_OK &&
		   st.state == EXO_ENV_STATE_RUNNABLE &&
		   st.frame_quota == s0[0] - TAKEN,
	       "it lives on (its upcall and PCT stacks, vital, were kept)");

	/* More than its non-vital frames: only vital ones could pay. */
	tap_ok(sys_env_set_quota(c, s1[0] - (T_REVOKE_FRAMES - TAKEN) - 1, 0) ==
			   E_OK &&
		   donate_until(c, pct, WAIT_MS, dead) &&
		   sys_env_status(c, &st) == E_OK &&
		   st.exit_code == EXO_ENV_KILLED,
	       "asked for more than its non-vital frames: killed");
	libos_spawn_free(c);
	sys_cap_drop(c);
	sys_cap_drop(pct);
}

static void cooperates(void)
{
	uint64_t s0[LIBOS_PCT_WORDS], s1[LIBOS_PCT_WORDS];
	long pct, c = t_server(CHILD_REVOKE, T_REVOKE_COOPERATE, CHILD_QUOTA,
			       -1, &pct);

	tap_ok(c > 0 && pct > 0 && state(pct, s0) == E_OK &&
		   sys_env_set_quota(c, s0[0] - TAKEN, 0) == E_OK,
	       "a child that gives frames back is asked for %u", TAKEN);
	donate_until(c, pct, GRACE_WAIT_MS, NULL);
	state(pct, s1);
	tap_ok(s1[2] > 0 && s1[3] == 0 && s1[0] == s0[0] - TAKEN &&
		   s1[1] == LIVE(T_REVOKE_FRAMES - TAKEN),
	       "it gave them back in its upcall: nothing repossessed");
	tap_ok(sys_env_set_quota(c, s0[0] + RAISE, 0) == E_OK &&
		   state(pct, s1) == E_OK && s1[2] == 1,
	       "a raise asks for nothing");
	libos_spawn_free(c);
	sys_cap_drop(c);
	sys_cap_drop(pct);
}

/* ---- The cascade ----------------------------------------------------------
 * We spawn a copy of this program as the middle child M and grant it an
 * ENV capability to us, which is how it knows it is the middle (main).
 * M spawns the grandchild G (t_child, CHILD_REVOKE, ignoring requests),
 * raises G's quota by all of its own room, hands us ENV and PCT
 * capabilities to G, and never answers a request (it sets no revocation
 * handler).  So lowering M's quota leaves it over only by what it
 * granted G, and its own frames (page tables, its uenv and G's image)
 * are none the kernel may repossess.
 */

static struct {
	long m, g, gpct;  /* our capabilities to M and G, G's PCT entry */
	uint64_t g_limit; /* what M's deadline is to cut G's quota to */
} tree;

/* What an env within its quota can still take or grant. */
static uint64_t room(const struct exo_env_status *st)
{
	return st->frame_quota - st->frames_used - st->frames_granted;
}

static _Noreturn void middle(long parent)
{
	struct exo_env_status st;
	long pct, g = t_server(CHILD_REVOKE, 0, CHILD_QUOTA, -1, &pct);

	if (g < 0 || pct < 0 || sys_env_status(EXO_SLOT_SELF, &st) != E_OK ||
	    sys_env_set_quota(g, CHILD_QUOTA + room(&st), 0) != E_OK ||
	    sys_cap_grant(g, parent, 0, EXO_SLOT_ANY) < 0 ||
	    sys_cap_grant(pct, parent, EXO_R_CALL, EXO_SLOT_ANY) < 0)
		libos_exit(CHILD_EXIT_UNEXPECTED);
	for (;;)
		sys_yield(EXO_ENV_NONE);
}

/* Our ENV capability to a live child of env id, or -1. */
static long child_of(exo_envid_t id)
{
	for (long s = 0; s < EXO_CAP_SLOTS; s++) {
		struct exo_cap_info ci;
		struct exo_env_status st;

		if (sys_cap_info(s, &ci) == E_OK && ci.type == EXO_CAP_ENV &&
		    sys_env_status(s, &st) == E_OK && st.parent == id &&
		    st.state != EXO_ENV_STATE_DEAD)
			return s;
	}
	return -1;
}

/* Start M and donate to it until it hands us G's capabilities. */
static bool make_tree(void)
{
	exo_envid_t id;

	tree.g = tree.gpct = -1;
	tree.m = libos_spawn_stopped("t_revoke", MIDDLE_QUOTA, 0);
	if (tree.m < 0 ||
	    sys_cap_grant(EXO_SLOT_SELF, tree.m, 0, EXO_SLOT_ANY) < 0 ||
	    sys_env_start(tree.m) != E_OK)
		return false;
	id = t_env_id(tree.m);
	for (unsigned i = 0; i < T_WAIT_TRIES && tree.gpct < 0; i++) {
		if ((tree.g = child_of(id)) >= 0)
			tree.gpct =
			    t_find_cap(0, EXO_CAP_PCT, t_env_id(tree.g));
		if (tree.gpct < 0)
			sys_yield(id);
	}
	return tree.gpct >= 0;
}

/* G's quota is down to tree.g_limit (or G is gone): M's deadline passed. */
static bool g_cut(long c, long pct)
{
	struct exo_env_status st;

	(void)pct;
	return sys_env_status(c, &st) != E_OK ||
	       st.state == EXO_ENV_STATE_DEAD || st.frame_quota <= tree.g_limit;
}

/* M lives, holds what it held, and is within its quota of frame_quota. */
static bool middle_whole(uint64_t frame_quota, uint64_t used)
{
	struct exo_env_status st;

	return sys_env_status(tree.m, &st) == E_OK &&
	       st.state == EXO_ENV_STATE_RUNNABLE &&
	       st.frame_quota == frame_quota && st.frames_used == used &&
	       st.frames_used + st.frames_granted == frame_quota;
}

/* Our own accounting: we grant M's quota, as we set it (M lives), and
 * are within ours. */
static bool parent_whole(uint64_t m_quota)
{
	struct exo_env_status me, m;

	return sys_env_status(EXO_SLOT_SELF, &me) == E_OK &&
	       sys_env_status(tree.m, &m) == E_OK &&
	       m.frame_quota == m_quota && me.frames_granted == m_quota &&
	       me.frames_used + me.frames_granted <= me.frame_quota;
}

/* M's quota is lowered by less than G's unused room: that pays it all. */
static void room_first(const struct exo_env_status *m0,
		       const struct exo_env_status *g0, uint64_t cut)
{
	uint64_t s[LIBOS_PCT_WORDS];
	struct exo_env_status g;

	tap_ok(sys_env_set_quota(tree.m, m0->frame_quota - cut, 0) == E_OK,
	       "lower the middle child's quota by %lu, less than the "
	       "grandchild's unused room",
	       cut);
	tree.g_limit = g0->frame_quota - cut;
	donate_until(tree.g, tree.gpct, WAIT_MS, g_cut);
	tap_ok(middle_whole(m0->frame_quota - cut, m0->frames_used),
	       "at its deadline the middle child is not killed and loses "
	       "none of its own frames");
	tap_ok(sys_env_status(tree.g, &g) == E_OK &&
		   g.frame_quota == g0->frame_quota - cut,
	       "the grandchild's quota paid the debt out of its unused room");
	/* Past a grace of its own, had it been asked. */
	donate_until(tree.g, tree.gpct, GRACE_WAIT_MS, NULL);
	tap_ok(state(tree.gpct, s) == E_OK && s[0] == g0->frames_used &&
		   s[1] == LIVE(T_REVOKE_FRAMES) && s[2] == 0 && s[3] == 0,
	       "the grandchild was not asked and kept all its frames");
	tap_ok(parent_whole(m0->frame_quota - cut),
	       "our own accounting is back to normal");
}

/* M's quota is lowered by G's unused room and TAKEN more: G's holdings. */
static void holdings_next(const struct exo_env_status *m0,
			  const struct exo_env_status *g0)
{
	uint64_t s[LIBOS_PCT_WORDS];
	struct exo_env_status m, g;
	bool ok = sys_env_status(tree.m, &m) == E_OK &&
		  sys_env_status(tree.g, &g) == E_OK;
	uint64_t cut = room(&g) + TAKEN;

	tap_ok(ok && sys_env_set_quota(tree.m, m.frame_quota - cut, 0) == E_OK,
	       "lower it by the grandchild's unused room and %u frames more",
	       TAKEN);
	tree.g_limit = g0->frames_used - TAKEN;
	donate_until(tree.g, tree.gpct, WAIT_MS, g_cut);
	tap_ok(middle_whole(m.frame_quota - cut, m0->frames_used),
	       "at its deadline the middle child is again not killed");
	tap_ok(sys_env_status(tree.g, &g) == E_OK &&
		   g.frame_quota == g0->frames_used - TAKEN,
	       "the grandchild's room went first, then %u of its holdings",
	       TAKEN);
	tap_ok(donate_until(tree.g, tree.gpct, WAIT_MS, repossessed),
	       "the grandchild ignores a request of its own: past its own "
	       "deadline its frames are repossessed");
	donate_until(tree.g, tree.gpct, WAIT_MS, revoked);
	tap_ok(state(tree.gpct, s) == E_OK && s[2] > 0 &&
		   s[0] == g0->frames_used - TAKEN &&
		   s[1] == LIVE(T_REVOKE_FRAMES - TAKEN) &&
		   t_env_state(tree.g) == EXO_ENV_STATE_RUNNABLE,
	       "it was asked, %u non-vital frames went, and it lives on",
	       TAKEN);
	tap_ok(parent_whole(m.frame_quota - cut) &&
		   middle_whole(m.frame_quota - cut, m0->frames_used),
	       "our own accounting and the middle child's are back to "
	       "normal");
}

static void cascade(void)
{
	uint64_t s[LIBOS_PCT_WORDS];
	struct exo_env_status m0 = {0}, g0 = {0};
	bool ok = make_tree() && sys_env_status(tree.m, &m0) == E_OK &&
		  sys_env_status(tree.g, &g0) == E_OK;

	/* Room for two cuts: half of it, then the rest. */
	tap_ok(ok && room(&m0) == 0 && m0.frames_granted == g0.frame_quota &&
		   room(&g0) >= 2 && state(tree.gpct, s) == E_OK &&
		   s[1] == LIVE(T_REVOKE_FRAMES),
	       "a middle child granted all its room to a grandchild holding "
	       "frames (%lu of %lu)",
	       g0.frames_used, g0.frame_quota);
	room_first(&m0, &g0, room(&g0) / 2);
	holdings_next(&m0, &g0);
	if (tree.m > 0) {
		libos_spawn_free(tree.m); /* G ends with it */
		sys_cap_drop(tree.m);
	}
	if (tree.gpct >= 0) {
		sys_cap_drop(tree.g);
		sys_cap_drop(tree.gpct);
	}
}

int main(void)
{
	/* An ENV capability to a parent: we are a cascade's middle child. */
	long parent = t_find_cap(0, EXO_CAP_ENV, libos_uenv->parent);
	struct exo_sysinfo si;

	if (parent >= 0)
		middle(parent);
	tap_plan(22);
	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	ignored();
	cooperates();
	cascade();
	return tap_done();
}
