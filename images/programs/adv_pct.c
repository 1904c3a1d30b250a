/*
 * adv_pct.c: an adversary that tries protected control transfers it
 * holds no capability for: SYS_PCT_CALL and SYS_PCT_SEND through empty
 * and forged slots and through capabilities of every other type (its ENV
 * capability, a child's, the initrd, its TIMESLOTS, frames), through a
 * PCT capability stripped of CALL and one naming itself, and
 * SYS_PCT_RETURN outside any call.  Owned by the adversarial boot tests
 * (tests/boot/adversarial.sh), which run it as `run=adv_pct,good`.
 * Every attempt must fail with the documented error, return to it at
 * once with the reply words untouched, and leave it runnable; it exits 0
 * when all did.
 */
#include "libos.h"

#define UNTOUCHED 0x1111111111111111ull

static void want(const char *what, long got, long expect)
{
	tap_ok(got == expect, "%s: %ld (want %ld)", what, got, expect);
}

/* A call and a send through slot; both must fail with err. */
static void refused(const char *what, long slot, long err)
{
	uint64_t in[4] = {1, 2, 3, 4};
	uint64_t out[4] = {UNTOUCHED, UNTOUCHED, UNTOUCHED, UNTOUCHED};
	long call = sys_pct_call(slot, in, out);
	long send = sys_pct_send(slot, in);
	/* The raw stub too: SYS_PCT_CALL clobbers the argument registers. */
	long raw = libos_syscall(SYS_PCT_CALL, slot, 5, 6, 7, 8, 0);

	tap_ok(call == -err && send == -err && raw == -err &&
		   out[0] == UNTOUCHED && out[3] == UNTOUCHED,
	       "pct through %s: call %ld, send %ld, raw %ld (want -%ld)", what,
	       call, send, raw, err);
}

int main(void)
{
	struct exo_env_status st;
	long frames, child, self_pct, nocall, r;
	uint64_t slices0;

	tap_plan(19);
	frames = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	child = sys_env_create(16, 0);
	self_pct = sys_pct_create(0xbad);
	nocall = sys_cap_derive(self_pct, EXO_R_GRANT, 0, 0);
	tap_ok(frames > 0 && child > 0 && self_pct > 0 && nocall > 0,
	       "frames %ld, a child %ld, a PCT to itself %ld, one without CALL "
	       "%ld",
	       frames, child, self_pct, nocall);

	refused("an empty slot", 77, E_BADCAP);
	refused("slot 255 (empty)", 255, E_BADCAP);
	refused("slot 256", 256, E_BADCAP);
	refused("slot -1", -1, E_BADCAP);
	refused("slot 2^32 + its PCT slot", (1l << 32) | self_pct, E_BADCAP);
	refused("its own ENV capability", EXO_SLOT_SELF, E_BADCAP);
	refused("its child's ENV capability", child, E_BADCAP);
	refused("the INITRD capability", EXO_SLOT_INITRD, E_BADCAP);
	refused("its TIMESLOTS capability", EXO_SLOT_BOOT_SLICES, E_BADCAP);
	refused("a FRAME capability", frames, E_BADCAP);
	refused("a PCT capability without CALL", nocall, E_PERM);
	refused("a PCT capability naming itself", self_pct, E_BUSY);
	want("pct_return outside a call",
	     libos_syscall(SYS_PCT_RETURN, 1, 2, 3, 4, 0, 0), -E_INVAL);
	want("grant CALL onto the copy without it",
	     sys_cap_grant(nocall, EXO_SLOT_SELF, EXO_R_CALL, EXO_SLOT_ANY), -E_PERM);

	/* Still an ordinary runnable env that gets its slices. */
	slices0 = libos_uenv->slice.slices;
	for (int i = 0; i < 3; i++)
		sys_yield(EXO_ENV_NONE);
	r = sys_env_status(EXO_SLOT_SELF, &st);
	tap_ok(r == 0 && st.state == EXO_ENV_STATE_RUNNABLE &&
		   libos_uenv->slice.slices >= slices0 + 3,
	       "still runnable and scheduled (%lu slices)",
	       (unsigned long)libos_uenv->slice.slices);
	r = sys_env_status(child, &st);
	tap_ok(r == 0 && st.state == EXO_ENV_STATE_CREATED,
	       "the child was never entered: state %u", st.state);
	want("kill the child", sys_env_kill(child), 0);
	want("a PCT to the dead child's slot", sys_pct_call(child, NULL, NULL),
	     -E_BADCAP);
	return tap_done();
}
