/*
 * adv_envs.c: an adversary that fills the kernel's env table.  Owned by
 * the adversarial boot tests (tests/boot/adversarial.sh), which run it as
 * `run=adv_envs,good,adv_nohandler`: adv_nohandler is killed at once, and
 * the kernel's exit status must still say so (5) at the end.
 *
 * The table (NENV entries) is shared by all envs and no quota limits how
 * much of it one env takes: with one small child after another it fills
 * every free entry, and then the kernel hands out the entries of dead
 * envs, the killed adv_nohandler's included.  Each env_create must
 * succeed or fail with E_NOMEM, the kernel must stay up and good must
 * finish untouched; the record of adv_nohandler's death must survive (the
 * exit status).  Then it kills one child, keeps the capability, and
 * makes another that reuses the entry: the old capability must name
 * nothing (the envid's generation changed), so it can neither read nor
 * kill the new child.  Exits 0 when its own checks passed; its children
 * die with it.
 */
#include "libos.h"

#define CHILD_FRAMES 8
#define TRIES 80 /* more than the table holds */

int main(void)
{
	struct exo_env_status st;
	struct exo_sysinfo info;
	long kids[TRIES];
	long r = 0, first = -1, x, y;
	exo_envid_t x_id, y_id;
	unsigned made = 0;

	tap_plan(8);
	/* Let adv_nohandler run (and die) first. */
	for (int i = 0; i < 8; i++)
		sys_yield(EXO_ENV_NONE);
	for (unsigned i = 0; i < TRIES; i++) {
		r = sys_env_create(CHILD_FRAMES, 0);
		if (r < 0)
			break;
		if (first < 0)
			first = r;
		kids[made++] = r;
	}
	tap_ok(r == -E_NOMEM, "env_create until the table is full: %u made, "
			      "then %ld",
	       made, r);
	tap_ok(made > 0 && made < TRIES, "the table is finite: %u children",
	       made);
	r = sys_env_status(first, &st);
	tap_ok(r == 0 && st.state == EXO_ENV_STATE_CREATED,
	       "its first child is there: state %u", st.state);
	r = sys_sysinfo(&info);
	tap_ok(r == 0 && info.self == libos_uenv->id,
	       "the kernel still answers");
	if (made == 0)
		return tap_done();

	/* A stale ENV capability after its entry is reused. */
	x = kids[made - 1];
	r = sys_env_status(x, &st);
	x_id = st.id;
	r = r ? r : sys_env_kill(x);
	tap_ok(r == 0, "killed its last child (env %u): %ld", x_id, r);
	y = sys_env_create(CHILD_FRAMES, 0);
	r = sys_env_status(y, &st);
	y_id = st.id;
	tap_ok(y > 0 && r == 0 && EXO_ENV_INDEX(y_id) == EXO_ENV_INDEX(x_id) &&
		   y_id != x_id,
	       "a new child reuses its entry under a new id: %u (was %u)",
	       y_id, x_id);
	r = sys_env_status(x, &st);
	tap_ok(r == -E_NOENT, "the old capability reads nothing: %ld "
			      "(id %u)",
	       r, r == 0 ? st.id : 0);
	r = sys_env_kill(x);
	tap_ok(r == -E_NOENT && sys_env_status(y, &st) == 0 &&
		   st.state == EXO_ENV_STATE_CREATED,
	       "the old capability kills nothing: %ld; the new child lives",
	       r);
	return tap_done();
}
