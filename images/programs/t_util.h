/*
 * t_util.h: what the guest test programs share (header only: each
 * program is one .c file linked with guestlib): the t_* tests and the
 * adversaries (adv_*) that include it.  The orders protocol between a
 * test and its helper child t_child (and its PCT servers), waiting for a
 * child, finding a granted capability, starting threads, reading the
 * page tables through the UVPT view, single-op SYS_PTE_SET calls, a TAP
 * check of a call's result, faults provoked on purpose (from C, or from
 * assembly probes that may run any instruction) and the handlers that
 * record them, children built by hand from a few bytes of machine code,
 * and free user addresses for mappings.
 */
#ifndef T_UTIL_H
#define T_UTIL_H

#include <exo/hvc.h>

#include "libos.h"

/*
 * Free user addresses for test mappings, 1 MiB apart: far above the
 * program (0x400000) and far below the runtime's stacks.
 */
#define T_VA_BASE 0x20000000ull
#define T_VA_STEP 0x100000ull
#define T_VA(n) (T_VA_BASE + (uint64_t)(n)*T_VA_STEP)

/* How many times a test donates its CPU to a child before giving up. */
#define T_WAIT_TRIES 400

#define T_PAGE ((uint64_t)EXO_PAGE_SIZE)
#define T_KERNEL_VA 0xffffffff80000000ull    /* the kernel's window */
#define T_KERNEL_TEXT_VA 0xffffffff80100000ull /* its image, present */
#define T_DIRECT_MAP_VA 0xffff800000000000ull /* the kernel's direct map */
#define T_NONCANONICAL 0x8000000000000000ull
#define T_UNMAPPED_VA 0x1000ull /* the first 4 MiB are never mapped */

/* ---- Orders for t_child ----------------------------------------------------
 * A test spawns t_child stopped and grants it, in this order: a PCT
 * capability to the test whose badge is the order (mode | arg << 8), an
 * ENV capability to the test, and for some modes one extra capability.
 * t_child finds the order as the first PCT capability to its parent.
 * Without an order it spins (yields for ever).
 */
enum t_child_mode {
	CHILD_SPIN,	       /* yield for ever */
	CHILD_EXIT,	       /* exit with code arg */
	CHILD_SERVE,	       /* serve PCT calls (SERVE_*), badge arg */
	CHILD_CALL,	       /* call the extra PCT cap once: exit -result */
	CHILD_FAULT,	       /* touch T_UNMAPPED_VA with no handler */
	CHILD_FAULT_IN_HANDLER, /* fault inside its exception handler */
	CHILD_BATCH_KILL_SELF, /* SYS_BATCH of SYS_ENV_KILL(itself) */
	CHILD_EXIT_RAW,	       /* SYS_ENV_EXIT with code arg, unchecked */
	CHILD_ALLOC_ALL,       /* allocate frames until the quota says no */
	CHILD_SET_QUOTA_PARENT, /* SYS_ENV_SET_QUOTA on its parent */
	CHILD_NEST,	       /* spawn a spinning grandchild, then exit 0 */
	CHILD_UPCALL_NO_STACK, /* a handler but no usable upcall stack */
	CHILD_REVOKE,	       /* hold frames, serve; arg 1: give back */
};

/* CHILD_REVOKE: single frames it holds beside one vital frame. */
#define T_REVOKE_FRAMES 4
#define T_REVOKE_COOPERATE 1 /* arg: free frames when asked */

#define T_ORDER_MODE_BITS 8
#define T_ORDER(mode, arg)                                                     \
	((uint64_t)(mode) | (uint64_t)(arg) << T_ORDER_MODE_BITS)
#define T_ORDER_MODE(order) ((order) & ((1u << T_ORDER_MODE_BITS) - 1))
#define T_ORDER_ARG(order) ((order) >> T_ORDER_MODE_BITS)

/* CHILD_SERVE's operations: word 0 of a call. */
enum t_serve_op {
	SERVE_REVERSE, /* reply ~in[3], ~in[2], ~in[1], ~in[0] */
	SERVE_WHO,     /* reply badge, caller, calls so far, 0 */
	SERVE_STORE,   /* remember in[1..3] (for SYS_PCT_SEND) */
	SERVE_LAST,    /* reply the remembered words and how many stores */
	SERVE_YIELD_TO, /* donate to env in[1] until it is gone; reply
			   the last result (-E_NOENT) */
	SERVE_DIE,     /* kill itself inside the call */
	SERVE_STOP,    /* stop serving (reply 0 first) */
	SERVE_CALL_BACK, /* call the extra PCT cap; reply its result */
	SERVE_REVOKE_STATE, /* CHILD_REVOKE: frames used, live frames (the
			       vital one: bit 0, others counted from bit
			       8), revocation and repossession upcalls */
};
#define T_REVOKE_LIVE_SHIFT 8

/* Exit codes of CHILD_* modes beyond "ok" (0) and a call's -E_*. */
#define CHILD_EXIT_UNEXPECTED 50 /* a call went otherwise than planned */
#define CHILD_EXIT_NO_ORDER 51	 /* the granted capabilities are missing */

/* ---- Helpers ---------------------------------------------------------------- */

static inline exo_envid_t t_env_id(long env_slot)
{
	struct exo_env_status st;

	return sys_env_status(env_slot, &st) == E_OK ? st.id : EXO_ENV_NONE;
}

/* Like sys_env_status, but the state alone (EXO_ENV_STATE_FREE on error). */
static inline uint32_t t_env_state(long env_slot)
{
	struct exo_env_status st;

	return sys_env_status(env_slot, &st) == E_OK ? st.state
						     : EXO_ENV_STATE_FREE;
}

/*
 * Donate the CPU to the child until it is dead; returns its exit code, or
 * -1 if it still lives after T_WAIT_TRIES donations.
 */
static inline long t_wait(long env_slot)
{
	for (unsigned i = 0; i < T_WAIT_TRIES; i++) {
		struct exo_env_status st;

		if (sys_env_status(env_slot, &st) != E_OK)
			return -1;
		if (st.state == EXO_ENV_STATE_DEAD)
			return st.exit_code;
		sys_yield(st.id);
	}
	return -1;
}

/* The lowest slot from `from` holding a live cap of type naming object. */
static inline long t_find_cap(long from, uint32_t type, uint64_t object)
{
	for (long slot = from; slot < EXO_CAP_SLOTS; slot++) {
		struct exo_cap_info info;

		if (sys_cap_info(slot, &info) == E_OK && info.type == type &&
		    info.object == object)
			return slot;
	}
	return -1;
}

/*
 * Spawn t_child with an order (and an extra capability if extra >= 0,
 * granted with extra_rights), then start it.  parent_rights are the
 * rights of its ENV capability to us.  Returns its ENV slot or -E_*.
 */
static inline long t_child(unsigned mode, uint64_t arg, uint64_t quota,
			   unsigned slices, uint64_t parent_rights, long extra,
			   uint64_t extra_rights)
{
	long c = libos_spawn_stopped("t_child", quota, slices), order, err;

	if (c < 0)
		return c;
	order = sys_pct_create(T_ORDER(mode, arg));
	err = order < 0 ? order : sys_cap_grant(order, c, EXO_R_CALL, EXO_SLOT_ANY);
	if (order >= 0)
		sys_cap_drop(order);
	if (err >= 0)
		err = sys_cap_grant(EXO_SLOT_SELF, c, parent_rights, EXO_SLOT_ANY);
	if (err >= 0 && extra >= 0)
		err = sys_cap_grant(extra, c, extra_rights, EXO_SLOT_ANY);
	if (err >= 0)
		err = sys_env_start(c);
	if (err < 0) {
		libos_spawn_free(c);
		sys_cap_drop(c);
		return err;
	}
	return c;
}

/*
 * Start a t_child that serves PCT calls (CHILD_SERVE or CHILD_REVOKE) and
 * donate to it until the PCT capability it grants us appears among our
 * first slots: its slot in *pct (-1 if it never came).  Returns the
 * child's ENV slot or -E_*.
 */
#define T_SERVER_SLOTS_SCANNED 32
static inline long t_server(unsigned mode, uint64_t arg, uint64_t quota,
			    long extra, long *pct)
{
	long c = t_child(mode, arg, quota, 0, 0, extra, EXO_R_CALL);
	exo_envid_t id = c > 0 ? t_env_id(c) : EXO_ENV_NONE;

	*pct = -1;
	for (unsigned i = 0; c > 0 && i < T_WAIT_TRIES && *pct < 0; i++) {
		for (long s = EXO_SLOT_BOOT_SLICES;
		     s < T_SERVER_SLOTS_SCANNED && *pct < 0; s++) {
			struct exo_cap_info ci;

			if (sys_cap_info(s, &ci) == E_OK &&
			    ci.type == EXO_CAP_PCT && ci.object == id)
				*pct = s;
		}
		if (*pct < 0)
			sys_yield(id);
	}
	return c;
}

/*
 * Map and unmap a page at va so that the page tables for it exist: frame
 * counts measured afterwards do not see them appear.
 */
static inline void t_warm(uint64_t va)
{
	long f = libos_map_new(va, 1, EXO_MAP_READ, 0);

	if (f >= 0)
		sys_frame_free(f, 0, EXO_FRAME_REST);
}

/* A TAP check that a call returned what it must. */
static inline void t_want(const char *what, long got, long expect)
{
	tap_ok(got == expect, "%s: %ld (want %ld)", what, got, expect);
}

/*
 * Is this CPU QEMU's TCG (exovmm's Unicorn backend, or QEMU itself)?
 * Tests check its documented departures from the SDM its own way.
 */
static inline bool t_cpu_is_tcg(void)
{
	uint32_t a, b, c, d, sig[3];

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(EXO_HVC_CPUID_BASE), "c"(0));
	sig[0] = b;
	sig[1] = c;
	sig[2] = d;
	if (!memcmp(sig, EXO_HVC_TCG_SIGNATURE, sizeof(sig)))
		return true;
	if (memcmp(sig, EXO_HVC_SIGNATURE, sizeof(sig)) || a < EXO_HVC_CPUID_INFO)
		return false;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(EXO_HVC_CPUID_INFO), "c"(0));
	return d & EXO_HVC_F_TCG;
}

/* Does the CPU have UMIP (CPUID.7.0:ECX[2]), which the kernel then turns on? */
#define T_CPUID_STRUCTURED 7
#define T_CPUID_7_ECX_UMIP (1u << 2)
static inline bool t_cpu_has_umip(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(T_CPUID_STRUCTURED), "c"(0));
	return c & T_CPUID_7_ECX_UMIP;
}

static inline uint64_t t_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* Numbers through a thread's void * argument and return value. */
static inline void *t_to_ptr(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

static inline uint64_t t_from_ptr(void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Create n threads of fn(arg i); true if all were created. */
static inline bool t_create_all(libos_thread_t *t, unsigned n,
				libos_thread_fn fn)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++)
		ok = libos_thread_create(&t[i], fn, t_to_ptr(i)) == E_OK && ok;
	return ok;
}

/* ---- The page tables, read through the UVPT view ------------------------- */

/* The PTE mapping va, or 0 when a table above it is missing. */
static inline uint64_t t_pte(uint64_t va)
{
	for (int level = 4; level > 1; level--)
		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return 0;
	return *EXO_UVPT_ENTRY(va, 1);
}

/* The frame address in va's PTE (0 when a table above it is missing). */
static inline uint64_t t_pa(uint64_t va)
{
	return t_pte(va) & EXO_PTE_ADDR;
}

/* An op result the kernel never writes: the call did not reach the op. */
#define T_OP_UNTOUCHED (-1000)

/*
 * SYS_PTE_SET into env's tables with the one op {va, slot, index, perm}:
 * the call's return in *ret, the op's result back.
 */
static inline int32_t t_pte_set1(long env, uint64_t va, uint32_t slot,
				 uint32_t index, uint32_t perm, long *ret)
{
	struct exo_pte_op op = {.va = va,
				.slot = slot,
				.index = index,
				.perm = perm,
				.result = T_OP_UNTOUCHED};

	*ret = sys_pte_set(env, &op, 1);
	return op.result;
}

/* ---- Faults provoked on purpose --------------------------------------------
 * t_on_fault (install with libos_set_handler(EXO_UPCALL_EXCEPTION, ...))
 * records each exception upcall in t_fault and then applies t_fault.fix:
 * go on at t_fault.resume, map page 0 of t_fault.map_slot read-write at
 * the faulting page and retry, or return from a call whose target
 * faulted.  t_load, t_store and t_call do one access and say whether it
 * faulted.
 */
enum t_fix {
	T_FIX_SKIP, /* resume at t_fault.resume */
	T_FIX_MAP,  /* map t_fault.map_slot's page 0 read-write, retry */
	T_FIX_RET,  /* pop the return address into rip (a call faulted) */
};

static struct {
	volatile uint64_t count, trapno, error, addr, rip, rsp, rflags;
	volatile uint64_t resume;
	volatile long map_slot;
	volatile unsigned fix;
} t_fault;

static inline void t_record_fault(const struct exo_upcall_frame *f)
{
	t_fault.count++;
	t_fault.trapno = f->trapno;
	t_fault.error = f->error;
	t_fault.addr = f->addr;
	t_fault.rip = f->regs.rip;
	t_fault.rsp = f->regs.rsp;
	t_fault.rflags = f->regs.rflags;
}

static inline void t_on_fault(struct exo_upcall_frame *f)
{
	struct exo_pte_op op = {.va = f->addr & ~(T_PAGE - 1),
				.slot = (uint32_t)t_fault.map_slot,
				.perm = EXO_MAP_READ | EXO_MAP_WRITE};

	t_record_fault(f);
	switch (t_fault.fix) {
	case T_FIX_SKIP:
		f->regs.rip = t_fault.resume;
		break;
	case T_FIX_MAP:
		sys_pte_set(EXO_SLOT_SELF, &op, 1);
		break;
	case T_FIX_RET:
		f->regs.rip = *(const uint64_t *)f->regs.rsp;
		f->regs.rsp += sizeof(uint64_t);
		break;
	}
}

/* Read the quadword at va into *out (0 if it faulted); true if no fault. */
static inline bool t_load(uint64_t va, uint64_t *out)
{
	uint64_t before = t_fault.count, v = 0;

	t_fault.fix = T_FIX_SKIP;
	__asm__ volatile("lea 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %[resume]\n\t"
			 "movq (%[va]), %[v]\n"
			 "1:"
			 : [v] "+r"(v), [resume] "=m"(t_fault.resume)
			 : [va] "r"(va)
			 : "rax", "memory");
	if (out)
		*out = v;
	return t_fault.count == before;
}

/* Write v at va; true if no fault.  With fix T_FIX_MAP, retried. */
static inline bool t_store_fix(uint64_t va, uint64_t v, unsigned fix)
{
	uint64_t before = t_fault.count;

	t_fault.fix = fix;
	__asm__ volatile("lea 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %[resume]\n\t"
			 "movq %[v], (%[va])\n"
			 "1:"
			 : [resume] "=m"(t_fault.resume)
			 : [va] "r"(va), [v] "r"(v)
			 : "rax", "memory");
	return t_fault.count == before;
}

static inline bool t_store(uint64_t va, uint64_t v)
{
	return t_store_fix(va, v, T_FIX_SKIP);
}

/* Call the code at va (a lone `ret`); true if no fault. */
static inline bool t_call(uint64_t va)
{
	uint64_t before = t_fault.count;

	t_fault.fix = T_FIX_RET;
	__asm__ volatile("call *%[va]" : : [va] "r"(va) : "memory");
	return t_fault.count == before;
}

/* ---- Probes: faults provoked on purpose from assembly ----------------------
 * T_PROBE(name, body) defines long name(uint64_t a, uint64_t b), a in
 * %rdi and b in %rsi, that runs the assembly body and returns 0.  With
 * t_on_probe_fault installed (libos_set_handler(EXO_UPCALL_EXCEPTION,
 * ...)), a fault in body is recorded in t_fault and the probe returns 1
 * with the stack as it was at its start, whatever body pushed: so body
 * may be any instruction, a call or a privileged one, where t_load and
 * friends only load, store or call from C.  A fault outside a probe is
 * the test's own bug: the handler prints it and exits
 * T_EXIT_UNEXPECTED_FAULT rather than resume somewhere stale.
 */
#define T_EXIT_UNEXPECTED_FAULT 3

/* Also used by T_PROBE's assembly, which the compiler cannot see. */
static volatile uint64_t t_probe_armed __attribute__((used));
static volatile uint64_t t_probe_resume_rip __attribute__((used));
static volatile uint64_t t_probe_resume_rsp __attribute__((used));

#define T_PROBE(name, body)                                                    \
	__asm__(".text\n.globl " #name "\n.type " #name ", @function\n" #name  \
		":\n"                                                          \
		"\tleaq 1f(%rip), %rax\n"                                      \
		"\tmovq %rax, t_probe_resume_rip(%rip)\n"                      \
		"\tmovq %rsp, t_probe_resume_rsp(%rip)\n"                      \
		"\tmovq $1, t_probe_armed(%rip)\n" body "\n"                   \
		"\tmovq $0, t_probe_armed(%rip)\n"                             \
		"\txorl %eax, %eax\n"                                          \
		"1:\tret\n");                                                  \
	long name(uint64_t a, uint64_t b)

static inline void t_on_probe_fault(struct exo_upcall_frame *f)
{
	t_record_fault(f);
	if (!t_probe_armed) {
		libos_printf("# unexpected exception %lu error 0x%lx at rip "
			     "0x%lx addr 0x%lx\n",
			     (unsigned long)f->trapno, (unsigned long)f->error,
			     (unsigned long)f->regs.rip,
			     (unsigned long)f->addr);
		libos_exit(T_EXIT_UNEXPECTED_FAULT);
	}
	t_probe_armed = 0;
	f->regs.rip = t_probe_resume_rip;
	f->regs.rsp = t_probe_resume_rsp;
	f->regs.rax = 1;
}

#define T_PF_PRESENT 0x1 /* #PF error code bits */
#define T_PF_WRITE 0x2
#define T_PF_USER 0x4
#define T_PF_RSVD 0x8
#define T_PF_FETCH 0x10
/*
 * For kernel addresses kvm-pvm reports "present" or "reserved bit" from
 * one access to the next: checks of such faults ignore these two bits.
 */
#define T_PF_HOST_BITS (T_PF_PRESENT | T_PF_RSVD)
#define T_VEC_PF 14

/* Where a hand-built child's code goes. */
#define T_RAW_TEXT 0x400000ull

/*
 * A child made by hand: env_create, one frame holding `code` mapped
 * read-execute at T_RAW_TEXT, registers (rip = T_RAW_TEXT and rdi = arg),
 * not started.  *frames gets the code frame's slot (ours).  Returns the
 * ENV slot or -E_*.
 */
static inline long t_raw_child(const uint8_t *code, size_t len, uint64_t quota,
			       uint64_t arg, long *frames)
{
	struct exo_regs regs = {.rip = T_RAW_TEXT, .rdi = arg};
	struct exo_pte_op op = {.va = T_VA(0), .perm = 0};
	long c = sys_env_create(quota, 0), f, err;

	if (c < 0)
		return c;
	f = libos_map_new(T_VA(0), 1, EXO_MAP_READ | EXO_MAP_WRITE, 0);
	if (f < 0) {
		sys_env_kill(c);
		return f;
	}
	memcpy((void *)T_VA(0), code, len);
	sys_pte_set(EXO_SLOT_SELF, &op, 1); /* unmap our window on it */
	err = libos_map(c, T_RAW_TEXT, f, 0, 1, EXO_MAP_READ | EXO_MAP_EXEC);
	if (err == E_OK)
		err = sys_env_set_regs(c, &regs);
	if (err != E_OK) {
		sys_env_kill(c);
		sys_frame_free(f, 0, EXO_FRAME_REST);
		return err;
	}
	*frames = f;
	return c;
}

/* Machine code for hand-built children (see t_raw_child). */
static const uint8_t t_code_exit_rdi[] = {
    0x89, 0xff,			  /* mov %edi, %edi */
    0xb8, 0x01, 0x00, 0x00, 0x00, /* mov $SYS_ENV_EXIT, %eax */
    0x0f, 0x05,			  /* syscall */
    0xeb, 0xfe,			  /* jmp . */
};
_Static_assert(SYS_ENV_EXIT == 1, "t_code_exit_rdi's call number");

/* Count in the quadword at T_RAW_COUNTER, then yield to no one; repeat. */
#define T_RAW_COUNTER 0x600000ull
static const uint8_t t_code_count_yield[] = {
    0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, /* incq 0x600000 */
    0xb8, 0x14, 0x00, 0x00, 0x00,		    /* mov $SYS_YIELD, %eax */
    0x31, 0xff,					    /* xor %edi, %edi */
    0x0f, 0x05,					    /* syscall */
    0xeb, 0xed,					    /* jmp to the incq */
};
_Static_assert(SYS_YIELD == 20 && EXO_ENV_NONE == 0 &&
		   T_RAW_COUNTER == 0x600000ull,
	       "t_code_count_yield's constants");

static const uint8_t t_code_spin[] = {0xeb, 0xfe}; /* jmp . */

#endif /* T_UTIL_H */
