/*
 * sys_cap.c: the capability system calls.  A capability whose object is
 * gone (freed frames, a dead env) is dead: every call treats its slot as
 * holding nothing.  Derivation rules live in exo/lib/cap.c; here they are
 * applied to the caller's table and to grants into another env's.
 */
#include "frames.h"
#include "syscall.h"
#include "uvm.h"

/* Whether the object c names still exists as c knew it. */
static bool cap_alive(const struct cap *c)
{
	switch (c->type) {
	case EXO_CAP_FRAME:
		return frametab_any_live(&frametab, PA_FRAME(c->base),
					 c->count, c->epoch);
	case EXO_CAP_ENV:
	case EXO_CAP_PCT:
		return env_lookup((exo_envid_t)c->object) != NULL;
	default:
		return true;
	}
}

/* The live capability in slot, of whatever type. */
static int any_cap(struct env *e, uint64_t slot, struct cap **out)
{
	if (slot >= EXO_CAP_SLOTS || e->caps.slot[slot].type == EXO_CAP_NONE ||
	    !cap_alive(&e->caps.slot[slot]))
		return -E_BADCAP;
	*out = &e->caps.slot[slot];
	return 0;
}

SYSCALL_HANDLER(sys_cap_info)
{
	struct exo_cap_info info;
	struct cap *c;
	int err = any_cap(e, a[0], &c);

	if (err)
		return err;
	cap_info(c, &info);
	return copy_to_user(e, a[1], &info, sizeof(info));
}

/* (slot, rights, offset, count) -> new slot in the caller's table */
SYSCALL_HANDLER(sys_cap_derive)
{
	struct cap *src, copy;
	int err = any_cap(e, a[0], &src);

	if (err)
		return err;
	if (a[1] > EXO_R_ALL)
		return -E_INVAL;
	err = cap_derive(src, (unsigned)a[1], a[2], a[3], &copy);
	if (err)
		return err;
	return captab_insert(&e->caps, EXO_SLOT_ANY, &copy);
}

/* The whole range of c, as cap_derive's offset and count. */
static void whole_range(const struct cap *c, uint64_t *offset, uint64_t *count)
{
	*offset = 0;
	*count = 0;
	if (c->type == EXO_CAP_TIMESLOTS)
		*offset = c->base;
	else if (c->type == EXO_CAP_FRAME || c->type == EXO_CAP_INITRD)
		*count = c->count;
}

/* (slot, env, rights, target slot or EXO_SLOT_ANY) -> slot in the
 * target's table */
SYSCALL_HANDLER(sys_cap_grant)
{
	struct cap *src, copy;
	struct env *to;
	uint64_t offset, count;
	int err = any_cap(e, a[0], &src);

	if (err)
		return err;
	if (!(src->rights & EXO_R_GRANT))
		return -E_PERM;
	if ((err = sys_env_cap(e, a[1], 0, &to)))
		return err;
	if (a[2] > EXO_R_ALL)
		return -E_INVAL;
	whole_range(src, &offset, &count);
	err = cap_derive(src, (unsigned)a[2], offset, count, &copy);
	if (err)
		return err;
	return captab_insert(&to->caps, (int64_t)a[3], &copy);
}

SYSCALL_HANDLER(sys_cap_drop)
{
	return captab_drop(&e->caps, (int64_t)a[0]);
}
