/*
 * sys_mem.c: the physical-memory system calls: named frames and the
 * secure binding of frames to virtual addresses.  pte_set authorises each
 * mapping at bind time: the capability must name live frames (or the
 * initrd) with every right the mapping asks for; later accesses cost
 * nothing.  Envs never touch page-table pages; they read them through
 * the read-only UVPT view.
 */
#include "frames.h"
#include "revoke.h"
#include "syscall.h"
#include "uvm.h"

#define FRAME_CAP_RIGHTS                                                       \
	(EXO_R_READ | EXO_R_WRITE | EXO_R_EXEC | EXO_R_GRANT | EXO_R_FREE |    \
	 EXO_R_CONTROL)

/* A FRAME capability in slot with some frames still the ones it named. */
static int frame_cap(struct env *e, uint64_t slot, unsigned rights,
		     struct cap **out)
{
	int err = sys_cap(e, slot, EXO_CAP_FRAME, 0, out);

	if (err)
		return err;
	/* Dead before short of rights: a dead cap's slot holds nothing. */
	if (!frametab_any_live(&frametab, PA_FRAME((*out)->base),
			       (*out)->count, (*out)->epoch))
		return -E_BADCAP;
	return ((*out)->rights & rights) == rights ? 0 : -E_PERM;
}

/* Whether page `index` of c is still the frame c named. */
static bool frame_live(const struct cap *c, uint64_t index)
{
	return frametab_live(&frametab, PA_FRAME(c->base) + index, 1,
			     c->epoch);
}

/* (paddr or EXO_FRAME_ANY, count, flags) -> slot */
SYSCALL_HANDLER(sys_frame_alloc)
{
	struct cap c = {.type = EXO_CAP_FRAME, .rights = FRAME_CAP_RIGHTS};
	uint64_t pa;
	int slot, err;

	if (a[2] & ~(uint64_t)EXO_FRAME_VITAL)
		return -E_INVAL;
	err = frames_alloc(e, a[0], a[1], a[2] & EXO_FRAME_VITAL ? FT_VITAL : 0,
			   &pa);
	if (err)
		return err;
	c.base = pa;
	c.count = a[1];
	c.epoch = frametab.frames[PA_FRAME(pa)].epoch;
	slot = captab_insert(&e->caps, EXO_SLOT_ANY, &c);
	if (slot < 0)
		for (uint64_t i = 0; i < c.count; i++)
			frames_free(PA_FRAME(pa) + (uint32_t)i);
	return slot;
}

/* (slot, first, count) -> 0; see exo/abi.h */
SYSCALL_HANDLER(sys_frame_free)
{
	struct cap *c;
	struct env *owner = NULL;
	uint64_t first = a[1], count = a[2];
	int err = frame_cap(e, a[0], EXO_R_FREE, &c);

	if (err)
		return err;
	if (count == EXO_FRAME_REST)
		count = first < c->count ? c->count - first : 0;
	if (first >= c->count || count == 0 || count > c->count - first)
		return -E_INVAL;
	for (uint64_t i = first; i < first + count; i++) {
		if (!frame_live(c, i))
			continue;
		/* One allocation, one owner: the env whose quota gets them. */
		owner = env_lookup(frametab.frames[PA_FRAME(c->base) + i].owner);
		frames_free(PA_FRAME(c->base) + (uint32_t)i);
	}
	if (!frametab_any_live(&frametab, PA_FRAME(c->base), c->count,
			       c->epoch))
		captab_drop(&e->caps, (int64_t)a[0]);
	if (owner)
		revoke_progress(owner);
	return 0;
}

/* (slot, vital) -> 0 */
SYSCALL_HANDLER(sys_frame_vital)
{
	struct cap *c;
	int err = frame_cap(e, a[0], EXO_R_CONTROL, &c);

	if (err)
		return err;
	if (a[1] > 1)
		return -E_INVAL;
	/* Vital frames stay on the machine: see EXO_FRAME_VITAL. */
	if (a[1] && PA_FRAME(c->base) + c->count > frametab.split)
		return -E_INVAL;
	for (uint64_t i = 0; i < c->count; i++) {
		struct ft_frame *f = &frametab.frames[PA_FRAME(c->base) + i];

		if (!frame_live(c, i))
			continue;
		f->flags = a[1] ? f->flags | FT_VITAL : f->flags & ~FT_VITAL;
	}
	return 0;
}

/* The rights a mapping with EXO_MAP_* perm needs. */
static unsigned rights_for(unsigned perm)
{
	return EXO_R_READ | (perm & EXO_MAP_WRITE ? EXO_R_WRITE : 0) |
	       (perm & EXO_MAP_EXEC ? EXO_R_EXEC : 0);
}

/* Check one op against e's capabilities and apply it to target. */
static int pte_op(struct env *e, struct env *target, const struct exo_pte_op *op)
{
	unsigned rights = rights_for(op->perm);
	struct cap *c;
	int err;

	if ((op->va & (EXO_PAGE_SIZE - 1)) || !env_user_address(op->va) ||
	    (op->perm & ~(EXO_MAP_READ | EXO_MAP_WRITE | EXO_MAP_EXEC)))
		return -E_INVAL;
	if (!op->perm)
		return frames_unmap(target, op->va);
	err = sys_cap(e, op->slot, EXO_CAP_INITRD, rights, &c);
	if (err == -E_BADCAP)
		err = frame_cap(e, op->slot, rights, &c);
	if (err)
		return err;
	if (op->index >= c->count)
		return -E_INVAL;
	if (c->type == EXO_CAP_FRAME && !frame_live(c, op->index))
		return -E_BADCAP;
	return frames_map(target, op->va, c->base + op->index * EXO_PAGE_SIZE,
			  op->perm, c->type == EXO_CAP_FRAME);
}

/* The op vector, copied in whole (one CPU, and the kernel is not preempted). */
static struct exo_pte_op pte_ops[EXO_PTE_OPS_MAX];

/*
 * (env, ops, n) -> ops applied; each op's result says how it went.  The
 * vector is read and written back unchanged before any op runs, so one
 * the caller cannot write fails with nothing done.
 */
SYSCALL_HANDLER(sys_pte_set)
{
	struct env *target;
	uint64_t n = a[2], done, bytes = n * sizeof(struct exo_pte_op);
	int err = sys_env_cap(e, a[0], EXO_R_CONTROL, &target);

	if (err)
		return err;
	if (n > EXO_PTE_OPS_MAX)
		return -E_INVAL;
	if ((err = copy_from_user(e, pte_ops, a[1], bytes)) ||
	    (err = copy_to_user(e, a[1], pte_ops, bytes)))
		return err;
	for (done = 0; done < n; done++) {
		pte_ops[done].result = pte_op(e, target, &pte_ops[done]);
		if (pte_ops[done].result < 0)
			break;
	}
	/* An op may have unmapped the vector itself: the results go as far
	 * as they can. */
	copy_to_user(e, a[1], pte_ops,
		     (done < n ? done + 1 : n) * sizeof(struct exo_pte_op));
	return (int64_t)done;
}
