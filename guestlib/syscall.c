/*
 * syscall.c: the raw system-call stub and one typed stub per call of
 * exo/abi.h.  Convention: number in %rax, arguments in %rdi %rsi %rdx %r10
 * %r8 %r9, result in %rax; `syscall` clobbers %rcx and %r11, and
 * SYS_PCT_CALL also returns words in %rdi %rsi %rdx %r10.
 */
#include "libos.h"

/*
 * The one place that executes `syscall` for ordinary calls.  The argument
 * registers are declared read-write, not just read: the raw stub may be
 * handed SYS_PCT_CALL (or a kernel may misbehave), and the compiler must
 * then not assume they still hold the arguments.
 */
static inline long invoke(long nr, long a0, long a1, long a2, long a3, long a4,
			  long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;

	__asm__ volatile("syscall"
			 : "+a"(nr), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10),
			   "+r"(r8), "+r"(r9)
			 :
			 : "rcx", "r11", "memory");
	return nr;
}

long libos_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
		   long a5)
{
	return invoke(nr, a0, a1, a2, a3, a4, a5);
}

/* The kernel never returns from these calls; trap if it ever did. */
static _Noreturn void unreachable_return(void)
{
	for (;;)
		__builtin_trap();
}

long sys_cons_write(const void *buf, size_t len)
{
	return invoke(SYS_CONS_WRITE, (long)buf, (long)len, 0, 0, 0, 0);
}

_Noreturn void sys_env_exit(int code)
{
	invoke(SYS_ENV_EXIT, code, 0, 0, 0, 0, 0);
	unreachable_return();
}

_Noreturn void libos_exit(int code)
{
	libos_pipe_exit(); /* the other ends see end of file at once */
	sys_env_exit(code);
}

long sys_batch(struct exo_syscall *ops, unsigned long n)
{
	return invoke(SYS_BATCH, (long)ops, (long)n, 0, 0, 0, 0);
}

long sys_sysinfo(struct exo_sysinfo *out)
{
	return invoke(SYS_SYSINFO, (long)out, 0, 0, 0, 0, 0);
}

long sys_cap_info(long slot, struct exo_cap_info *out)
{
	return invoke(SYS_CAP_INFO, slot, (long)out, 0, 0, 0, 0);
}

long sys_cap_derive(long slot, uint64_t rights, uint64_t offset, uint64_t count)
{
	return invoke(SYS_CAP_DERIVE, slot, (long)rights, (long)offset,
		      (long)count, 0, 0);
}

long sys_cap_grant(long slot, long env_slot, uint64_t rights, long want)
{
	return invoke(SYS_CAP_GRANT, slot, env_slot, (long)rights, want, 0, 0);
}

long sys_cap_drop(long slot)
{
	return invoke(SYS_CAP_DROP, slot, 0, 0, 0, 0, 0);
}

long sys_frame_alloc(uint64_t paddr, uint64_t count, unsigned flags)
{
	return invoke(SYS_FRAME_ALLOC, (long)paddr, (long)count, flags, 0, 0,
		      0);
}

long sys_frame_free(long slot, uint64_t first, uint64_t count)
{
	return invoke(SYS_FRAME_FREE, slot, (long)first, (long)count, 0, 0, 0);
}

long sys_frame_vital(long slot, bool vital)
{
	return invoke(SYS_FRAME_VITAL, slot, vital, 0, 0, 0, 0);
}

long sys_pte_set(long env_slot, struct exo_pte_op *ops, unsigned long n)
{
	return invoke(SYS_PTE_SET, env_slot, (long)ops, (long)n, 0, 0, 0);
}

long sys_env_create(uint64_t frame_quota, uint64_t slot_quota)
{
	return invoke(SYS_ENV_CREATE, (long)frame_quota, (long)slot_quota, 0, 0,
		      0, 0);
}

long sys_env_set_regs(long env_slot, const struct exo_regs *regs)
{
	return invoke(SYS_ENV_SET_REGS, env_slot, (long)regs, 0, 0, 0, 0);
}

long sys_env_start(long env_slot)
{
	return invoke(SYS_ENV_START, env_slot, 0, 0, 0, 0, 0);
}

long sys_env_kill(long env_slot)
{
	return invoke(SYS_ENV_KILL, env_slot, 0, 0, 0, 0, 0);
}

long sys_env_set_quota(long env_slot, uint64_t frame_quota, uint64_t slot_quota)
{
	return invoke(SYS_ENV_SET_QUOTA, env_slot, (long)frame_quota,
		      (long)slot_quota, 0, 0, 0);
}

long sys_env_status(long env_slot, struct exo_env_status *out)
{
	return invoke(SYS_ENV_STATUS, env_slot, (long)out, 0, 0, 0, 0);
}

long sys_slot_alloc(long env_slot, uint64_t count, uint64_t flags)
{
	return invoke(SYS_SLOT_ALLOC, env_slot, (long)count, (long)flags, 0, 0,
		      0);
}

long sys_slot_free(long slot)
{
	return invoke(SYS_SLOT_FREE, slot, 0, 0, 0, 0, 0);
}

long sys_yield(exo_envid_t donate_to)
{
	return invoke(SYS_YIELD, donate_to, 0, 0, 0, 0, 0);
}

long sys_pct_create(uint64_t badge)
{
	return invoke(SYS_PCT_CREATE, (long)badge, 0, 0, 0, 0, 0);
}

/* The words a PCT call sends: the caller's, or zeros for in == NULL. */
static uint64_t pct_word(const uint64_t in[LIBOS_PCT_WORDS], unsigned i)
{
	return in ? in[i] : 0;
}

/*
 * SYS_PCT_CALL: (slot, w0..w3) in %rdi %rsi %rdx %r10 %r8; the reply's
 * four words come back in %rdi %rsi %rdx %r10, hence the in-out operands.
 */
long sys_pct_call(long slot, const uint64_t in[LIBOS_PCT_WORDS],
		  uint64_t out[LIBOS_PCT_WORDS])
{
	register uint64_t rdi __asm__("rdi") = (uint64_t)slot;
	register uint64_t rsi __asm__("rsi") = pct_word(in, 0);
	register uint64_t rdx __asm__("rdx") = pct_word(in, 1);
	register uint64_t r10 __asm__("r10") = pct_word(in, 2);
	register uint64_t r8 __asm__("r8") = pct_word(in, 3);
	long ret = SYS_PCT_CALL;

	__asm__ volatile("syscall"
			 : "+a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx),
			   "+r"(r10), "+r"(r8)
			 :
			 : "rcx", "r11", "memory");
	if (ret == E_OK && out) {
		out[0] = rdi;
		out[1] = rsi;
		out[2] = rdx;
		out[3] = r10;
	}
	return ret;
}

long sys_pct_send(long slot, const uint64_t in[LIBOS_PCT_WORDS])
{
	return invoke(SYS_PCT_SEND, slot, (long)pct_word(in, 0),
		      (long)pct_word(in, 1), (long)pct_word(in, 2),
		      (long)pct_word(in, 3), 0);
}

_Noreturn void sys_pct_return(const uint64_t out[LIBOS_PCT_WORDS])
{
	invoke(SYS_PCT_RETURN, (long)pct_word(out, 0), (long)pct_word(out, 1),
	       (long)pct_word(out, 2), (long)pct_word(out, 3), 0, 0);
	unreachable_return();
}
