/*
 * t_pct.c: guest tests of protected control transfer: SYS_PCT_CREATE,
 * SYS_PCT_CALL round trips with four words each way to a t_child server,
 * the badge and caller envid the callee sees, SYS_PCT_SEND, the rights
 * and slots a call needs, callee busy (itself, a caller waiting, a callee
 * already serving a call), a callee that stops serving or dies in the
 * middle of a call, SYS_PCT_RETURN outside a call, and the caller's
 * registers across a call.
 */
#include "t_util.h"

#define SERVER_BADGE 0xb0d9e0001ull
#define MY_BADGE 0x3e0000ull
#define CHILD_QUOTA 64
#define ROUND_TRIPS 16
#define MARK_RBX 0x0123012301230123ull
#define MARK_R9 0x4567456745674567ull
#define MARK_R12 0x89ab89ab89ab89abull
#define MARK_R15 0xcdefcdefcdefcdefull

static long server(long extra, long *pct)
{
	return t_server(CHILD_SERVE, SERVER_BADGE, CHILD_QUOTA, extra, pct);
}

static long call(long slot, uint64_t w0, uint64_t w1, uint64_t w2,
		 uint64_t w3, uint64_t out[LIBOS_PCT_WORDS])
{
	const uint64_t in[LIBOS_PCT_WORDS] = {w0, w1, w2, w3};

	for (unsigned i = 0; i < LIBOS_PCT_WORDS; i++)
		out[i] = ~0ull;
	return sys_pct_call(slot, in, out);
}

static void round_trips(long s, exo_envid_t sid)
{
	struct exo_cap_info ci = {0};
	uint64_t out[LIBOS_PCT_WORDS];
	bool all = true;
	long ret;

	sys_cap_info(s, &ci);
	tap_ok(ci.type == EXO_CAP_PCT && ci.object == sid &&
		   ci.base == SERVER_BADGE &&
		   ci.rights == (EXO_R_CALL | EXO_R_GRANT),
	       "the server's PCT cap: its envid, its badge, CALL and GRANT");
	tap_ok(call(s, SERVE_REVERSE, 0x1111, 0x2222, 0x3333, out) == E_OK &&
		   out[0] == ~0x3333ull && out[1] == ~0x2222ull &&
		   out[2] == ~0x1111ull && out[3] == ~(uint64_t)SERVE_REVERSE,
	       "a call: four words there, four different words back");
	ret = call(s, SERVE_WHO, 0, 0, 0, out);
	tap_ok(ret == E_OK && out[0] == SERVER_BADGE &&
		   out[1] == libos_uenv->id && out[2] == 2,
	       "the callee sees the badge and our envid (call %lu)", out[2]);
	for (unsigned i = 0; i < ROUND_TRIPS; i++)
		all = all && call(s, SERVE_REVERSE, i, i + 1, i + 2, out) == 0 &&
		      out[0] == ~(uint64_t)(i + 2) && out[2] == ~(uint64_t)i;
	tap_ok(all && call(s, SERVE_WHO, 0, 0, 0, out) == E_OK &&
		   out[2] == 3 + ROUND_TRIPS,
	       "%u more round trips, each answered, none lost", ROUND_TRIPS);
}

static void rights(long s)
{
	uint64_t out[LIBOS_PCT_WORDS];
	long d = sys_cap_derive(s, EXO_R_CALL, 0, 0);
	long g = sys_cap_derive(s, EXO_R_GRANT, 0, 0);

	tap_ok(call(d, SERVE_WHO, 0, 0, 0, out) == E_OK &&
		   out[0] == SERVER_BADGE,
	       "a derived cap with CALL calls, with the same badge");
	tap_ok(call(g, SERVE_WHO, 0, 0, 0, out) == -E_PERM &&
		   sys_pct_send(g, NULL) == -E_PERM,
	       "without CALL: -E_PERM");
	tap_ok(call(-1, 0, 0, 0, 0, out) == -E_BADCAP &&
		   call(EXO_CAP_SLOTS, 0, 0, 0, 0, out) == -E_BADCAP &&
		   call(EXO_SLOT_SELF, 0, 0, 0, 0, out) == -E_BADCAP &&
		   call(EXO_SLOT_INITRD, 0, 0, 0, 0, out) == -E_BADCAP &&
		   sys_pct_send(EXO_CAP_SLOTS - 1, NULL) == -E_BADCAP,
	       "no PCT cap in the slot: -E_BADCAP");
	sys_cap_drop(d);
	sys_cap_drop(g);
}

static void sends(long s, exo_envid_t sid)
{
	const uint64_t in[LIBOS_PCT_WORDS] = {SERVE_STORE, 0xa, 0xb, 0xc};
	uint64_t out[LIBOS_PCT_WORDS];

	tap_ok(sys_pct_send(s, in) == E_OK, "pct_send returns 0");
	/*
	 * The callee ran on the rest of our slice; if that ended first (a
	 * loaded host), it finishes on time we donate.
	 */
	sys_yield(sid);
	tap_ok(call(s, SERVE_LAST, 0, 0, 0, out) == E_OK && out[0] == 0xa &&
		   out[1] == 0xb && out[2] == 0xc && out[3] == 1,
	       "the callee got the sent words (asked by a later call)");
}

static void busy(long s, long mine)
{
	uint64_t out[LIBOS_PCT_WORDS];
	long c;

	tap_ok(call(mine, 0, 0, 0, 0, out) == -E_BUSY &&
		   sys_pct_send(mine, NULL) == -E_BUSY,
	       "calling ourselves: -E_BUSY");
	tap_ok(call(s, SERVE_CALL_BACK, 0, 0, 0, out) == E_OK &&
		   (int64_t)out[0] == -E_BUSY,
	       "the callee calling us back while we wait: -E_BUSY");
	/* A third env calls the server while it serves our call. */
	c = t_child(CHILD_CALL, 0, CHILD_QUOTA, 0, 0, s, EXO_R_CALL);
	tap_ok(c > 0 && call(s, SERVE_YIELD_TO, t_env_id(c), 0, 0, out) == 0 &&
		   (int64_t)out[0] == -E_NOENT,
	       "the callee donates its (our) time to a third env mid-call, "
	       "until it ends");
	tap_ok(t_wait(c) == E_BUSY,
	       "whose call to the busy callee was -E_BUSY");
	libos_spawn_free(c);
	sys_cap_drop(c);
}

/* A raw SYS_PCT_CALL: registers the ABI keeps must survive it. */
static void registers(long s)
{
	register uint64_t rdi __asm__("rdi") = (uint64_t)s;
	register uint64_t rsi __asm__("rsi") = SERVE_WHO;
	register uint64_t rdx __asm__("rdx") = 0;
	register uint64_t r10 __asm__("r10") = 0;
	register uint64_t r8 __asm__("r8") = 0;
	register uint64_t r9 __asm__("r9") = MARK_R9;
	register uint64_t r12 __asm__("r12") = MARK_R12;
	register uint64_t r15 __asm__("r15") = MARK_R15;
	uint64_t rbx = MARK_RBX, ret = SYS_PCT_CALL, got[5];

	__asm__ volatile("syscall"
			 : "+a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx),
			   "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r12), "+r"(r15),
			   "+b"(rbx)
			 :
			 : "rcx", "r11", "memory");
	/* Copied at once: a local register variable does not survive a call. */
	got[0] = rdi, got[1] = rsi, got[2] = r9, got[3] = r12, got[4] = r15;
	tap_ok(ret == 0 && got[0] == SERVER_BADGE && got[1] == libos_uenv->id,
	       "a raw call: 0 in rax, the words in rdi, rsi, rdx, r10");
	tap_ok(rbx == MARK_RBX && got[2] == MARK_R9 && got[3] == MARK_R12 &&
		   got[4] == MARK_R15,
	       "rbx, r9, r12, r15 survive the call");
}

static void endings(void)
{
	uint64_t out[LIBOS_PCT_WORDS];
	long s2, p2;

	tap_ok(libos_syscall(SYS_PCT_RETURN, 1, 2, 3, 4, 0, 0) == -E_INVAL,
	       "pct_return outside a call: -E_INVAL");
	s2 = server(-1, &p2);
	tap_ok(s2 > 0 && p2 > 0 && call(p2, SERVE_DIE, 0, 0, 0, out) == -E_NOENT,
	       "a callee that dies during the call: the caller gets -E_NOENT");
	tap_ok(t_env_state(s2) == EXO_ENV_STATE_DEAD &&
		   call(p2, SERVE_WHO, 0, 0, 0, out) == -E_NOENT &&
		   sys_pct_send(p2, NULL) == -E_NOENT,
	       "calls to a dead callee: -E_NOENT");
	libos_spawn_free(s2);
	sys_cap_drop(s2);
	sys_cap_drop(p2);
}

static void stop_serving(long s)
{
	uint64_t out[LIBOS_PCT_WORDS];

	tap_ok(call(s, SERVE_STOP, 0, 0, 0, out) == E_OK,
	       "the server stops serving (answering this call)");
	tap_ok(call(s, SERVE_WHO, 0, 0, 0, out) == -E_NOENT,
	       "then a call finds no entry: -E_NOENT");
}

int main(void)
{
	long mine, s, pct;
	exo_envid_t sid;

	tap_plan(21);
	mine = sys_pct_create(MY_BADGE);
	s = server(mine, &pct);
	sid = s > 0 ? t_env_id(s) : EXO_ENV_NONE;
	if (!tap_ok(s > 0 && pct > 0, "a t_child server granted us its cap"))
		return tap_done();
	round_trips(pct, sid);
	rights(pct);
	sends(pct, sid);
	busy(pct, mine);
	registers(pct);
	endings();
	stop_serving(pct);
	libos_spawn_free(s);
	sys_cap_drop(s);
	return tap_done();
}
