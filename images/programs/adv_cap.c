/*
 * adv_cap.c: an adversary that abuses capabilities: it keeps using one
 * after its frames were freed (and after they were handed out again),
 * forges slot numbers (out of range, negative, ones that become a real
 * slot if the kernel cut them to 32 bits), and tries to widen what it
 * holds (more rights, a larger range, offsets that overflow).  Owned by
 * the adversarial boot tests (tests/boot/adversarial.sh), which run it as
 * `run=adv_cap,good`.  Every call must fail with the documented error
 * and nothing it holds may change; it exits 0 when that was so.
 */
#include "t_util.h"

#define VA1 0x20000000ull
#define VA2 0x20001000ull
#define VA3 0x20002000ull

/* Map page index of the capability in slot at va; the op's result. */
static int32_t map1(uint64_t va, long slot, uint32_t index, uint32_t perm)
{
	long r;
	int32_t result =
	    t_pte_set1(EXO_SLOT_SELF, va, (uint32_t)slot, index, perm, &r);

	return r < 0 ? (int32_t)r : result;
}

/* Every call that takes a capability slot, with a forged one. */
static void forged(long s)
{
	struct exo_cap_info info;
	struct exo_env_status st;
	struct exo_regs regs = {0};
	struct exo_pte_op op = {VA3, (uint32_t)s, 0, EXO_MAP_READ,
				T_OP_UNTOUCHED};
	uint64_t w[4] = {0};
	long r[17];
	unsigned n = 0, bad = 0;

	r[n++] = sys_cap_info(s, &info);
	r[n++] = sys_cap_derive(s, EXO_R_READ, 0, 1);
	r[n++] = sys_cap_grant(s, EXO_SLOT_SELF, EXO_R_READ, EXO_SLOT_ANY);
	r[n++] = sys_cap_drop(s);
	r[n++] = sys_frame_free(s, 0, EXO_FRAME_REST);
	r[n++] = sys_frame_vital(s, true);
	r[n++] = sys_pte_set(s, &op, 1);
	r[n++] = sys_env_set_regs(s, &regs);
	r[n++] = sys_env_start(s);
	r[n++] = sys_env_kill(s);
	r[n++] = sys_env_set_quota(s, 1, 0);
	r[n++] = sys_env_status(s, &st);
	r[n++] = sys_slot_alloc(s, 1, 0);
	r[n++] = sys_slot_free(s);
	r[n++] = sys_pct_call(s, w, w);
	r[n++] = sys_pct_send(s, w);
	r[n++] = sys_cap_grant(EXO_SLOT_INITRD, s, EXO_R_READ, EXO_SLOT_ANY);
	for (unsigned i = 0; i < n; i++)
		if (r[i] != -E_BADCAP) {
			tap_diag("slot 0x%lx, call #%u: %ld", (unsigned long)s,
				 i, r[i]);
			bad++;
		}
	tap_ok(bad == 0, "forged slot 0x%lx: all %u calls E_BADCAP",
	       (unsigned long)s, n);
}

int main(void)
{
	struct exo_cap_info info, slices;
	struct exo_env_status st0, st1;
	uint64_t pa, one_slot;
	long s, d, s2, r, ro, sub, env_ro, pct, pct_nocall, ts, kid;
	int32_t m;

	tap_plan(86);
	r = sys_env_status(EXO_SLOT_SELF, &st0);
	t_want("own status", r, 0);

	/* ---- a freed capability, and its derived copy ---- */
	s = sys_frame_alloc(EXO_FRAME_ANY, 2, 0);
	d = sys_cap_derive(s, EXO_R_ALL & ~EXO_R_CALL, 1, 1); /* every right */
	tap_ok(s > 0 && d > 0, "two frames (slot %ld) and a copy of the second "
			      "(slot %ld)", s, d);
	m = map1(VA1, s, 0, EXO_MAP_READ | EXO_MAP_WRITE);
	t_want("map the first", m, 0);
	m = map1(VA2, d, 0, EXO_MAP_READ | EXO_MAP_WRITE);
	t_want("map the second through the copy", m, 0);
	pa = t_pa(VA1);
	*(volatile uint64_t *)VA1 = 0x5ec12e7;
	*(volatile uint64_t *)VA2 = 0x5ec12e7;
	t_want("free them", sys_frame_free(s, 0, EXO_FRAME_REST), 0);
	tap_ok(t_pte(VA1) == 0 && t_pte(VA2) == 0,
	       "freeing unmapped both pages, the copy's mapping too");
	t_want("cap_info of the freed slot", sys_cap_info(s, &info), -E_BADCAP);
	t_want("cap_info of the dead copy", sys_cap_info(d, &info), -E_BADCAP);
	t_want("map through the freed slot", map1(VA1, s, 0, EXO_MAP_READ),
	       -E_BADCAP);
	t_want("map through the dead copy", map1(VA2, d, 0, EXO_MAP_READ),
	       -E_BADCAP);
	t_want("free the freed slot again",
	       sys_frame_free(s, 0, EXO_FRAME_REST), -E_BADCAP);
	t_want("free through the dead copy",
	       sys_frame_free(d, 0, EXO_FRAME_REST), -E_BADCAP);
	t_want("derive from the dead copy", sys_cap_derive(d, EXO_R_READ, 0, 1),
	       -E_BADCAP);
	t_want("grant the dead copy",
	       sys_cap_grant(d, EXO_SLOT_SELF, EXO_R_READ, EXO_SLOT_ANY),
	       -E_BADCAP);
	t_want("mark the dead copy vital", sys_frame_vital(d, true), -E_BADCAP);

	/* The same frames handed out again: the old copy stays dead. */
	s2 = sys_frame_alloc(pa, 2, 0);
	tap_ok(s2 > 0, "the same frames allocated again by name: slot %ld",
	       s2);
	t_want("map the reallocated first frame",
	       map1(VA1, s2, 0, EXO_MAP_READ), 0);
	tap_ok(t_pa(VA1) == pa && *(volatile uint64_t *)VA1 == 0,
	       "it is the same frame, zeroed");
	t_want("map through the old copy after reuse",
	       map1(VA2, d, 0, EXO_MAP_READ), -E_BADCAP);
	t_want("cap_info of the old copy after reuse", sys_cap_info(d, &info),
	       -E_BADCAP);
	tap_ok(t_pte(VA2) == 0, "the old copy mapped nothing");
	t_want("drop the dead copy", sys_cap_drop(d), 0);
	t_want("drop it again", sys_cap_drop(d), -E_BADCAP);

	/* ---- forged slots ---- */
	forged(EXO_CAP_SLOTS);
	forged(EXO_CAP_SLOTS + 1);
	forged(-1);
	forged(-2);
	forged(137); /* empty */
	forged(255); /* the last, empty */
	forged(1l << 31);
	forged(1l << 32); /* slot 0 (itself) if cut to 32 bits */
	forged((1l << 32) | EXO_SLOT_BOOT_SLICES); /* its slices if cut */
	forged((1l << 32) | s2);		    /* its frames if cut */
	forged(1l << 63);
	forged(0x7fffffffffffffffl);

	/* ---- widening ---- */
	ro = sys_cap_derive(s2, EXO_R_READ, 0, 2);
	tap_ok(ro > 0, "a read-only copy: slot %ld", ro);
	t_want("more rights than the read-only copy",
	       sys_cap_derive(ro, EXO_R_READ | EXO_R_WRITE, 0, 2), -E_PERM);
	t_want("FREE from the read-only copy",
	       sys_cap_derive(ro, EXO_R_READ | EXO_R_FREE, 0, 2), -E_PERM);
	t_want("free through the read-only copy",
	       sys_frame_free(ro, 0, EXO_FRAME_REST), -E_PERM);
	t_want("vital through the read-only copy", sys_frame_vital(ro, true),
	       -E_PERM);
	t_want("map writable through the read-only copy",
	       map1(VA2, ro, 0, EXO_MAP_READ | EXO_MAP_WRITE), -E_PERM);
	t_want("grant the read-only copy (no GRANT right)",
	       sys_cap_grant(ro, EXO_SLOT_SELF, EXO_R_READ, EXO_SLOT_ANY),
	       -E_PERM);
	t_want("rights beyond EXO_R_ALL",
	       sys_cap_derive(s2, 0x80 | EXO_R_READ, 0, 1), -E_INVAL);
	t_want("the CALL right on frames", sys_cap_derive(s2, EXO_R_CALL, 0, 1),
	       -E_PERM);
	t_want("one page more", sys_cap_derive(s2, EXO_R_READ, 0, 3), -E_INVAL);
	t_want("offset == count", sys_cap_derive(s2, EXO_R_READ, 2, 1),
	       -E_INVAL);
	t_want("offset 1, count 2", sys_cap_derive(s2, EXO_R_READ, 1, 2),
	       -E_INVAL);
	t_want("count 0", sys_cap_derive(s2, EXO_R_READ, 0, 0), -E_INVAL);
	t_want("offset 2^64 - 1, count 2 (sum wraps to 1)",
	       sys_cap_derive(s2, EXO_R_READ, ~0ull, 2), -E_INVAL);
	t_want("offset 1, count 2^64 - 1",
	       sys_cap_derive(s2, EXO_R_READ, 1, ~0ull), -E_INVAL);
	t_want("offset 2^52 (base + offset pages wraps)",
	       sys_cap_derive(s2, EXO_R_READ, 1ull << 52, 1), -E_INVAL);
	sub = sys_cap_derive(s2, EXO_R_READ, 1, 1);
	r = sys_cap_info(sub, &info);
	tap_ok(sub > 0 && r == 0 && info.base == pa + EXO_PAGE_SIZE &&
		   info.count == 1,
	       "a one-page copy of the second frame: slot %ld", sub);
	t_want("the one-page copy back to two pages",
	       sys_cap_derive(sub, EXO_R_READ, 0, 2), -E_INVAL);
	t_want("the one-page copy one page back (offset -1)",
	       sys_cap_derive(sub, EXO_R_READ, ~0ull, 2), -E_INVAL);
	t_want("map page 1 of the one-page copy",
	       map1(VA2, sub, 1, EXO_MAP_READ), -E_INVAL);
	t_want("the initrd writable",
	       sys_cap_derive(EXO_SLOT_INITRD, EXO_R_READ | EXO_R_WRITE, 0, 1),
	       -E_PERM);
	t_want("grant the initrd to itself writable",
	       sys_cap_grant(EXO_SLOT_INITRD, EXO_SLOT_SELF,
			     EXO_R_READ | EXO_R_WRITE, EXO_SLOT_ANY),
	       -E_PERM);
	r = sys_cap_info(EXO_SLOT_INITRD, &info);
	t_want("the initrd one page longer",
	       sys_cap_derive(EXO_SLOT_INITRD, EXO_R_READ, 0, info.count + 1),
	       -E_INVAL);
	r = sys_cap_info(EXO_SLOT_BOOT_SLICES, &slices);
	one_slot = slices.base & -slices.base;
	tap_ok(r == 0 && slices.type == EXO_CAP_TIMESLOTS && one_slot,
	       "its slices: mask 0x%lx", (unsigned long)slices.base);
	t_want("slices it does not own",
	       sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_FREE,
			      slices.base | ~slices.base, 0),
	       -E_INVAL);
	t_want("an empty slice mask",
	       sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_FREE, 0, 0),
	       -E_INVAL);
	t_want("CONTROL over its slices",
	       sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_CONTROL, one_slot, 0),
	       -E_PERM);
	ts = sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_FREE, one_slot, 0);
	r = sys_cap_info(ts, &info);
	tap_ok(ts > 0 && r == 0 && info.base == one_slot,
	       "a copy for one of its slices: slot %ld", ts);
	t_want("that copy widened to all its slices",
	       sys_cap_derive(ts, EXO_R_FREE, slices.base, 0), -E_INVAL);
	t_want("a range on its ENV capability",
	       sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 1, 0), -E_INVAL);
	env_ro = sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 0, 0);
	tap_ok(env_ro > 0, "a read-only copy of itself: slot %ld", env_ro);
	t_want("that copy back to all rights",
	       sys_cap_derive(env_ro, EXO_R_ALL, 0, 0), -E_PERM);
	t_want("kill itself through the read-only copy", sys_env_kill(env_ro),
	       -E_PERM);
	pct = sys_pct_create(42);
	pct_nocall = sys_cap_derive(pct, EXO_R_GRANT, 0, 0);
	tap_ok(pct > 0 && pct_nocall > 0, "a PCT capability (%ld) and a copy "
					  "without CALL (%ld)",
	       pct, pct_nocall);
	t_want("CALL back onto that copy",
	       sys_cap_derive(pct_nocall, EXO_R_CALL | EXO_R_GRANT, 0, 0),
	       -E_PERM);
	t_want("FREE on a PCT capability",
	       sys_cap_derive(pct, EXO_R_CALL | EXO_R_FREE, 0, 0), -E_PERM);
	t_want("grant with rights beyond EXO_R_ALL",
	       sys_cap_grant(s2, EXO_SLOT_SELF, 0x1ff, EXO_SLOT_ANY), -E_INVAL);
	t_want("grant to a FRAME capability as the env",
	       sys_cap_grant(s2, s2, EXO_R_READ, EXO_SLOT_ANY), -E_BADCAP);

	/* Quotas: its own cannot be raised, nor a child's past its room. */
	t_want("raise its own frame quota",
	       sys_env_set_quota(EXO_SLOT_SELF, 1ull << 40, EXO_NSLOTS),
	       -E_PERM);
	t_want("raise its own quota through the read-only copy",
	       sys_env_set_quota(env_ro, 1ull << 40, EXO_NSLOTS), -E_PERM);
	t_want("one more time slot (its quota is spent)",
	       sys_slot_alloc(EXO_SLOT_SELF, 1, 0), -E_NOMEM);
	t_want("a child with more frames than it has",
	       sys_env_create(1ull << 40, 0), -E_NOMEM);
	t_want("a child with a time slot it does not have",
	       sys_env_create(16, 1), -E_NOMEM);
	t_want("a child with 65 slots", sys_env_create(16, EXO_NSLOTS + 1),
	       -E_INVAL);
	kid = sys_env_create(16, 0);
	tap_ok(kid > 0, "a child with 16 frames: slot %ld", kid);
	t_want("the child's quota past its room",
	       sys_env_set_quota(kid, 1ull << 40, 0), -E_NOMEM);
	t_want("the child's quota to 2^64 - 1",
	       sys_env_set_quota(kid, ~0ull, 0), -E_NOMEM);
	t_want("the child given a slot", sys_env_set_quota(kid, 16, 1),
	       -E_NOMEM);
	t_want("kill the child", sys_env_kill(kid), 0);

	/* Nothing it holds changed. */
	r = sys_cap_info(EXO_SLOT_BOOT_SLICES, &info);
	tap_ok(r == 0 && info.base == slices.base &&
		   libos_uenv->slice.slots_mask == slices.base,
	       "it still holds all its slices");
	r = sys_env_status(EXO_SLOT_SELF, &st1);
	tap_ok(r == 0 && st1.state == EXO_ENV_STATE_RUNNABLE &&
		   st1.slots_used == st0.slots_used &&
		   st1.frames_used >= st0.frames_used + 2 &&
		   st1.frames_used <= st0.frames_used + 3,
	       "its counts: %lu frames (was %lu, + 2 and a table), %lu slots",
	       (unsigned long)st1.frames_used, (unsigned long)st0.frames_used,
	       (unsigned long)st1.slots_used);
	return tap_done();
}
