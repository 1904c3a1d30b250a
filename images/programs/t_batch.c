/*
 * t_batch.c: guest tests of SYS_BATCH: several calls in one, results
 * written back per op, the vector stops at the first failure, calls that
 * switch envs refused with -E_INVAL, unknown call numbers -E_NOSYS, the
 * EXO_BATCH_MAX limit, bad and partly mapped vectors (the whole vector
 * must be readable and writable, else nothing runs), and a batch that
 * kills its own env (the kernel must not touch the dead env's memory).
 */
#include "t_util.h"

#define SENTINEL (-12345)
#define CHILD_QUOTA 64
#define RW (EXO_MAP_READ | EXO_MAP_WRITE)

static struct exo_syscall op(uint64_t nr, uint64_t a0, uint64_t a1,
			     uint64_t a2)
{
	return (struct exo_syscall){.nr = nr, .args = {a0, a1, a2},
				    .result = SENTINEL};
}

static uint64_t frames_free(void)
{
	struct exo_sysinfo si;

	return sys_sysinfo(&si) == E_OK ? si.frames_free : 0;
}

static void several(void)
{
	struct exo_sysinfo si = {0};
	struct exo_cap_info ci = {0};
	struct exo_syscall ops[3] = {
	    op(SYS_SYSINFO, (uint64_t)&si, 0, 0),
	    op(SYS_CAP_INFO, EXO_SLOT_SELF, (uint64_t)&ci, 0),
	    op(SYS_FRAME_ALLOC, EXO_FRAME_ANY, 2, 0),
	};

	tap_ok(sys_batch(ops, 3) == 3, "a batch of three calls: 3 done");
	tap_ok(ops[0].result == 0 && si.self == libos_uenv->id &&
		   ops[1].result == 0 && ci.type == EXO_CAP_ENV &&
		   ops[2].result > 0,
	       "each call did its work and wrote its result");
	tap_ok(sys_cap_info(ops[2].result, &ci) == E_OK &&
		   ci.type == EXO_CAP_FRAME && ci.count == 2,
	       "the frames the batch allocated are ours");
	sys_frame_free(ops[2].result, 0, EXO_FRAME_REST);
}

static void stops_at_failure(void)
{
	struct exo_sysinfo si = {0};
	struct exo_cap_info ci;
	struct exo_syscall ops[3] = {
	    op(SYS_CAP_INFO, EXO_SLOT_SELF, (uint64_t)&ci, 0),
	    op(SYS_CAP_INFO, (uint64_t)-1, (uint64_t)&ci, 0),
	    op(SYS_SYSINFO, (uint64_t)&si, 0, 0),
	};

	tap_ok(sys_batch(ops, 3) == 1 && ops[0].result == 0 &&
		   ops[1].result == -E_BADCAP && ops[2].result == SENTINEL &&
		   si.self == 0,
	       "the batch stops at its first failure: 1 done, the rest not run");
	ops[0] = op(SYS_NCALLS, 0, 0, 0);
	ops[1] = op(~0ull, 0, 0, 0);
	tap_ok(sys_batch(ops, 1) == 0 && ops[0].result == -E_NOSYS &&
		   sys_batch(&ops[1], 1) == 0 && ops[1].result == -E_NOSYS,
	       "an unknown call number: -E_NOSYS");
}

static void refused(void)
{
	static const uint64_t nrs[] = {SYS_BATCH,    SYS_ENV_EXIT,
				       SYS_YIELD,    SYS_PCT_CALL,
				       SYS_PCT_SEND, SYS_PCT_RETURN};
	struct exo_sysinfo si;
	bool all = true;

	for (unsigned i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		struct exo_syscall ops[2] = {op(nrs[i], 0, 0, 0),
					     op(SYS_SYSINFO, (uint64_t)&si, 0,
						0)};

		all = all && sys_batch(ops, 2) == 0 &&
		      ops[0].result == -E_INVAL && ops[1].result == SENTINEL;
	}
	tap_ok(all, "BATCH, ENV_EXIT, YIELD, PCT_CALL, PCT_SEND, PCT_RETURN "
		    "in a batch: -E_INVAL, and it stops");
}

static void limits(void)
{
	static struct exo_syscall ops[EXO_BATCH_MAX + 1];
	struct exo_sysinfo si;
	bool all = true;

	for (unsigned i = 0; i <= EXO_BATCH_MAX; i++)
		ops[i] = op(SYS_SYSINFO, (uint64_t)&si, 0, 0);
	tap_ok(sys_batch(ops, EXO_BATCH_MAX + 1) == -E_INVAL &&
		   sys_batch(ops, ~0ul) == -E_INVAL && ops[0].result == SENTINEL,
	       "more than EXO_BATCH_MAX ops: -E_INVAL, nothing run");
	tap_ok(sys_batch(ops, EXO_BATCH_MAX) == EXO_BATCH_MAX,
	       "EXO_BATCH_MAX ops: all done");
	for (unsigned i = 0; i < EXO_BATCH_MAX; i++)
		all = all && ops[i].result == 0;
	tap_ok(all && ops[EXO_BATCH_MAX].result == SENTINEL,
	       "each has its result, the one past the count none");
	tap_ok(sys_batch(NULL, 0) == 0 && sys_batch(ops, 0) == 0,
	       "an empty batch: 0");
}

static void bad_vectors(void)
{
	long f = libos_map_new(T_VA(0), 1, RW, 0);
	struct exo_syscall *edge = (struct exo_syscall *)(T_VA(0) + T_PAGE) - 1;
	struct exo_sysinfo si;
	uint64_t before;

	tap_ok(sys_batch(NULL, 1) == -E_FAULT &&
		   sys_batch((struct exo_syscall *)T_KERNEL_VA, 1) == -E_FAULT &&
		   sys_batch((struct exo_syscall *)T_NONCANONICAL, 1) ==
		       -E_FAULT &&
		   sys_batch((struct exo_syscall *)EXO_UVPT, 1) == -E_FAULT,
	       "a vector at NULL, in the kernel, non-canonical or in the "
	       "UVPT: -E_FAULT");
	/* Two ops, the second in the unmapped page after ours. */
	si.self = EXO_ENV_NONE;
	edge[0] = op(SYS_SYSINFO, (uint64_t)&si, 0, 0);
	tap_ok(sys_batch(edge, 2) == -E_FAULT && edge[0].result == SENTINEL &&
		   si.self == EXO_ENV_NONE,
	       "a vector running into an unmapped page: -E_FAULT, none run");
	/* The same vector read-only: the kernel cannot write a result. */
	edge[0] = op(SYS_FRAME_ALLOC, EXO_FRAME_ANY, 1, 0);
	libos_map(EXO_SLOT_SELF, T_VA(0), f, 0, 1, EXO_MAP_READ);
	before = frames_free();
	tap_ok(sys_batch(edge, 1) == -E_FAULT && frames_free() == before,
	       "results that cannot be written: -E_FAULT and nothing done");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void kills(void)
{
	struct exo_env_status st;
	long c = sys_env_create(CHILD_QUOTA, 0);
	struct exo_syscall ops[2] = {op(SYS_ENV_KILL, c, 0, 0),
				     op(SYS_ENV_STATUS, c, (uint64_t)&st, 0)};

	tap_ok(sys_batch(ops, 2) == 2 && ops[0].result == 0 &&
		   st.state == EXO_ENV_STATE_DEAD &&
		   st.exit_code == EXO_ENV_KILLED,
	       "a batch kills a child and reads its status");
	sys_cap_drop(c);
	c = t_child(CHILD_BATCH_KILL_SELF, 0, CHILD_QUOTA, 0, 0, -1, 0);
	tap_ok(c > 0 && t_wait(c) == EXO_ENV_KILLED,
	       "a child whose batch kills itself is dead, and we go on");
	libos_spawn_free(c);
	sys_cap_drop(c);
}

int main(void)
{
	tap_plan(15);
	several();
	stops_at_failure();
	refused();
	limits();
	bad_vectors();
	kills();
	return tap_done();
}
