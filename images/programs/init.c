/*
 * init.c: the first program, as on Unix: it starts the initrd programs
 * its boot arguments name (`run=init -- hello t_fork`), waits for them,
 * reports how each ended, and exits 0 if every one exited with code 0,
 * else 1 (LIBOS_EXIT_FAILURE).  With no arguments it says so and fails.
 *
 * The programs run at once, as a user expects of init.  Sharing:
 *  - Frames.  libos_spawn loads a child's image and stack into frames of
 *    ours (spawn.c), so what is left to share is known only once every
 *    image is in.  So each child is first spawned stopped with
 *    LOAD_FRAMES (its page tables and uenv page while it is loaded), then
 *    every child's quota is raised to an equal share of what we have
 *    left, and then all are started.  We keep nothing back: waiting and
 *    freeing children needs no frame.  A child that ends gives its share
 *    back to us, not to the others.
 *  - Time slices.  Each child gets an equal share of ours (counted over
 *    the names given), and we keep one.  With fewer to spare than
 *    children, none gets any, and they run on the time we donate while
 *    we wait, in turn.
 * At most LIBOS_SPAWN_MAX programs; the rest are refused.
 *
 * The console lines, each starting "init: ":
 *   init: starting NAME (F frames, S slices)
 *   init: NAME exited with code C          as each ends, in that order
 *   init: NAME was killed
 *   init: NAME: no such program in the initrd          (a failure)
 *   init: NAME: cannot start it (error -E)             (a failure)
 *   init: NAME: not started, more than N programs      (a failure)
 *   init: no programs to run (name them after -- on the kernel command line)
 *   init: F of N programs failed           last
 */
#include "libos.h"

/* A child's quota while it is loaded: its tables and uenv page. */
#define LOAD_FRAMES 32
#define KEEP_SLICES 1 /* ours, to wait with */

struct prog {
	const char *name;
	long slot; /* its ENV capability; 0: not running (any more) */
	exo_envid_t id;
};

static struct prog progs[LIBOS_SPAWN_MAX];
static unsigned nprogs, failed;

/* Slices each of n children gets: an equal share, less the ones we keep. */
static unsigned slices_each(unsigned n)
{
	unsigned mine = 0;

	/* (No __builtin_popcount: programs do not link libgcc.) */
	for (uint64_t m = libos_uenv->slice.slots_mask; m; m &= m - 1)
		mine++;
	return mine > KEEP_SLICES ? (mine - KEEP_SLICES) / n : 0;
}

static void refuse(const char *name, long err)
{
	if (err == -E_NOENT)
		libos_printf("init: %s: no such program in the initrd\n", name);
	else
		libos_printf("init: %s: cannot start it (error %ld)\n", name,
			     err);
	failed++;
}

/* Load every program named, stopped; the ones that loaded go in progs. */
static void load_all(unsigned slices)
{
	for (int i = 0; i < libos_argc(); i++) {
		const char *name = libos_argv(i);
		long slot;

		if (nprogs == LIBOS_SPAWN_MAX) {
			libos_printf("init: %s: not started, more than %d "
				     "programs\n",
				     name, LIBOS_SPAWN_MAX);
			failed++;
			continue;
		}
		slot = libos_spawn_stopped(name, LOAD_FRAMES, slices);
		if (slot < 0)
			refuse(name, slot);
		else
			progs[nprogs++] = (struct prog){name, slot, 0};
	}
}

/* Frames each loaded child gets: an equal share of what we have left. */
static uint64_t frames_each(void)
{
	struct exo_env_status me;
	uint64_t held;

	if (sys_env_status(EXO_SLOT_SELF, &me) != E_OK)
		return LOAD_FRAMES;
	held = me.frames_used + me.frames_granted;
	return LOAD_FRAMES +
	       (held < me.frame_quota ? (me.frame_quota - held) / nprogs : 0);
}

/* Raise a loaded child's quota to its share and start it; 0 or -E_*. */
static long start(struct prog *p, uint64_t frames, unsigned slices)
{
	struct exo_env_status st;
	long err = sys_env_set_quota(p->slot, frames, slices);

	if (!err)
		err = sys_env_status(p->slot, &st);
	if (err)
		return err;
	p->id = st.id;
	libos_printf("init: starting %s (%lu frames, %u slices)\n", p->name,
		     frames, slices);
	return sys_env_start(p->slot);
}

/* Start every loaded child; the ones that fail are freed and reported. */
static unsigned start_all(unsigned slices)
{
	uint64_t frames = nprogs ? frames_each() : 0;
	unsigned started = 0;

	for (unsigned i = 0; i < nprogs; i++) {
		long err = start(&progs[i], frames, slices);

		if (!err) {
			started++;
			continue;
		}
		libos_spawn_free(progs[i].slot);
		sys_cap_drop(progs[i].slot);
		progs[i].slot = 0;
		refuse(progs[i].name, err);
	}
	return started;
}

/* If progs[i] has ended: collect it, report it, and return true. */
static bool collect(unsigned i)
{
	struct exo_env_status st;
	int code;

	if (sys_env_status(progs[i].slot, &st) != E_OK ||
	    st.state != EXO_ENV_STATE_DEAD)
		return false;
	/* At once, the child being dead: frees its frames and its slot. */
	libos_wait(progs[i].slot, NULL);
	code = (int)st.exit_code;
	if (code == EXO_ENV_KILLED)
		libos_printf("init: %s was killed\n", progs[i].name);
	else
		libos_printf("init: %s exited with code %d\n", progs[i].name,
			     code);
	failed += code != 0;
	progs[i].slot = 0;
	return true;
}

/*
 * Report each child as it ends.  Meanwhile donate our time to the
 * running ones in turn, so that those with no slices of their own run
 * too, and none waits on another.
 */
static void wait_all(unsigned running)
{
	unsigned turn = 0;

	while (running) {
		exo_envid_t donate = EXO_ENV_NONE;

		for (unsigned k = 0; k < nprogs; k++) {
			unsigned i = (turn + k) % nprogs;

			if (!progs[i].slot)
				continue;
			if (collect(i))
				running--;
			else if (donate == EXO_ENV_NONE)
				donate = progs[i].id;
		}
		turn++;
		if (running)
			sys_yield(donate);
	}
}

int main(void)
{
	unsigned named = (unsigned)libos_argc();
	unsigned slices;

	if (!named) {
		libos_puts("init: no programs to run (name them after -- on "
			   "the kernel command line)\n");
		return LIBOS_EXIT_FAILURE;
	}
	slices = slices_each(named < LIBOS_SPAWN_MAX ? named : LIBOS_SPAWN_MAX);
	load_all(slices);
	wait_all(start_all(slices));
	libos_printf("init: %u of %u programs failed\n", failed, named);
	return failed ? LIBOS_EXIT_FAILURE : LIBOS_EXIT_SUCCESS;
}
