/*
 * adv_exec.c: an adversary that jumps where it may not execute and runs
 * instructions ring 3 may not: calls into the kernel image and the
 * direct map, to non-canonical addresses, into its own non-executable
 * data, stack, read-only data, uenv and UVPT pages and into unmapped
 * memory; privileged instructions (cli, hlt, port I/O to exovmm's exit and
 * hypercall ports, MSRs, control and debug registers, descriptor tables,
 * swapgs, sysret, software interrupts through kernel-only gates); and
 * popf with IF clear.  Owned by the adversarial boot tests
 * (tests/boot/adversarial.sh), which run it as `run=adv_exec,good`.
 *
 * Each attempt runs in a probe with an exception handler installed: the
 * fault must reach the env as an exception upcall with the right vector,
 * error code and address, and the env carries on.  Interrupts must stay
 * on (its slices keep being counted while it spins).  Last, with the
 * handler removed, it jumps into the kernel image: the kernel must kill
 * it ("killed: exception 14 ... and no handler") and let good finish.
 */
#include "t_util.h"

#define DIRECT_MAP_KERNEL 0xffff800000100000ull
#define NONCANON 0x0000800000000000ull
#define NONCANON_HIGH 0xdead00000000beefull
#define SCRATCH_VA 0x20000000ull
#define RET_INSN 0xc3
#define HVC_CONSOLE_PORT 0x500 /* EXO_HVC_PORT(EXO_HVC_CONSOLE) */
#define EXIT_PORT 0xf4	       /* EXO_EXIT_PORT */
#define MSR_LSTAR 0xc0000082

#define T_DE 0
#define T_UD 6
#define T_GP 13
#define RFLAGS_IF 0x200ull
#define RFLAGS_IOPL 0x3000ull

/* ---- Probes (T_PROBE, t_util.h): 1 if they faulted, else 0 ---- */
T_PROBE(probe_call, "\tcall *%rdi");
T_PROBE(probe_cli, "\tcli");
T_PROBE(probe_sti, "\tsti");
T_PROBE(probe_hlt, "\thlt");
T_PROBE(probe_inb, "\tinb $0x80, %al");
/*
 * Two forbidden accesses in one block, then a store to where an emulating
 * backend keeps its trampoline: the first faults, nothing after it runs.
 */
T_PROBE(probe_out_twice, "\toutb %al, $0x80\n\toutb %al, $0x80\n"
			 "\tmovq %rax, 0xfe006000");
T_PROBE(probe_out_exit,
	"\tmovl $0xf4, %edx\n\txorl %eax, %eax\n\toutl %eax, %dx");
T_PROBE(probe_out_hvc,
	"\tmovl $0x500, %edx\n\txorl %eax, %eax\n\toutl %eax, %dx");
T_PROBE(probe_rdmsr, "\tmovl $0xc0000082, %ecx\n\trdmsr");
T_PROBE(probe_wrmsr, "\tmovl $0xc0000082, %ecx\n\txorl %eax, %eax\n"
		     "\txorl %edx, %edx\n\twrmsr");
T_PROBE(probe_read_cr3, "\tmovq %cr3, %rax");
T_PROBE(probe_write_cr3, "\tmovq %rdi, %cr3");
T_PROBE(probe_write_cr0, "\tmovq %rdi, %cr0");
T_PROBE(probe_write_dr7, "\tmovq %rdi, %dr7");
T_PROBE(probe_clts, "\tclts");
T_PROBE(probe_lgdt, "\tlgdt (%rdi)");
T_PROBE(probe_lidt, "\tlidt (%rdi)");
T_PROBE(probe_invlpg, "\tinvlpg (%rdi)");
T_PROBE(probe_wbinvd, "\twbinvd");
T_PROBE(probe_sgdt, "\tsgdt (%rdi)");
T_PROBE(probe_sidt, "\tsidt (%rdi)");
T_PROBE(probe_smsw, "\tsmsw %ax");
T_PROBE(probe_str, "\tstr %ax");
T_PROBE(probe_swapgs, "\tswapgs");
T_PROBE(probe_sysret, "\tsysretq");
T_PROBE(probe_int80, "\tint $0x80");
T_PROBE(probe_int3, "\tint3");
T_PROBE(probe_int_pf, "\tint $14");
T_PROBE(probe_int_timer, "\tint $0x20");
T_PROBE(probe_int_spurious, "\tint $0xff");
T_PROBE(probe_ud2, "\tud2");
T_PROBE(probe_div0, "\txorl %ecx, %ecx\n\tmovl $1, %eax\n\txorl %edx, %edx\n"
		    "\tdivl %ecx");
/* popf with IF clear and IOPL 3; returns the flags read back after. */
T_PROBE(probe_popf, "\tpushfq\n\tandq $~0x200, (%rsp)\n\torq $0x3000, (%rsp)\n"
		    "\tpopfq\n\tpushfq\n\tpopq %rdx\n\tmovq %rdx, (%rdi)");

/*
 * A call to target must fault with #PF on fetching it: a user fetch (U
 * and I set), not present (P clear) when nothing is mapped there.  For
 * mapped targets the P bit is not judged: this host's KVM reports P clear
 * when the no-execute bit or the supervisor page is above the leaf (the
 * UVPT's PML4 entry, the direct map's 1 GiB pages), P set otherwise.
 */
static void no_exec(const char *what, uint64_t target, bool present)
{
	uint64_t n0 = t_fault.count;
	long r = probe_call(target, 0);

	tap_ok(r == 1 && t_fault.count == n0 + 1 &&
		   t_fault.trapno == T_VEC_PF && t_fault.addr == target &&
		   t_fault.rip == target &&
		   (t_fault.error & (T_PF_WRITE | T_PF_USER | T_PF_FETCH)) ==
		       (T_PF_USER | T_PF_FETCH) &&
		   (present || !(t_fault.error & T_PF_PRESENT)),
	       "call %s (0x%lx): trap %lu error 0x%lx addr 0x%lx (want #PF, "
	       "a user fetch%s)",
	       what, (unsigned long)target, (unsigned long)t_fault.trapno,
	       (unsigned long)t_fault.error, (unsigned long)t_fault.addr,
	       present ? "" : ", not present");
}

/*
 * A software interrupt through a gate only the kernel may use must reach
 * the env as an exception and never the kernel's handler for that vector
 * (a timer tick, a page fault, a panic for an unknown vector).  The CPU
 * raises #GP(vector * 8 + 2); this host's KVM raises #UD for `int n`, and
 * delivers int3 as #BP: both are the env's own exception too.
 */
static void no_int(const char *what, long (*probe)(uint64_t, uint64_t),
		   unsigned vector)
{
	uint64_t n0 = t_fault.count;
	long r = probe(0, 0);
	bool ok = t_fault.trapno == T_GP
		      ? t_fault.error == vector * 8 + 2
		      : t_fault.trapno == T_UD ||
			    (vector == 3 && t_fault.trapno == 3);

	tap_ok(r == 1 && t_fault.count == n0 + 1 && ok,
	       "%s: trap %lu error 0x%lx, the env's (want #GP 0x%x)", what,
	       (unsigned long)t_fault.trapno, (unsigned long)t_fault.error,
	       vector * 8 + 2);
}

/* The probe must fault with trap and error. */
static void faults(const char *what, long (*probe)(uint64_t, uint64_t),
		   uint64_t arg, uint64_t trap, uint64_t error)
{
	uint64_t n0 = t_fault.count;
	long r = probe(arg, 0);

	tap_ok(r == 1 && t_fault.count == n0 + 1 && t_fault.trapno == trap &&
		   t_fault.error == error,
	       "%s: trap %lu error 0x%lx (want %lu, 0x%lx)", what,
	       (unsigned long)t_fault.trapno, (unsigned long)t_fault.error,
	       (unsigned long)trap, (unsigned long)error);
}

/*
 * The instructions UMIP forbids in ring 3 fault where the CPU has it (the
 * kernel turns it on); without it (QEMU's TCG has none) the architecture
 * allows them, and they must simply run.
 */
#define UMIP_PROBES 4
static void umip_faults(const char *what, long (*probe)(uint64_t, uint64_t), uint64_t arg)
{
	uint64_t n0 = t_fault.count;
	long r;

	if (t_cpu_has_umip()) {
		faults(what, probe, arg, T_GP, 0);
		return;
	}
	r = probe(arg, 0);
	tap_ok(r == 0 && t_fault.count == n0, "%s: runs (no UMIP on this CPU)", what);
}

static void ret_only(void)
{
	__asm__ volatile("");
}

static const uint8_t ro_ret[16] = {RET_INSN};
static uint8_t data_ret[16] = {RET_INSN};

int main(void)
{
	volatile uint8_t stack_ret[16] = {RET_INSN};
	uint8_t table[16] = {0};
	struct exo_sysinfo info;
	uint64_t flags = 0, slices0, t0, spin_tsc;
	struct exo_pte_op ops[2];
	long r, slot;

	tap_plan(50);
	r = libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_probe_fault);
	tap_ok(r == 0, "exception handler installed: %ld", r);
	r = probe_call((uint64_t)ret_only, 0);
	tap_ok(r == 0 && t_fault.count == 0,
	       "control: calling its own code works");

	/* Its own page, mapped both writable and (at a second address)
	 * executable: what an env may do with its own frames. */
	slot = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	ops[0] = (struct exo_pte_op){SCRATCH_VA, (uint32_t)slot, 0,
				     EXO_MAP_READ | EXO_MAP_WRITE, 0};
	ops[1] = (struct exo_pte_op){SCRATCH_VA + EXO_PAGE_SIZE, (uint32_t)slot,
				     0, EXO_MAP_READ | EXO_MAP_EXEC, 0};
	r = sys_pte_set(EXO_SLOT_SELF, ops, 2);
	*(volatile uint8_t *)SCRATCH_VA = RET_INSN;
	tap_ok(r == 2 && probe_call(SCRATCH_VA + EXO_PAGE_SIZE, 0) == 0 &&
		   t_fault.count == 0,
	       "control: code it wrote runs from its executable alias");
	no_exec("its writable alias", SCRATCH_VA, true);

	no_exec("the kernel image", T_KERNEL_TEXT_VA, true);
	no_exec("the direct map", DIRECT_MAP_KERNEL, true);
	no_exec("its data", (uint64_t)data_ret, true);
	no_exec("its read-only data", (uint64_t)ro_ret, true);
	no_exec("its stack", (uint64_t)stack_ret, true);
	*(volatile uint8_t *)(EXO_UENV + EXO_PAGE_SIZE - 1) = RET_INSN;
	no_exec("its uenv page", EXO_UENV + EXO_PAGE_SIZE - 1, true);
	no_exec("the UVPT view", EXO_UVPT, true);
	no_exec("unmapped memory", 0x1000, false);
	no_exec("the map limit", EXO_USER_MAP_LIMIT, false);

	/*
	 * Non-canonical targets fault on the call itself (#GP).  QEMU's TCG
	 * makes the call and faults fetching at the target instead.
	 */
	r = probe_call(NONCANON, 0);
	if (t_cpu_is_tcg())
		tap_ok(r == 1 && t_fault.trapno == T_GP && t_fault.rip == NONCANON,
		       "call a non-canonical address: trap %lu at rip 0x%lx "
		       "(TCG: at the target, not the call)",
		       (unsigned long)t_fault.trapno, (unsigned long)t_fault.rip);
	else
		tap_ok(r == 1 && t_fault.trapno == T_GP && t_fault.rip != NONCANON &&
			   t_fault.rip >= 0x400000 && t_fault.rip < 0x600000,
		       "call a non-canonical address: trap %lu at rip 0x%lx",
		       (unsigned long)t_fault.trapno, (unsigned long)t_fault.rip);
	r = probe_call(NONCANON_HIGH, 0);
	tap_ok(r == 1 && t_fault.trapno == T_GP, "call 0x%lx: trap %lu",
	       (unsigned long)NONCANON_HIGH, (unsigned long)t_fault.trapno);

	/* Privileged instructions: #GP(0) in ring 3. */
	faults("cli", probe_cli, 0, T_GP, 0);
	faults("sti", probe_sti, 0, T_GP, 0);
	faults("hlt", probe_hlt, 0, T_GP, 0);
	faults("in from port 0x80", probe_inb, 0, T_GP, 0);
	faults("out twice, then a store to 0xfe006000", probe_out_twice, 0, T_GP, 0);
	faults("out to exovmm's exit port", probe_out_exit, 0, T_GP, 0);
	faults("out to exovmm's console hypercall port", probe_out_hvc, 0,
	       T_GP, 0);
	faults("rdmsr LSTAR", probe_rdmsr, 0, T_GP, 0);
	faults("wrmsr LSTAR", probe_wrmsr, 0, T_GP, 0);
	faults("mov from cr3", probe_read_cr3, 0, T_GP, 0);
	faults("mov to cr3", probe_write_cr3, 0, T_GP, 0);
	faults("mov to cr0", probe_write_cr0, 0, T_GP, 0);
	faults("mov to dr7", probe_write_dr7, 0x400, T_GP, 0);
	faults("clts", probe_clts, 0, T_GP, 0);
	faults("lgdt", probe_lgdt, (uint64_t)table, T_GP, 0);
	faults("lidt", probe_lidt, (uint64_t)table, T_GP, 0);
	faults("invlpg", probe_invlpg, 0x400000, T_GP, 0);
	faults("wbinvd", probe_wbinvd, 0, T_GP, 0);
	umip_faults("sgdt (UMIP)", probe_sgdt, (uint64_t)table);
	umip_faults("sidt (UMIP)", probe_sidt, (uint64_t)table);
	umip_faults("smsw (UMIP)", probe_smsw, 0);
	umip_faults("str (UMIP)", probe_str, 0);
	faults("swapgs", probe_swapgs, 0, T_GP, 0);
	faults("sysret", probe_sysret, 0, T_GP, 0);
	no_int("int $0x80 (no such vector in the kernel)", probe_int80, 0x80);
	no_int("int3", probe_int3, 3);
	no_int("int $14 (the #PF gate)", probe_int_pf, 14);
	no_int("int $0x20 (the timer's vector)", probe_int_timer, 0x20);
	no_int("int $0xff (the spurious vector)", probe_int_spurious, 0xff);
	faults("ud2", probe_ud2, 0, T_UD, 0);
	faults("divide by zero", probe_div0, 0, T_DE, 0);

	/* popf cannot turn interrupts off or raise IOPL. */
	r = probe_popf((uint64_t)&flags, 0);
	tap_ok(r == 0 && (flags & RFLAGS_IF) && !(flags & RFLAGS_IOPL),
	       "popf with IF clear and IOPL 3: flags read back 0x%lx",
	       (unsigned long)flags);
	r = sys_sysinfo(&info);
	spin_tsc = info.tsc_khz * 60; /* 60 ms: several slices */
	slices0 = libos_uenv->slice.slices;
	__asm__ volatile("pushfq\n\tandq $~0x200, (%%rsp)\n\tpopfq" ::
				 : "memory", "cc");
	t0 = __builtin_ia32_rdtsc();
	while (__builtin_ia32_rdtsc() - t0 < spin_tsc)
		__asm__ volatile("" ::: "memory");
	tap_ok(r == 0 && libos_uenv->slice.slices > slices0 + 1,
	       "after popf without IF, a 60 ms spin still spans %lu slices",
	       (unsigned long)(libos_uenv->slice.slices - slices0));
	tap_ok(t_fault.count == 43 - (t_cpu_has_umip() ? 0 : UMIP_PROBES),
	       "%lu exceptions delivered, one per probe",
	       (unsigned long)t_fault.count);
	tap_ok(t_pte(0x400000) != 0 && sys_sysinfo(&info) == 0,
	       "the kernel still serves it");

	/* Now with no handler: the kernel must end it. */
	libos_set_handler(EXO_UPCALL_EXCEPTION, NULL);
	tap_diag("jumping into the kernel image with no handler");
	__asm__ volatile("jmp *%0" ::"r"(T_KERNEL_TEXT_VA));
	tap_diag("still alive after jumping into the kernel");
	return 1;
}
