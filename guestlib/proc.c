/*
 * proc.c: this process's children: the table of forked ones, and waiting
 * for any child (forked or spawned) to end.  A child's exit code comes
 * from the kernel (SYS_ENV_STATUS); waiting donates our time to a child
 * still running, so one with no time slices of its own still finishes.
 * Reaping a forked child frees what it had of ours: its private pages,
 * our copy of its slices, and the frames only it could still map.
 */
#include "runtime.h"

static struct proc_entry procs[VM_CHILDREN_MAX];

struct proc_entry *proc_add(long env_slot, enum proc_kind kind)
{
	for (unsigned i = 0; i < VM_CHILDREN_MAX; i++) {
		struct proc_entry *p = &procs[i];

		if (p->kind != PROC_FREE)
			continue;
		*p = (struct proc_entry){.env_slot = env_slot, .kind = kind,
					 .bit = i, .private_slot = -1,
					 .slices_slot = -1};
		return p;
	}
	return NULL;
}

/* The child is dead: give back what it held of ours, forget it. */
static void reap(struct proc_entry *p)
{
	if (p->private_slot >= 0)
		sys_frame_free(p->private_slot, 0, EXO_FRAME_REST);
	if (p->slices_slot >= 0)
		sys_cap_drop(p->slices_slot);
	vmf_child_gone(p->bit);
	sys_cap_drop(p->env_slot);
	*p = (struct proc_entry){0};
}

void proc_forget(struct proc_entry *p)
{
	sys_env_kill(p->env_slot);
	reap(p);
}

void proc_fork_child(void)
{
	memset(procs, 0, sizeof(procs));
}

static struct proc_entry *entry_of(long env_slot)
{
	for (unsigned i = 0; i < VM_CHILDREN_MAX; i++)
		if (procs[i].kind != PROC_FREE && procs[i].env_slot == env_slot)
			return &procs[i];
	return NULL;
}

/*
 * Whether the child in env_slot has ended: its status in *code; else its
 * envid in *id, to donate to.  -E_* if the slot names no child.
 */
static long ended(long env_slot, int *code, exo_envid_t *id)
{
	struct exo_env_status s;
	long err = sys_env_status(env_slot, &s);

	if (err)
		return err;
	*code = (int)s.exit_code;
	*id = s.id;
	return s.state == EXO_ENV_STATE_DEAD;
}

/* Reap the dead child id: the table's if forked, the loader's if
 * spawned; then the pipe rings it may have held. */
static void reap_slot(long env_slot, exo_envid_t id)
{
	struct proc_entry *p = entry_of(env_slot);

	if (p) {
		reap(p);
	} else {
		libos_spawn_free(env_slot);
		sys_cap_drop(env_slot);
	}
	pipe_env_gone(id);
}

/*
 * 1 if the child in slot ended (reaped; its code in *status), 0 if it
 * still runs (its envid in *donate, if none yet), or -E_*.
 */
static long poll_child(long slot, int *status, exo_envid_t *donate)
{
	exo_envid_t id = EXO_ENV_NONE;
	int code = 0;
	long done = ended(slot, &code, &id);

	if (done == 0 && *donate == EXO_ENV_NONE)
		*donate = id;
	if (done <= 0)
		return done;
	reap_slot(slot, id);
	if (status)
		*status = code;
	return 1;
}

long libos_wait(long child, int *status)
{
	for (;;) {
		exo_envid_t donate = EXO_ENV_NONE;
		bool any = child != LIBOS_WAIT_ANY;
		long done;

		if (child != LIBOS_WAIT_ANY) {
			if ((done = poll_child(child, status, &donate)))
				return done < 0 ? done : child;
		}
		for (unsigned i = 0; child == LIBOS_WAIT_ANY && i < VM_CHILDREN_MAX;
		     i++) {
			long slot = procs[i].env_slot;

			if (procs[i].kind == PROC_FREE)
				continue;
			any = true;
			if ((done = poll_child(slot, status, &donate)))
				return done < 0 ? done : slot;
		}
		if (!any)
			return -E_NOENT;
		sys_yield(donate);
	}
}
