/*
 * sys_env.c: the env system calls.  An env makes children out of its own
 * quotas, fills their address spaces with pte_set, sets their registers
 * and starts them; loading programs, fork and exec are the library OS's.
 * Quotas form a tree: a child's limits count against its parent's.
 */
#include "revoke.h"
#include "sched.h"
#include "syscall.h"
#include "uvm.h"

#define ENV_CAP_RIGHTS EXO_R_ALL

/* (frame quota, slot quota) -> slot of an ENV capability to the child */
SYSCALL_HANDLER(sys_env_create)
{
	struct cap c = {.type = EXO_CAP_ENV, .rights = ENV_CAP_RIGHTS};
	struct env *child;
	int slot, err;

	if (a[1] > EXO_NSLOTS)
		return -E_INVAL;
	err = env_create(e, a[0], a[1], e->name, &child);
	if (err)
		return err;
	c.object = child->id;
	slot = captab_insert(&e->caps, EXO_SLOT_ANY, &c);
	if (slot < 0)
		env_destroy(child, EXO_ENV_KILLED);
	return slot;
}

/* An env e controls that is not running now. */
static int stopped_env(struct env *e, uint64_t slot, struct env **out)
{
	int err = sys_env_cap(e, slot, EXO_R_CONTROL, out);

	if (err)
		return err;
	return *out == e || (*out)->pct.active ? -E_BUSY : 0;
}

/* (env, regs) -> 0 */
SYSCALL_HANDLER(sys_env_set_regs)
{
	struct exo_regs regs;
	struct env *target;
	int err = stopped_env(e, a[0], &target);

	if (err)
		return err;
	if ((err = copy_from_user(e, &regs, a[1], sizeof(regs))))
		return err;
	return env_set_context(target, &regs) ? 0 : -E_INVAL;
}

/* (env) -> 0 */
SYSCALL_HANDLER(sys_env_start)
{
	struct env *target;
	int err = sys_env_cap(e, a[0], EXO_R_CONTROL, &target);

	if (err)
		return err;
	if (target->state != EXO_ENV_STATE_CREATED)
		return -E_BUSY;
	target->state = EXO_ENV_STATE_RUNNABLE;
	return 0;
}

/* (env) -> 0; killing yourself is exiting with EXO_ENV_KILLED */
SYSCALL_HANDLER(sys_env_kill)
{
	struct env *target;
	int err = sys_env_cap(e, a[0], EXO_R_FREE, &target);

	if (err)
		return err;
	env_kill(target, "by env %u", e->id);
	return target == e ? SYSCALL_NO_RESULT : 0;
}

/* (env, frame quota, slot quota) -> 0; only for the caller's children */
SYSCALL_HANDLER(sys_env_set_quota)
{
	struct env *child;
	uint64_t old_frame_limit;
	int err = sys_env_cap(e, a[0], EXO_R_CONTROL, &child);

	if (err)
		return err;
	if (child->parent != e->id)
		return -E_PERM;
	if (a[2] > EXO_NSLOTS)
		return -E_INVAL;
	old_frame_limit = child->frames.limit;
	if ((err = quota_set_child(&e->frames, &child->frames, a[1])))
		return err;
	if ((err = quota_set_child(&e->slots, &child->slots, a[2]))) {
		quota_set_child(&e->frames, &child->frames, old_frame_limit);
		return err;
	}
	revoke_request(child);
	return 0;
}

/* (env, status) -> 0; dead envs keep their status until the slot is reused */
SYSCALL_HANDLER(sys_env_status)
{
	struct cap *c;
	struct env *t;
	struct exo_env_status st;
	int err = sys_cap(e, a[0], EXO_CAP_ENV, 0, &c);

	if (err)
		return err;
	t = &envs[EXO_ENV_INDEX((exo_envid_t)c->object)];
	if (t->id != (exo_envid_t)c->object)
		return -E_NOENT;
	st = (struct exo_env_status){
	    .state = t->state,
	    .exit_code = t->exit_code,
	    .id = t->id,
	    .parent = t->parent,
	    .frame_quota = t->frames.limit,
	    .frames_used = t->frames.used,
	    .frames_granted = t->frames.granted,
	    .slot_quota = t->slots.limit,
	    .slots_used = t->slots.used,
	};
	return copy_to_user(e, a[1], &st, sizeof(st));
}

/* (code) -> does not return */
SYSCALL_HANDLER(sys_env_exit)
{
	if (a[0] > EXO_ENV_EXIT_MAX)
		env_kill(e, "exit code %lu is above %u", a[0],
			 EXO_ENV_EXIT_MAX);
	else
		env_destroy(e, (uint32_t)a[0]);
	return SYSCALL_NO_RESULT;
}
