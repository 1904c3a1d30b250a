/*
 * t_exc.c: guest tests of exception dispatch to user level: for #DE, #BP,
 * #UD, #GP (a privileged instruction and a non-canonical address), #SS,
 * #PF (not present, protection, kernel addresses, with cr2 in
 * frame->addr) and #AC (RFLAGS.AC with CR0.AM on), the upcall frame holds
 * the vector, error code, faulting rip and the interrupted registers, and
 * the handler resumes the context in user mode: past the instruction, at
 * it again after fixing the cause, or with registers it changed.  A
 * fault inside the handler nests: a second upcall, its frame below the
 * first handler's stack, can fix the cause and let the first handler go
 * on.  Also the kernel's verdicts: no handler, a handler that faults
 * forever (nesting until its upcall stack overflows) and an unusable
 * upcall stack each kill the env (in a t_child).
 */
#include "t_util.h"

#define VEC_DE 0
#define VEC_BP 3
#define VEC_UD 6
#define VEC_SS 12
#define VEC_GP 13
#define VEC_AC 17
#define RFLAGS_AC (1ull << 18)
#define RFLAGS_CF (1ull << 0)
#define RFLAGS_DF (1ull << 10)
#define CHILD_QUOTA 64
#define MARK_RBX 0x1111222233334444ull
#define MARK_R15 0x99990000aaaabbbbull
#define DIVIDEND 1234
#define FIXED_QUOTIENT 77 /* what the #DE handler makes the division give */
#define REG_FROM_HANDLER 0xfeedfacecafef00dull
#define RW (EXO_MAP_READ | EXO_MAP_WRITE)
#define NEST_VA T_VA(2) /* unmapped until the nested handler maps it */
#define NEST_PATTERN 0x5eedf00d12345678ull
#define NESTED_DEPTH 2 /* the handler, and the one for its own fault */

/* Where the faulting instruction of the current site is. */
static volatile uint64_t at;

/*
 * Each site stores the addresses of labels 1 and 2 around its faulting
 * instruction in `at` and t_fault.resume, so the test can check the
 * frame's rip and t_on_fault (T_FIX_SKIP) goes on after it.
 */
#define SITE_LABELS                                                            \
	"lea 1f(%%rip), %%r11\n\t"                                             \
	"movq %%r11, %[at]\n\t"                                                \
	"lea 2f(%%rip), %%r11\n\t"                                             \
	"movq %%r11, %[after]\n\t"

static void skip_to_after(void)
{
	t_fault.fix = T_FIX_SKIP;
}

static bool saw(uint64_t before, uint64_t vector, uint64_t error)
{
	return t_fault.count == before + 1 && t_fault.trapno == vector &&
	       t_fault.error == error;
}

static void divide_error(void)
{
	uint64_t before = t_fault.count, q = DIVIDEND, zero = 0;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "xorl %%edx, %%edx\n"
				     "1:\tdivq %[d]\n"
				     "2:"
			 : "+a"(q), [at] "=m"(at), [after] "=m"(t_fault.resume)
			 : [d] "r"(zero)
			 : "rdx", "r11", "memory");
	tap_ok(saw(before, VEC_DE, 0) && t_fault.rip == at && t_fault.addr == 0,
	       "#DE: vector 0 at the div, no error code, no address");
	tap_ok(q == DIVIDEND, "#DE: resumed past the div, registers intact");
}

/* The #DE handler that makes the division's result FIXED_QUOTIENT. */
static void fix_division(struct exo_upcall_frame *f)
{
	t_on_fault(f);
	f->regs.rax = FIXED_QUOTIENT;
}

static void divide_fixed(void)
{
	uint64_t q = DIVIDEND, zero = 0;

	libos_set_handler(EXO_UPCALL_EXCEPTION, fix_division);
	__asm__ volatile(SITE_LABELS "xorl %%edx, %%edx\n"
				     "1:\tdivq %[d]\n"
				     "2:"
			 : "+a"(q), [at] "=m"(at), [after] "=m"(t_fault.resume)
			 : [d] "r"(zero)
			 : "rdx", "r11", "memory");
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	tap_ok(q == FIXED_QUOTIENT,
	       "a handler's change to a register (rax) is resumed");
}

static void breakpoint(void)
{
	uint64_t before = t_fault.count;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "1:\tint3\n"
				     "2:"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume)
			 :
			 : "r11", "memory");
	tap_ok(saw(before, VEC_BP, 0) && t_fault.rip == t_fault.resume,
	       "#BP: vector 3, rip already past the int3 (a trap)");
}

/* #UD with marked callee-saved registers: the frame and resume keep them. */
static void invalid_opcode(void)
{
	uint64_t before = t_fault.count, rbx = MARK_RBX;
	register uint64_t r15 __asm__("r15") = MARK_R15;
	uint64_t rbx_seen;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "1:\tud2\n"
				     "2:"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume), "+b"(rbx),
			   "+r"(r15)
			 :
			 : "r11", "memory");
	rbx_seen = rbx;
	tap_ok(saw(before, VEC_UD, 0) && t_fault.rip == at,
	       "#UD: vector 6 at the ud2");
	tap_ok(rbx_seen == MARK_RBX && r15 == MARK_R15,
	       "#UD: rbx and r15 survive the upcall and resumption");
}

static void general_protection(void)
{
	uint64_t before = t_fault.count, v = 0;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "1:\thlt\n"
				     "2:"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume)
			 :
			 : "r11", "memory");
	tap_ok(saw(before, VEC_GP, 0) && t_fault.rip == at,
	       "#GP: hlt in ring 3, vector 13 error 0 at the hlt");
	before = t_fault.count;
	__asm__ volatile(SITE_LABELS "1:\tmovq (%[p]), %[v]\n"
				     "2:"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume), [v] "+r"(v)
			 : [p] "r"(T_NONCANONICAL)
			 : "r11", "memory");
	tap_ok(saw(before, VEC_GP, 0) && t_fault.rip == at && v == 0 &&
		   t_fault.addr == 0,
	       "#GP: a non-canonical address, no cr2 in the frame");
}

/* Push with a non-canonical %rsp: #SS; the handler gives rsp back. */
static void stack_fault(void)
{
	uint64_t before = t_fault.count;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "movq %%rsp, %%r12\n\t"
				     "movq %[bad], %%rsp\n"
				     "1:\tpushq %%rax\n"
				     "2:\tmovq %%r12, %%rsp"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume)
			 : [bad] "r"(T_NONCANONICAL)
			 : "r11", "r12", "memory");
	if (t_cpu_is_tcg())
		tap_ok(saw(before, VEC_GP, 0) && t_fault.rsp == T_NONCANONICAL,
		       "#SS: a push at a non-canonical rsp, vector 12 (TCG raises #GP, 13)");
	else
		tap_ok(saw(before, VEC_SS, 0) && t_fault.rsp == T_NONCANONICAL,
		       "#SS: a push at a non-canonical rsp, vector 12");
}

/* The handler must not resume on the bad stack: it restores rsp. */
static void fix_stack(struct exo_upcall_frame *f)
{
	t_on_fault(f);
	if (f->regs.rsp == T_NONCANONICAL)
		f->regs.rsp = f->regs.r12;
}

static void page_faults(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	uint64_t va = T_VA(1), v, before;
	bool ok = true;

	before = t_fault.count;
	tap_ok(!t_load(va, &v) && saw(before, T_VEC_PF, T_PF_USER) &&
		   t_fault.addr == va,
	       "#PF: unmapped, cr2 in frame->addr, error user|read");
	t_fault.map_slot = f;
	before = t_fault.count;
	tap_ok(!t_store_fix(va + 8, 0x42, T_FIX_MAP) &&
		   saw(before, T_VEC_PF, T_PF_USER | T_PF_WRITE) &&
		   t_fault.addr == va + 8 && *(volatile uint64_t *)(va + 8) == 0x42,
	       "#PF: the handler maps the page and the write is retried");
	libos_map(EXO_SLOT_SELF, va, f, 0, 1, EXO_MAP_READ);
	before = t_fault.count;
	tap_ok(!t_store(va, 1) &&
		   saw(before, T_VEC_PF,
		       T_PF_PRESENT | T_PF_WRITE | T_PF_USER) &&
		   *(volatile uint64_t *)va == 0,
	       "#PF: a write to a read-only page, error present|write|user");
	/*
	 * Kernel memory is never reachable from ring 3.  Whether the fault
	 * says "present" or "reserved bit" depends on the host (kvm-pvm
	 * reports the direct map either way from one access to the next),
	 * so those two bits are not checked.
	 */
	static const uint64_t kernel[] = {T_KERNEL_TEXT_VA, T_DIRECT_MAP_VA,
					  T_DIRECT_MAP_VA + 0x100000};
	for (unsigned i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
		bool read, write;

		before = t_fault.count;
		read = !t_load(kernel[i], &v) && v == 0 &&
		       t_fault.count == before + 1 &&
		       t_fault.trapno == T_VEC_PF &&
		       (t_fault.error & ~T_PF_HOST_BITS) == T_PF_USER &&
		       t_fault.addr == kernel[i];
		before = t_fault.count;
		write = !t_store(kernel[i], 0) && t_fault.count == before + 1 &&
			t_fault.trapno == T_VEC_PF &&
			(t_fault.error & ~T_PF_HOST_BITS) ==
			    (T_PF_USER | T_PF_WRITE) &&
			t_fault.addr == kernel[i];
		if (!read || !write)
			tap_diag("%lx: read %d write %d (count %lu vector %lu "
				 "error %lx addr %lx)",
				 kernel[i], read, write,
				 t_fault.count - before, t_fault.trapno,
				 t_fault.error, t_fault.addr);
		ok = ok && read && write;
	}
	tap_ok(ok, "#PF: reading or writing the kernel image or direct map "
		   "faults (user), cr2 the address");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void alignment_check(void)
{
	static uint64_t words[2];
	uint64_t before = t_fault.count, v = 0, flags;
	const char *odd = (const char *)words + 1;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "pushfq\n\t"
				     "orq %[ac], (%%rsp)\n\t"
				     "popfq\n"
				     "1:\tmovq (%[p]), %[v]\n"
				     "2:\tpushfq\n\t"
				     "popq %[flags]\n\t"
				     "pushfq\n\t"
				     "andq %[noac], (%%rsp)\n\t"
				     "popfq"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume), [v] "+r"(v),
			   [flags] "=r"(flags)
			 : [p] "r"(odd), [ac] "i"(RFLAGS_AC),
			   [noac] "i"(~RFLAGS_AC)
			 : "r11", "memory", "cc");
	if (t_cpu_is_tcg())
		tap_ok(t_fault.count == before && v == 0,
		       "#AC: a misaligned load with RFLAGS.AC set, vector 17 "
		       "(TCG has no #AC: the load completes)");
	else
		tap_ok(saw(before, VEC_AC, 0) && t_fault.rip == at &&
			   (t_fault.rflags & RFLAGS_AC),
		       "#AC: a misaligned load with RFLAGS.AC set, vector 17");
	tap_ok(flags & RFLAGS_AC, "#AC: RFLAGS.AC is still set after resuming");
}

/* The #AC handler that clears AC and retries the load (which then works). */
static void clear_ac(struct exo_upcall_frame *f)
{
	t_on_fault(f);
	f->regs.rflags &= ~RFLAGS_AC;
	f->regs.rip = at; /* retry */
}

static void alignment_retry(void)
{
	static uint64_t words[2] = {0x1122334455667788ull,
				    0x99aabbccddeeff00ull};
	uint64_t v = 0, flags;
	const char *odd = (const char *)words + 1;

	libos_set_handler(EXO_UPCALL_EXCEPTION, clear_ac);
	__asm__ volatile(SITE_LABELS "pushfq\n\t"
				     "orq %[ac], (%%rsp)\n\t"
				     "popfq\n"
				     "1:\tmovq (%[p]), %[v]\n"
				     "2:\tpushfq\n\t"
				     "popq %[flags]"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume), [v] "+r"(v),
			   [flags] "=r"(flags)
			 : [p] "r"(odd), [ac] "i"(RFLAGS_AC)
			 : "r11", "memory", "cc");
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	/* TCG: no #AC, so no handler ran and AC is still set. */
	tap_ok(v == 0x0011223344556677ull && !(flags & RFLAGS_AC) == !t_cpu_is_tcg(),
	       t_cpu_is_tcg() ? "#AC: a handler that clears AC lets the load retry "
				"(TCG has no #AC: the load completes, AC stays)"
			      : "#AC: a handler that clears AC lets the load retry");
}

/* The upcall frame's flags: the interrupted ones, not the handler's. */
static void flags_kept(void)
{
	uint64_t before = t_fault.count;

	skip_to_after();
	__asm__ volatile(SITE_LABELS "stc\n\t"
				     "std\n"
				     "1:\tud2\n"
				     "2:\tcld"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume)
			 :
			 : "r11", "memory", "cc");
	tap_ok(saw(before, VEC_UD, 0) && (t_fault.rflags & RFLAGS_CF) &&
		   (t_fault.rflags & RFLAGS_DF),
	       "the frame holds the interrupted RFLAGS (CF, DF set)");
}

/* What nested_fault saw, at each depth. */
static struct {
	volatile unsigned depth, max_depth;
	volatile uint64_t outer_frame; /* where the first frame was */
	volatile uint64_t inner_frame, inner_rsp, inner_trapno, inner_addr;
	volatile long slot; /* the page the nested handler mapped */
	volatile bool outer_intact;
} nest;

/*
 * The handler of a ud2 that stores to NEST_VA, unmapped, itself: that
 * fault nests, and the nested entry (depth 2) maps the page and returns,
 * so the outer handler's store is retried and the outer handler goes on
 * with its frame and locals as they were, and skips the ud2.
 */
static void nested_fault(struct exo_upcall_frame *f)
{
	unsigned d = ++nest.depth;

	if (d > nest.max_depth)
		nest.max_depth = d;
	if (d > 1) {
		nest.inner_frame = (uint64_t)(uintptr_t)f;
		nest.inner_rsp = f->regs.rsp;
		nest.inner_trapno = f->trapno;
		nest.inner_addr = f->addr;
		nest.slot = libos_map_new(f->addr & ~(T_PAGE - 1), 1, RW, 0);
	} else {
		struct exo_upcall_frame saved = *f; /* a local on our stack */

		nest.outer_frame = (uint64_t)(uintptr_t)f;
		*(volatile uint64_t *)NEST_VA = NEST_PATTERN;
		/* The nested upcall ran here: really read *f and saved again. */
		__asm__ volatile("" : : : "memory");
		nest.outer_intact = !memcmp(&saved, f, sizeof(saved)) &&
				    f->trapno == VEC_UD && f->regs.rip == at;
		f->regs.rip = t_fault.resume;
	}
	nest.depth--;
}

static void nested(void)
{
	uint64_t base = libos_uenv->upcall_stack_base;
	uint64_t size = libos_uenv->upcall_stack_size, v = 0;

	libos_set_handler(EXO_UPCALL_EXCEPTION, nested_fault);
	__asm__ volatile(SITE_LABELS "1:\tud2\n"
				     "2:"
			 : [at] "=m"(at), [after] "=m"(t_fault.resume)
			 :
			 : "r11", "memory");
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	tap_ok(nest.max_depth == NESTED_DEPTH && nest.depth == 0 &&
		   nest.inner_trapno == T_VEC_PF && nest.inner_addr == NEST_VA,
	       "a fault in the exception handler nests: depth %u, #PF at the "
	       "page it touched",
	       nest.max_depth);
	tap_ok(nest.inner_rsp >= base && nest.inner_rsp - base < size &&
		   nest.inner_rsp < nest.outer_frame &&
		   nest.inner_frame + sizeof(struct exo_upcall_frame) <=
		       nest.inner_rsp - EXO_UPCALL_NEST_GAP,
	       "the nested frame: its rsp on the upcall stack below the first "
	       "frame, itself EXO_UPCALL_NEST_GAP bytes below that");
	tap_ok(nest.slot > 0 && nest.outer_intact,
	       "the nested handler maps the page and returns: the outer "
	       "handler's store is retried, its frame and locals intact");
	tap_ok(t_load(NEST_VA, &v) && v == NEST_PATTERN,
	       "and the outer handler completes: resumed past the ud2, its "
	       "store in place");
	sys_frame_free(nest.slot, 0, EXO_FRAME_REST);
}

static void verdicts(void)
{
	static const struct {
		unsigned mode;
		const char *what;
	} cases[] = {
	    {CHILD_FAULT, "a fault with no handler"},
	    {CHILD_FAULT_IN_HANDLER,
	     "a handler that faults forever (its upcall stack overflows)"},
	    {CHILD_UPCALL_NO_STACK, "a fault with no usable upcall stack"},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long c = t_child(cases[i].mode, 0, CHILD_QUOTA, 0, 0, -1, 0);

		tap_ok(c > 0 && t_wait(c) == EXO_ENV_KILLED,
		       "%s kills the env", cases[i].what);
		libos_spawn_free(c);
		sys_cap_drop(c);
	}
}

int main(void)
{
	tap_plan(24);
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	divide_error();
	divide_fixed();
	breakpoint();
	invalid_opcode();
	general_protection();
	libos_set_handler(EXO_UPCALL_EXCEPTION, fix_stack);
	stack_fault();
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	page_faults();
	alignment_check();
	alignment_retry();
	flags_kept();
	nested();
	verdicts();
	return tap_done();
}
