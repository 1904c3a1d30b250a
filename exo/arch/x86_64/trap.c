/*
 * trap.c: the IDT and what happens on every vector: the timer tick,
 * ignored spurious interrupts, a ring-3 exception (handed to the env's
 * upcall), an exception a self-test expects, and for any other kernel
 * exception a register dump and EXO_EXIT_EXCEPTION(vector).
 */
#include <exo/hvc.h>

#include "chunks.h"
#include "env.h"
#include "kern.h"
#include "sched.h"
#include "syscall.h"
#include "seg.h"
#include "timer.h"
#include "trap.h"
#include "upcall.h"
#include "x86.h"

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define GATE_DPL_USER 0x60  /* DPL 3: int3 and into may be used in ring 3 */

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct pseudo_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t trap_stubs[IDT_ENTRIES]; /* vectors.S */

static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));

static struct {
	bool armed;
	bool hit;
	unsigned vector;
	uintptr_t resume;
	struct trap_hit seen;
} expect;

static const char *const exception_names[T_NEXCEPTIONS] = {
    "#DE (divide error)",
    "#DB (debug)",
    "NMI (non-maskable interrupt)",
    "#BP (breakpoint)",
    "#OF (overflow)",
    "#BR (bound range exceeded)",
    "#UD (invalid opcode)",
    "#NM (device not available)",
    "#DF (double fault)",
    "(coprocessor segment overrun)",
    "#TS (invalid TSS)",
    "#NP (segment not present)",
    "#SS (stack-segment fault)",
    "#GP (general protection)",
    "#PF (page fault)",
    "(reserved)",
    "#MF (x87 floating-point error)",
    "#AC (alignment check)",
    "#MC (machine check)",
    "#XM (SIMD floating-point)",
    "#VE (virtualization exception)",
    "#CP (control protection)",
    "(reserved)",
    "(reserved)",
    "(reserved)",
    "(reserved)",
    "(reserved)",
    "(reserved)",
    "#HV (hypervisor injection)",
    "#VC (VMM communication)",
    "#SX (security exception)",
    "(reserved)",
};

/*
 * Every gate is DPL 0, so `int n` from ring 3 raises #GP, except #BP's
 * and #OF's: an env's int3 or into must reach its own handler as the
 * exception it is.  (A host's KVM that emulates ring 3's int3 delivered
 * #BP through a DPL 0 gate; the SDM and QEMU's TCG raise #GP.)
 */
static void set_gate(unsigned vec, uint64_t handler, unsigned ist)
{
	bool user = vec == T_BP || vec == T_OF;

	idt[vec] = (struct idt_gate){
	    .offset_low = handler & 0xffff,
	    .selector = SEL_KCODE,
	    .ist = ist,
	    .type = GATE_INTERRUPT | (user ? GATE_DPL_USER : 0),
	    .offset_mid = (handler >> 16) & 0xffff,
	    .offset_high = handler >> 32,
	};
}

void trap_init(void)
{
	struct pseudo_desc idtr = {sizeof(idt) - 1, (uintptr_t)idt};

	for (unsigned v = 0; v < IDT_ENTRIES; v++)
		set_gate(v, trap_stubs[v], v == T_DF ? IST_DOUBLE_FAULT : 0);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void trap_expect(unsigned vector, uintptr_t resume)
{
	expect.vector = vector;
	expect.resume = resume;
	expect.hit = false;
	expect.armed = true;
}

bool trap_take_hit(struct trap_hit *hit)
{
	bool was_hit = expect.hit;

	*hit = expect.seen;
	expect.armed = false;
	expect.hit = false;
	return was_hit;
}

static void dump(const struct trapframe *tf)
{
	kprintf("exo: EXCEPTION %lu %s error 0x%lx at rip %p\n", tf->vector,
		exception_names[tf->vector], tf->error, (void *)tf->rip);
	kprintf("exo:   rax=%p rbx=%p rcx=%p rdx=%p\n", (void *)tf->rax,
		(void *)tf->rbx, (void *)tf->rcx, (void *)tf->rdx);
	kprintf("exo:   rsi=%p rdi=%p rbp=%p rsp=%p\n", (void *)tf->rsi,
		(void *)tf->rdi, (void *)tf->rbp, (void *)tf->rsp);
	kprintf("exo:   r8=%p r9=%p r10=%p r11=%p\n", (void *)tf->r8,
		(void *)tf->r9, (void *)tf->r10, (void *)tf->r11);
	kprintf("exo:   r12=%p r13=%p r14=%p r15=%p\n", (void *)tf->r12,
		(void *)tf->r13, (void *)tf->r14, (void *)tf->r15);
	kprintf("exo:   rip=%p rflags=%p cs=0x%lx ss=0x%lx\n", (void *)tf->rip,
		(void *)tf->rflags, tf->cs, tf->ss);
	kprintf("exo:   cr0=%p cr2=%p cr3=%p cr4=%p\n", (void *)read_cr0(),
		(void *)read_cr2(), (void *)read_cr3(), (void *)read_cr4());
}

static void exception(struct trapframe *tf)
{
	static bool dumping;

	if (expect.armed && !expect.hit && tf->vector == expect.vector) {
		expect.seen = (struct trap_hit){(unsigned)tf->vector, tf->rip,
						tf->error, read_cr2()};
		expect.hit = true;
		tf->rip = expect.resume;
		return;
	}
	/* A fault while reporting a fault: leave without touching more. */
	if (dumping)
		exo_exit_quiet(EXO_EXIT_EXCEPTION(tf->vector));
	dumping = true;
	dump(tf);
	exo_exit(EXO_EXIT_EXCEPTION(tf->vector));
}

/* exovmm changed the mailbox. */
static void mailbox_interrupt(void)
{
	lapic_eoi();
	chunks_poll();
}

static bool is_spurious(uint64_t vec)
{
	return vec == VEC_SPURIOUS ||
	       (vec >= VEC_PIC_BASE && vec < VEC_PIC_BASE + VEC_PIC_COUNT);
}

struct trapframe *trap_dispatch(struct trapframe *tf)
{
	bool user = tf_from_user(tf);

	if (user && syscall_was_misdelivered(tf))
		return syscall_dispatch_misdelivered(tf);
	if (tf->vector < T_NEXCEPTIONS && user)
		upcall_exception(curenv, tf);
	else if (tf->vector < T_NEXCEPTIONS)
		exception(tf);
	else if (tf->vector == VEC_TIMER)
		timer_tick();
	else if (tf->vector == EXO_MAILBOX_VECTOR)
		mailbox_interrupt();
	else if (!is_spurious(tf->vector)) /* spurious ones take no EOI */
		panic("unexpected interrupt vector %lu at rip %p", tf->vector,
		      (void *)tf->rip);
	return user ? sched_resume() : tf;
}
