/*
 * t_revoke.c: guest tests of visible revocation as a parent drives it:
 * SYS_ENV_SET_QUOTA lowering a child's frame quota below what it holds.
 * A child that gives frames back in its revocation upcall keeps the
 * rest and sees no repossession; one that ignores the request has, past
 * the deadline, non-vital frames taken (never its vital frame, nor the
 * runtime's stacks, which libos marks vital), a repossession upcall, and
 * lives on; one that could pay only with vital frames is killed.  The
 * children are t_child in CHILD_REVOKE mode, asked through PCT.
 */
#include "t_util.h"

#define CHILD_QUOTA 64
#define TAKEN 2		/* frames asked back each time */
#define RAISE 10	/* a raise: no revocation */
#define WAIT_MS 5000	/* longest wait for the kernel to act */
#define GRACE_WAIT_MS 300 /* well past the grace (50 ms by default) */
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

int main(void)
{
	struct exo_sysinfo si;

	tap_plan(10);
	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	ignored();
	cooperates();
	return tap_done();
}
