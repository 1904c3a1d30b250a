/*
 * t_child.c: the helper child of the t_* guest tests.  It reads its order
 * from the first PCT capability to its parent (t_util.h: the badge holds
 * a CHILD_* mode and an argument), does that one thing and reports by its
 * exit code, or serves PCT calls for the test (CHILD_SERVE, and
 * CHILD_REVOKE, which also holds frames through a revocation).  Without an order it
 * spins.  It prints nothing: the test that started it judges.
 */
#include "t_util.h"

#define ORDER_SLOTS_SCANNED 8 /* the order is among the first few slots */
#define NEST_QUOTA 64	      /* frames for CHILD_NEST's grandchild */

static long parent_env = -1, extra = -1;

/*
 * The order, or -1; also finds the parent's ENV cap and the extra one.
 * t_child() grants them in that order, each into our lowest free slot,
 * so they follow the fixed slots (self, initrd, slices, image) in turn.
 */
static int64_t find_order(void)
{
	int64_t order = -1;

	for (long slot = EXO_SLOT_INITRD; slot < ORDER_SLOTS_SCANNED; slot++) {
		struct exo_cap_info ci;

		if (sys_cap_info(slot, &ci) != E_OK)
			continue;
		if (order < 0 && ci.type == EXO_CAP_PCT &&
		    ci.object == libos_uenv->parent) {
			order = (int64_t)ci.base;
		} else if (order >= 0 && parent_env < 0 &&
			   ci.type == EXO_CAP_ENV &&
			   ci.object == libos_uenv->parent) {
			parent_env = slot;
		} else if (parent_env >= 0) {
			extra = slot;
			break;
		}
	}
	return order;
}

static _Noreturn void spin(void)
{
	for (;;)
		sys_yield(EXO_ENV_NONE);
}

/* ---- CHILD_SERVE ------------------------------------------------------------- */

static uint64_t calls, stores, last[LIBOS_PCT_WORDS - 1];

/* CHILD_REVOKE's frames (-1: given back) and what it was told. */
static long held[T_REVOKE_FRAMES], vital_frame;
static volatile uint64_t revokes, repossessions;
static bool cooperate;

static void revoke_state(uint64_t out[LIBOS_PCT_WORDS])
{
	struct exo_env_status st = {0};
	struct exo_cap_info ci;
	uint64_t live = sys_cap_info(vital_frame, &ci) == E_OK;

	for (unsigned i = 0; i < T_REVOKE_FRAMES; i++)
		if (held[i] >= 0 && sys_cap_info(held[i], &ci) == E_OK)
			live += 1ull << T_REVOKE_LIVE_SHIFT;
	sys_env_status(EXO_SLOT_SELF, &st);
	out[0] = st.frames_used;
	out[1] = live;
	out[2] = revokes;
	out[3] = repossessions;
}

static void serve(uint64_t badge, exo_envid_t caller,
		  const uint64_t in[LIBOS_PCT_WORDS],
		  uint64_t out[LIBOS_PCT_WORDS])
{
	calls++;
	switch (in[0]) {
	case SERVE_WHO:
		out[0] = badge;
		out[1] = caller;
		out[2] = calls;
		break;
	case SERVE_STORE:
		for (unsigned i = 1; i < LIBOS_PCT_WORDS; i++)
			last[i - 1] = in[i];
		stores++;
		break;
	case SERVE_LAST:
		for (unsigned i = 1; i < LIBOS_PCT_WORDS; i++)
			out[i - 1] = last[i - 1];
		out[LIBOS_PCT_WORDS - 1] = stores;
		break;
	case SERVE_YIELD_TO: /* until it is gone: then yield says -E_NOENT */
		for (unsigned i = 0; i < T_WAIT_TRIES; i++)
			if ((long)(out[0] = (uint64_t)sys_yield(
				     (exo_envid_t)in[1])) < 0)
				break;
		break;
	case SERVE_DIE:
		sys_env_kill(EXO_SLOT_SELF);
		out[0] = CHILD_EXIT_UNEXPECTED; /* not reached */
		break;
	case SERVE_STOP:
		libos_pct_serve(NULL);
		break;
	case SERVE_CALL_BACK:
		out[0] = (uint64_t)sys_pct_call(extra, NULL, NULL);
		break;
	case SERVE_REVOKE_STATE:
		revoke_state(out);
		break;
	default: /* SERVE_REVERSE */
		for (unsigned i = 0; i < LIBOS_PCT_WORDS; i++)
			out[i] = ~in[LIBOS_PCT_WORDS - 1 - i];
		break;
	}
}

static int serve_forever(uint64_t badge)
{
	long pct;

	if (parent_env < 0 || libos_pct_serve(serve) != E_OK ||
	    (pct = sys_pct_create(badge)) < 0 ||
	    sys_cap_grant(pct, parent_env, EXO_R_CALL | EXO_R_GRANT, EXO_SLOT_ANY) < 0)
		return CHILD_EXIT_UNEXPECTED;
	spin();
}

/* ---- CHILD_REVOKE ------------------------------------------------------------- */

/* Asked for frames back: give what is asked (if cooperating). */
static void on_revoke(struct exo_upcall_frame *frame)
{
	(void)frame;
	revokes++;
	for (unsigned i = 0; cooperate && i < T_REVOKE_FRAMES &&
			     libos_uenv->revoke.frames_over > 0;
	     i++)
		if (held[i] >= 0 && sys_frame_free(held[i], 0, EXO_FRAME_REST) == E_OK)
			held[i] = -1;
}

static void on_repossessed(struct exo_upcall_frame *frame)
{
	(void)frame;
	repossessions++;
}

/* Hold frames (one of them vital) and serve SERVE_REVOKE_STATE. */
static int hold_frames(uint64_t arg)
{
	cooperate = arg == T_REVOKE_COOPERATE;
	if (libos_set_handler(EXO_UPCALL_REVOKE, on_revoke) != E_OK ||
	    libos_set_handler(EXO_UPCALL_REPOSSESSED, on_repossessed) != E_OK)
		return CHILD_EXIT_UNEXPECTED;
	for (unsigned i = 0; i < T_REVOKE_FRAMES; i++)
		if ((held[i] = sys_frame_alloc(EXO_FRAME_ANY, 1, 0)) < 0)
			return CHILD_EXIT_UNEXPECTED;
	if ((vital_frame = sys_frame_alloc(EXO_FRAME_ANY, 1, 0)) < 0 ||
	    sys_frame_vital(vital_frame, true) != E_OK)
		return CHILD_EXIT_UNEXPECTED;
	return serve_forever(0);
}

/* ---- The other modes ----------------------------------------------------------- */

static void fault_again(struct exo_upcall_frame *frame)
{
	(void)frame;
	*(volatile int *)T_UNMAPPED_VA = 1; /* nests until the stack overflows */
}

/* Allocate single frames until refused: 0 if refused for the quota. */
static int alloc_all(void)
{
	struct exo_env_status st;
	long err;

	while ((err = sys_frame_alloc(EXO_FRAME_ANY, 1, 0)) >= 0)
		;
	if (err != -E_NOMEM || sys_env_status(EXO_SLOT_SELF, &st) != E_OK)
		return CHILD_EXIT_UNEXPECTED;
	/* Refused exactly at the quota, and once there it stays there. */
	if (st.frames_used != st.frame_quota ||
	    sys_frame_alloc(EXO_FRAME_ANY, 1, 0) != -E_NOMEM)
		return CHILD_EXIT_UNEXPECTED;
	return 0;
}

static int nest(void)
{
	struct exo_env_status st;

	if (sys_env_status(EXO_SLOT_SELF, &st) != E_OK ||
	    sys_env_create(st.frame_quota + 1, 0) != -E_NOMEM)
		return CHILD_EXIT_UNEXPECTED;
	if (libos_spawn("t_child", NEST_QUOTA, 0) < 0)
		return CHILD_EXIT_UNEXPECTED;
	return 0; /* the grandchild dies with us */
}

static int no_upcall_stack(void)
{
	if (libos_set_handler(EXO_UPCALL_EXCEPTION, fault_again) != E_OK)
		return CHILD_EXIT_UNEXPECTED;
	libos_uenv->upcall_stack_size = 0;
	*(volatile int *)T_UNMAPPED_VA = 1;
	return CHILD_EXIT_UNEXPECTED;
}

int main(void)
{
	int64_t order = find_order();
	uint64_t arg = T_ORDER_ARG((uint64_t)order);
	struct exo_syscall kill_self = {.nr = SYS_ENV_KILL,
					.args = {EXO_SLOT_SELF}};
	long ret;

	if (order < 0)
		spin();
	switch (T_ORDER_MODE((uint64_t)order)) {
	case CHILD_SPIN:
		spin();
	case CHILD_EXIT:
		return (int)arg;
	case CHILD_SERVE:
		return serve_forever(arg);
	case CHILD_CALL:
		if (extra < 0)
			return CHILD_EXIT_NO_ORDER;
		ret = sys_pct_call(extra, NULL, NULL);
		return ret < 0 ? (int)-ret : 0;
	case CHILD_FAULT:
		*(volatile int *)T_UNMAPPED_VA = 1;
		return CHILD_EXIT_UNEXPECTED;
	case CHILD_FAULT_IN_HANDLER:
		libos_set_handler(EXO_UPCALL_EXCEPTION, fault_again);
		*(volatile int *)T_UNMAPPED_VA = 1;
		return CHILD_EXIT_UNEXPECTED;
	case CHILD_BATCH_KILL_SELF:
		sys_batch(&kill_self, 1);
		return CHILD_EXIT_UNEXPECTED;
	case CHILD_EXIT_RAW:
		libos_syscall(SYS_ENV_EXIT, (long)arg, 0, 0, 0, 0, 0);
		return CHILD_EXIT_UNEXPECTED;
	case CHILD_ALLOC_ALL:
		return alloc_all();
	case CHILD_SET_QUOTA_PARENT:
		if (parent_env < 0)
			return CHILD_EXIT_NO_ORDER;
		ret = sys_env_set_quota(parent_env, 1, 0);
		return ret < 0 ? (int)-ret : 0;
	case CHILD_NEST:
		return nest();
	case CHILD_UPCALL_NO_STACK:
		return no_upcall_stack();
	case CHILD_REVOKE:
		return hold_frames(arg);
	default:
		return CHILD_EXIT_NO_ORDER;
	}
}
