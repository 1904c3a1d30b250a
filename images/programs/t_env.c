/*
 * t_env.c: guest tests of the env calls: SYS_ENV_CREATE (quotas, limits),
 * SYS_PTE_SET into a child, SYS_ENV_SET_REGS, SYS_ENV_START,
 * SYS_ENV_STATUS, SYS_ENV_KILL, SYS_ENV_SET_QUOTA and SYS_ENV_EXIT as a
 * parent sees them: exit codes, kills, the quota hierarchy (a child's
 * quota comes out of its parent's and goes back when it dies), slices
 * given to children, and fresh envids for reused env table entries.
 * Expects to run as the only boot env (it owns every slice).
 */
#include "t_util.h"

#define CHILD_QUOTA 64	  /* frames for a t_child */
#define RAW_QUOTA 16	  /* frames for a hand-built child */
#define EXIT_CODE 42	  /* what the hand-built child exits with */
#define SPAWN_EXIT_CODE 7 /* what a t_child is told to exit with */
#define QUOTA_SPLIT 10	  /* frames moved between two children */
#define ENV_TABLE_SIZE 64 /* the kernel's env table (NENV) */
/* More create-and-kill rounds than it takes to reuse an entry. */
#define ID_ROUNDS_MAX (2 * ENV_TABLE_SIZE)

static uint64_t frames_free(void)
{
	struct exo_sysinfo info;

	return sys_sysinfo(&info) == E_OK ? info.frames_free : 0;
}

static void create_limits(void)
{
	struct exo_env_status me;
	uint64_t before = frames_free();

	sys_env_status(EXO_SLOT_SELF, &me);
	tap_ok(sys_env_create(me.frame_quota + 1, 0) == -E_NOMEM,
	       "env_create: a frame quota above ours is -E_NOMEM");
	tap_ok(sys_env_create(~0ull, 0) == -E_NOMEM,
	       "env_create: a huge frame quota is -E_NOMEM");
	tap_ok(sys_env_create(RAW_QUOTA, EXO_NSLOTS + 1) == -E_INVAL,
	       "env_create: a slot quota above EXO_NSLOTS is -E_INVAL");
	tap_ok(me.slots_used == me.slot_quota &&
		   sys_env_create(RAW_QUOTA, 1) == -E_NOMEM,
	       "env_create: a slot quota with no slots left is -E_NOMEM");
	tap_ok(sys_env_create(1, 0) == -E_NOMEM,
	       "env_create: one frame cannot hold an env's tables and uenv");
	tap_ok(frames_free() == before, "failed creates leave no frame behind");
}

static void raw_child(void)
{
	struct exo_env_status st, me;
	struct exo_regs bad = {.rip = EXO_USER_MAP_LIMIT};
	uint64_t before = frames_free();
	long frames, weak, c;

	sys_env_status(EXO_SLOT_SELF, &me);
	c = t_raw_child(t_code_exit_rdi, sizeof(t_code_exit_rdi), RAW_QUOTA,
			EXIT_CODE, &frames);
	if (!tap_ok(c > 0, "a child made by hand: create, pte_set, set_regs"))
		return;
	st = (struct exo_env_status){0};
	sys_env_status(c, &st);
	tap_ok(st.state == EXO_ENV_STATE_CREATED && st.parent == me.id &&
		   st.id != me.id && st.frame_quota == RAW_QUOTA &&
		   st.frames_used > 0 && st.frames_used < RAW_QUOTA &&
		   st.slot_quota == 0 && st.slots_used == 0,
	       "status of a created child: state, parent, quotas, tables "
	       "charged to it (%lu frames)",
	       st.frames_used);
	tap_ok(sys_env_set_regs(EXO_SLOT_SELF, &bad) == -E_BUSY,
	       "set_regs on the caller itself is -E_BUSY");
	tap_ok(sys_env_set_regs(c, (const struct exo_regs *)T_UNMAPPED_VA) ==
		   -E_FAULT,
	       "set_regs with unmapped registers is -E_FAULT");
	tap_ok(sys_env_set_regs(c, &bad) == -E_INVAL,
	       "set_regs with rip at EXO_USER_MAP_LIMIT is -E_INVAL");
	weak = sys_cap_derive(c, EXO_R_READ, 0, 0);
	tap_ok(weak > 0 && sys_env_set_regs(weak, &bad) == -E_PERM &&
		   sys_env_start(weak) == -E_PERM &&
		   sys_env_kill(weak) == -E_PERM &&
		   sys_env_set_quota(weak, RAW_QUOTA, 0) == -E_PERM,
	       "set_regs, start, kill, set_quota without the rights: -E_PERM");
	tap_ok(sys_env_start(EXO_SLOT_SELF) == -E_BUSY,
	       "starting the caller itself is -E_BUSY");
	tap_ok(sys_env_start(c) == E_OK && sys_env_start(c) == -E_BUSY &&
		   t_env_state(c) == EXO_ENV_STATE_RUNNABLE,
	       "start makes it runnable; a second start is -E_BUSY");
	tap_ok(t_wait(c) == EXIT_CODE,
	       "its exit code (set through rdi by set_regs) reaches the parent");
	tap_ok(sys_env_status(c, &st) == E_OK &&
		   st.state == EXO_ENV_STATE_DEAD &&
		   st.exit_code == EXIT_CODE && st.frames_used == 0,
	       "a dead child's status: DEAD, its code, no frames");
	tap_ok(sys_env_status(weak, &st) == E_OK &&
		   st.state == EXO_ENV_STATE_DEAD,
	       "a derived ENV cap without rights still reads the status");
	tap_ok(sys_env_start(c) == -E_NOENT && sys_env_kill(c) == -E_NOENT &&
		   sys_env_set_regs(c, &bad) == -E_NOENT &&
		   sys_pte_set(c, NULL, 0) == -E_NOENT,
	       "start, kill, set_regs, pte_set on a dead env: -E_NOENT");
	sys_cap_drop(weak);
	sys_cap_drop(c);
	sys_frame_free(frames, 0, EXO_FRAME_REST);
	tap_ok(frames_free() == before,
	       "every frame of a dead child is free again");
}

static void kill_child(void)
{
	struct exo_env_status st;
	long frames, c = t_raw_child(t_code_spin, sizeof(t_code_spin),
				     RAW_QUOTA, 0, &frames);

	if (!tap_ok(c > 0 && sys_env_start(c) == E_OK, "a spinning child"))
		return;
	sys_yield(t_env_id(c)); /* it spins until the slice ends */
	tap_ok(t_env_state(c) == EXO_ENV_STATE_RUNNABLE,
	       "it ran on donated time and is still runnable");
	tap_ok(sys_env_kill(c) == E_OK && sys_env_status(c, &st) == E_OK &&
		   st.state == EXO_ENV_STATE_DEAD &&
		   st.exit_code == EXO_ENV_KILLED,
	       "env_kill: DEAD with EXO_ENV_KILLED");
	sys_cap_drop(c);
	sys_frame_free(frames, 0, EXO_FRAME_REST);
}

static void quota_tree(void)
{
	struct exo_env_status me, st;
	uint64_t room;
	long a, b, c;

	sys_env_status(EXO_SLOT_SELF, &me);
	room = me.frame_quota - me.frames_used;
	a = sys_env_create(room, 0);
	tap_ok(a > 0, "a child with all our frame room (%lu)", room);
	tap_ok(sys_env_create(1, 0) == -E_NOMEM,
	       "then no room for another child");
	tap_ok(sys_env_set_quota(a, room + 1, 0) == -E_NOMEM,
	       "set_quota above our room is -E_NOMEM");
	tap_ok(sys_env_set_quota(a, room, EXO_NSLOTS + 1) == -E_INVAL,
	       "set_quota with too many slots is -E_INVAL");
	tap_ok(sys_env_set_quota(EXO_SLOT_SELF, room, 0) == -E_PERM,
	       "set_quota on ourselves (no child of ours) is -E_PERM");
	tap_ok(sys_env_set_quota(a, room - QUOTA_SPLIT, 0) == E_OK &&
		   sys_env_status(a, &st) == E_OK &&
		   st.frame_quota == room - QUOTA_SPLIT,
	       "set_quota lowers a child's quota");
	b = sys_env_create(QUOTA_SPLIT, 0);
	tap_ok(b > 0 && sys_env_create(1, 0) == -E_NOMEM,
	       "what it gave back is ours to give again, and no more");
	tap_ok(sys_env_kill(a) == E_OK, "kill the first child");
	c = sys_env_create(room - QUOTA_SPLIT, 0);
	tap_ok(c > 0, "its quota came back to us");
	sys_env_kill(b);
	sys_env_kill(c);
	sys_cap_drop(a);
	sys_cap_drop(b);
	sys_cap_drop(c);
}

static void spawned_children(void)
{
	struct exo_env_status st;
	uint64_t before, mask = libos_uenv->slice.slots_mask;
	long c;

	c = t_child(CHILD_EXIT, SPAWN_EXIT_CODE, CHILD_QUOTA, 0, 0, -1, 0);
	tap_ok(c > 0 && t_wait(c) == SPAWN_EXIT_CODE,
	       "a spawned t_child exits with the code it was told");
	libos_spawn_free(c);
	sys_cap_drop(c);
	/* The loader's initrd window and tables stay: count from here. */
	before = frames_free();

	c = t_child(CHILD_SET_QUOTA_PARENT, 0, CHILD_QUOTA, 0, EXO_R_ALL, -1,
		    0);
	tap_ok(c > 0 && t_wait(c) == E_PERM,
	       "set_quota on its parent (not its child) is -E_PERM");
	libos_spawn_free(c);
	sys_cap_drop(c);

	c = t_child(CHILD_EXIT_RAW, EXO_ENV_EXIT_MAX + 1, CHILD_QUOTA, 0, 0, -1,
		    0);
	tap_ok(c > 0 && t_wait(c) == EXO_ENV_KILLED,
	       "exit with a code above EXO_ENV_EXIT_MAX: killed");
	libos_spawn_free(c);
	sys_cap_drop(c);

	c = t_child(CHILD_NEST, 0, CHILD_QUOTA * 2, 0, 0, -1, 0);
	tap_ok(c > 0 && t_wait(c) == 0,
	       "a child: create above its quota is -E_NOMEM, and it can spawn");
	libos_spawn_free(c);
	sys_cap_drop(c);
	tap_ok(frames_free() == before,
	       "all frames back once the children (and grandchild) are gone");

	/* One slice for a child: the spawner pays with its own highest. */
	c = t_child(CHILD_SPIN, 0, CHILD_QUOTA, 1, 0, -1, 0);
	tap_ok(c > 0 && sys_env_status(c, &st) == E_OK &&
		   st.slot_quota == 1 && st.slots_used == 1,
	       "a child with one slice of its own");
	tap_ok(libos_uenv->slice.slots_mask == (mask & ~(1ull << 63)),
	       "its slice was our highest (mask %lx)",
	       libos_uenv->slice.slots_mask);
	tap_ok(sys_slot_alloc(EXO_SLOT_SELF, 1, 0) == -E_NOMEM,
	       "while it lives that slice is not in our quota");
	libos_spawn_free(c);
	sys_cap_drop(c);
	c = sys_slot_alloc(EXO_SLOT_SELF, 1, 0);
	tap_ok(c > 0 && libos_uenv->slice.slots_mask == mask,
	       "once it is dead we can take the slice back");
	sys_cap_drop(c);
}

static void status_errors(void)
{
	struct exo_env_status st;

	tap_ok(sys_env_status(-1, &st) == -E_BADCAP &&
		   sys_env_status(EXO_CAP_SLOTS, &st) == -E_BADCAP &&
		   sys_env_status(EXO_SLOT_INITRD, &st) == -E_BADCAP,
	       "env_status on a bad slot or a non-ENV cap: -E_BADCAP");
	tap_ok(sys_env_status(EXO_SLOT_SELF,
			      (struct exo_env_status *)T_KERNEL_VA) == -E_FAULT,
	       "env_status into kernel memory: -E_FAULT");
	tap_ok(sys_env_status(EXO_SLOT_SELF, &st) == E_OK &&
		   st.state == EXO_ENV_STATE_RUNNABLE &&
		   st.id == libos_uenv->id && st.parent == EXO_ENV_NONE,
	       "our own status: runnable, our id, no parent (a boot env)");
}

/*
 * Every envid is new: once the env table's free entries are used up,
 * entries of dead envs are reused, and a capability to the dead env must
 * not name the new one.  Run first, while the table is nearly empty, so
 * the first child's entry is reused after about ENV_TABLE_SIZE rounds.
 */
static void fresh_ids(void)
{
	exo_envid_t seen[ID_ROUNDS_MAX];
	unsigned n = 0;
	long first = -1;
	bool unique = true, reused = false;

	while (n < ID_ROUNDS_MAX && !reused) {
		long c = sys_env_create(RAW_QUOTA, 0);
		exo_envid_t id = c > 0 ? t_env_id(c) : EXO_ENV_NONE;

		if (c <= 0) {
			unique = false;
			break;
		}
		for (unsigned j = 0; j < n; j++)
			unique = unique && seen[j] != id;
		reused = n > 0 && EXO_ENV_INDEX(id) == EXO_ENV_INDEX(seen[0]);
		seen[n++] = id;
		sys_env_kill(c);
		if (first < 0)
			first = c; /* kept: the cap to the first dead env */
		else
			sys_cap_drop(c);
	}
	tap_ok(unique && reused,
	       "%u envs in turn until an entry is reused: every envid new", n);
	if (first > 0) {
		struct exo_env_status st;

		tap_ok(reused && sys_env_status(first, &st) == -E_NOENT &&
			       sys_env_kill(first) == -E_NOENT,
		       "a cap to a dead env whose entry was reused names "
		       "nothing");
	}
	sys_cap_drop(first);
}

int main(void)
{
	tap_plan(45);
	t_warm(T_VA(0)); /* t_raw_child's window */
	fresh_ids();
	create_limits();
	raw_child();
	kill_child();
	quota_tree();
	spawned_children();
	status_errors();
	return tap_done();
}
