/*
 * test_x86_event.c: Check tests of exception and interrupt delivery
 * through a long-mode IDT (vmm/x86_event.c) against SDM vol. 3,
 * chapter 6 (6.12 to 6.15: gates, privilege checks, the stack switch to
 * the TSS's rsp0 or an IST stack, 16-byte alignment, the frame, RFLAGS,
 * CR2, and table 6-5's double-fault rules) and the INT n pseudocode of
 * vol. 2.
 *
 * The guest: 1 MiB of physical memory, identity-mapped by 4 KiB pages
 * (supervisor, writable) except a user stack page; an IDT, GDT and TSS in
 * it.  Every gate is a present DPL 0 interrupt gate to the kernel's code
 * segment unless a test changes it.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vmm/x86_event.h"

#define MEM_SIZE (1u << 20)

/* Paging: PML4 -> PDPT -> PD -> one PT identity-mapping 0..2 MiB. */
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull

#define IDT 0x10000ull
#define GDT 0x11000ull
#define TSS 0x12000ull
#define KSTACK_PAGE 0x20000ull
#define KPAGE_OTHER 0x21000ull /* another supervisor page */
#define IST1_PAGE 0x30000ull
#define IST2_PAGE 0x31000ull
#define USTACK_PAGE 0x40000ull
#define UNMAPPED_PAGE 0x50000ull

/* The stacks the TSS names: rsp0 is not 16-byte aligned, IST2 is. */
#define RSP0 (KSTACK_PAGE + 0xff8)
#define RSP0_ALIGNED (KSTACK_PAGE + 0xff0)
#define IST1 (IST1_PAGE + 0xffc)
#define IST1_ALIGNED (IST1_PAGE + 0xff0)
#define IST2 (IST2_PAGE + 0xfe0)

/* Selectors. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_CONFORMING 0x28
#define SEL_KCODE_NP 0x30
#define SEL_CODE32 0x38
#define SEL_DATA 0x40
#define SEL_CODE_LD 0x48
#define GDT_ENTRIES 10
#define SEL_BEYOND_GDT 0x50
#define SEL_TR 0x60

/* Descriptors (flat, limit 0xfffff, 4 KiB granularity). */
#define DESC_KCODE 0x00af9a000000ffffull /* 64-bit code, DPL 0 */
#define DESC_KDATA 0x00cf92000000ffffull
#define DESC_UDATA 0x00cff2000000ffffull      /* DPL 3 */
#define DESC_UCODE 0x00affa000000ffffull      /* 64-bit code, DPL 3 */
#define DESC_CONFORMING 0x00af9e000000ffffull /* conforming, DPL 0 */
#define DESC_KCODE_NP 0x00af1a000000ffffull   /* not present */
#define DESC_CODE32 0x00cf9a000000ffffull     /* L = 0, D = 1 */
#define DESC_DATA_L 0x00af92000000ffffull     /* data, its L bit set */
#define DESC_CODE_LD 0x00ef9a000000ffffull    /* L = 1, D = 1: reserved */

#define GATE_INT 0xe
#define GATE_TRAP 0xf
#define GATE_CALL 0xc

/* Ring 3's state when the event comes. */
#define USER_RIP 0x401234ull
#define USER_RSP (USTACK_PAGE + 0xf88)
#define USER_CS (SEL_UCODE | 3)
#define USER_SS (SEL_UDATA | 3)
/* IF TF NT RF AC and the reserved bit 1. */
#define USER_RFLAGS                                                            \
	(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF |       \
	 X86_RFLAGS_AC | 0x2)
/* What is left of them in the handler. */
#define RFLAGS_INT_GATE (X86_RFLAGS_AC | 0x2)
#define RFLAGS_TRAP_GATE (X86_RFLAGS_IF | X86_RFLAGS_AC | 0x2)

/* Ring 0's: on the kernel stack page, below rsp0. */
#define KERNEL_RIP 0xffff800000101000ull
#define KERNEL_RSP (KSTACK_PAGE + 0x808)
#define KERNEL_RSP_ALIGNED (KSTACK_PAGE + 0x800)

#define FILL 0xaa
#define FILL64 0xaaaaaaaaaaaaaaaaull

static _Alignas(4096) uint8_t mem[MEM_SIZE];

static void *mem_at(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return mem + gpa;
}

static const struct x86_phys phys = {.at = mem_at, .ctx = NULL};

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, sizeof(v));
	return v;
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/* The handler of every vector: a canonical address using all three
 * offset fields of a gate. */
static uint64_t handler(unsigned vector)
{
	return 0xffff800012340000ull + vector * 0x10;
}

static void set_gate(unsigned vector, uint16_t sel, uint64_t offset,
		     unsigned type, unsigned dpl, bool present, unsigned ist)
{
	uint8_t *g = mem + IDT + vector * 16;
	uint16_t low = (uint16_t)offset, mid = (uint16_t)(offset >> 16);
	uint32_t high = (uint32_t)(offset >> 32);

	memset(g, 0, 16);
	memcpy(g, &low, 2);
	memcpy(g + 2, &sel, 2);
	g[4] = (uint8_t)ist;
	g[5] = (uint8_t)((present ? 0x80 : 0) | dpl << 5 | type);
	memcpy(g + 6, &mid, 2);
	memcpy(g + 8, &high, 4);
}

static void gate(unsigned vector, unsigned type, unsigned dpl)
{
	set_gate(vector, SEL_KCODE, handler(vector), type, dpl, true, 0);
}

static void gate_ist(unsigned vector, unsigned ist)
{
	set_gate(vector, SEL_KCODE, handler(vector), GATE_INT, 0, true, ist);
}

/* Page page's leaf entry: flags, or 0 for not present. */
static void page_flags(uint64_t page, uint64_t flags)
{
	put64(PT + (page >> 12) * 8, flags ? page | flags : 0);
}

/* Build the guest and return ring 3's state. */
static struct x86_cpu world(void)
{
	static const uint64_t gdt[GDT_ENTRIES] = {
	    0,		 DESC_KCODE,	  DESC_KDATA,	 DESC_UDATA,
	    DESC_UCODE,	 DESC_CONFORMING, DESC_KCODE_NP, DESC_CODE32,
	    DESC_DATA_L, DESC_CODE_LD};

	memset(mem, 0, sizeof(mem));
	put64(PML4, PDPT | X86_PTE_P | X86_PTE_W | X86_PTE_U);
	put64(PDPT, PD | X86_PTE_P | X86_PTE_W | X86_PTE_U);
	put64(PD, PT | X86_PTE_P | X86_PTE_W | X86_PTE_U);
	for (uint64_t page = 0; page < MEM_SIZE; page += X86_PAGE_SIZE)
		page_flags(page, X86_PTE_P | X86_PTE_W);
	page_flags(USTACK_PAGE, X86_PTE_P | X86_PTE_W | X86_PTE_U);
	page_flags(UNMAPPED_PAGE, 0);

	for (unsigned v = 0; v < 256; v++)
		gate(v, GATE_INT, 0);
	memcpy(mem + GDT, gdt, sizeof(gdt));
	put64(TSS + 4, RSP0);
	put64(TSS + 12, 0x7777000ull); /* rsp1, rsp2: never used here */
	put64(TSS + 20, 0x7778000ull);
	put64(TSS + 0x24, IST1);
	put64(TSS + 0x2c, IST2);
	for (unsigned i = 3; i <= 7; i++)
		put64(TSS + 0x24 + (i - 1) * 8, 0x7779000ull);
	memset(mem + KSTACK_PAGE, FILL, X86_PAGE_SIZE);
	memset(mem + IST1_PAGE, FILL, X86_PAGE_SIZE);
	memset(mem + IST2_PAGE, FILL, X86_PAGE_SIZE);
	memset(mem + USTACK_PAGE, FILL, X86_PAGE_SIZE);

	return (struct x86_cpu){
	    .rip = USER_RIP,
	    .rsp = USER_RSP,
	    .rflags = USER_RFLAGS,
	    .cr2 = 0x1111000ull,
	    .cs = USER_CS,
	    .ss = USER_SS,
	    .pg = {.cr0 = 0x80050033ull,
		   .cr3 = PML4,
		   .cr4 = 0x20,
		   .efer = 0xd00 | X86_EFER_NXE,
		   .rflags = USER_RFLAGS},
	    .idt_base = IDT,
	    .idt_limit = 256 * 16 - 1,
	    .gdt_base = GDT,
	    .gdt_limit = GDT_ENTRIES * 8 - 1,
	    .tss_base = TSS,
	    .tss_limit = 0x67,
	    .tr = SEL_TR,
	};
}

/* Ring 0's state, on the kernel stack. */
static struct x86_cpu world_ring0(void)
{
	struct x86_cpu cpu = world();

	cpu.rip = KERNEL_RIP;
	cpu.rsp = KERNEL_RSP;
	cpu.cs = SEL_KCODE;
	cpu.ss = SEL_KDATA;
	return cpu;
}

static struct x86_event exception(uint8_t vector, uint32_t error)
{
	return (struct x86_event){.vector = vector,
				  .kind = X86_EV_EXCEPTION,
				  .has_error = x86_exception_has_error(vector),
				  .error = error};
}

static struct x86_event page_fault(uint64_t cr2, uint32_t error)
{
	struct x86_event ev = exception(X86_VEC_PF, error);

	ev.cr2 = cr2;
	return ev;
}

static struct x86_event software(uint8_t vector)
{
	return (struct x86_event){.vector = vector, .kind = X86_EV_SOFTWARE};
}

static struct x86_event external(uint8_t vector)
{
	return (struct x86_event){.vector = vector, .kind = X86_EV_EXTERNAL};
}

/* Delivery that must reach vector's handler without a triple fault. */
static struct x86_delivery deliver(struct x86_cpu *cpu, struct x86_event ev,
				   uint8_t vector)
{
	struct x86_delivery d = x86_deliver(&phys, cpu, ev);

	ck_assert_msg(!d.triple_fault, "triple fault delivering %u", ev.vector);
	ck_assert_uint_eq(d.vector, vector);
	ck_assert_uint_eq(cpu->rip, handler(vector));
	return d;
}

/* The frame at rsp, lowest address first. */
static void expect_frame(uint64_t rsp, const uint64_t *words, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ck_assert_msg(get64(rsp + i * 8) == words[i],
			      "frame word %u at %#llx: %#llx, not %#llx", i,
			      (unsigned long long)(rsp + i * 8),
			      (unsigned long long)get64(rsp + i * 8),
			      (unsigned long long)words[i]);
}

/* The ring 3 frame of an event with error code error. */
static void expect_user_frame(uint64_t rsp, uint64_t error)
{
	const uint64_t words[] = {error,       USER_RIP, USER_CS,
				  USER_RFLAGS, USER_RSP, USER_SS};

	expect_frame(rsp, words, 6);
}

/* --- Basic delivery -------------------------------------------------- */

/* Vectors 0..20 (21 and up are CET's #CP and the reserved ones). */
START_TEST(test_has_error)
{
	static const uint8_t with[] = {8, 10, 11, 12, 13, 14, 17};

	for (unsigned v = 0; v <= 20; v++) {
		bool expected = memchr(with, (int)v, sizeof(with)) != NULL;

		ck_assert_msg(x86_exception_has_error((uint8_t)v) == expected,
			      "vector %u", v);
	}
}
END_TEST

/* A #PF from ring 3 through an interrupt gate: the stack switch to rsp0
 * aligned down to 16, the frame, the handler's state and CR2. */
START_TEST(test_page_fault_from_ring3)
{
	struct x86_cpu cpu = world();
	struct x86_delivery d;

	d = deliver(&cpu, page_fault(0xdead123, X86_PF_W | X86_PF_U), 14);
	ck_assert_uint_eq(d.cs_desc, DESC_KCODE);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	expect_user_frame(cpu.rsp, X86_PF_W | X86_PF_U);
	/* The 8 bytes of alignment above the frame are left alone. */
	ck_assert_uint_eq(get64(RSP0_ALIGNED), FILL64);
	ck_assert_uint_eq(get64(cpu.rsp - 8), FILL64);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, 0); /* null selector, RPL 0 */
	ck_assert_uint_eq(cpu.rflags, RFLAGS_INT_GATE);
	ck_assert_uint_eq(cpu.cr2, 0xdead123);
	/* The user stack is not touched. */
	ck_assert_uint_eq(get64(USER_RSP - 8), FILL64);
}
END_TEST

/* Only #PF sets CR2. */
START_TEST(test_cr2_only_for_page_fault)
{
	struct x86_cpu cpu = world();
	struct x86_event ev = exception(X86_VEC_GP, 0);

	ev.cr2 = 0xbad000;
	deliver(&cpu, ev, 13);
	ck_assert_uint_eq(cpu.cr2, 0x1111000);
}
END_TEST

/* int3 from ring 3 through a DPL 3 trap gate: IF kept, TF NT RF cleared,
 * no error code. */
START_TEST(test_trap_gate_keeps_if)
{
	struct x86_cpu cpu = world();
	const uint64_t words[] = {USER_RIP, USER_CS, USER_RFLAGS, USER_RSP,
				  USER_SS};

	gate(X86_VEC_BP, GATE_TRAP, 3);
	deliver(&cpu, software(X86_VEC_BP), X86_VEC_BP);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 5 * 8);
	expect_frame(cpu.rsp, words, 5);
	ck_assert_uint_eq(cpu.rflags, RFLAGS_TRAP_GATE);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, 0);
}
END_TEST

/* An interrupt in ring 0: no stack switch, the frame pushed on the current
 * stack (aligned to 16 first), SS kept. */
START_TEST(test_same_privilege)
{
	struct x86_cpu cpu = world_ring0();
	const uint64_t rflags = X86_RFLAGS_IF | 0x2 | X86_RFLAGS_RF;
	const uint64_t words[] = {KERNEL_RIP, SEL_KCODE, rflags, KERNEL_RSP,
				  SEL_KDATA};

	cpu.rflags = rflags;
	deliver(&cpu, external(0x20), 0x20);
	ck_assert_uint_eq(cpu.rsp, KERNEL_RSP_ALIGNED - 5 * 8);
	expect_frame(cpu.rsp, words, 5);
	ck_assert_uint_eq(get64(KERNEL_RSP_ALIGNED), FILL64);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, SEL_KDATA);
	ck_assert_uint_eq(cpu.rflags, 0x2);
	/* Nothing at the TSS's rsp0. */
	ck_assert_uint_eq(get64(RSP0_ALIGNED - 8), FILL64);
}
END_TEST

/* A gate naming IST2: that stack, even without a privilege change. */
START_TEST(test_ist_same_privilege)
{
	struct x86_cpu cpu = world_ring0();
	const uint64_t words[] = {0,	       KERNEL_RIP, SEL_KCODE,
				  USER_RFLAGS, KERNEL_RSP, SEL_KDATA};

	gate_ist(X86_VEC_DF, 2);
	deliver(&cpu, exception(X86_VEC_DF, 0), X86_VEC_DF);
	ck_assert_uint_eq(cpu.rsp, IST2 - 6 * 8);
	expect_frame(cpu.rsp, words, 6);
	ck_assert_uint_eq(cpu.ss, SEL_KDATA);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(get64(KERNEL_RSP_ALIGNED - 8), FILL64);
}
END_TEST

/* IST1 from ring 3: that stack, aligned, and SS null. */
START_TEST(test_ist_from_ring3)
{
	struct x86_cpu cpu = world();

	gate_ist(X86_VEC_GP, 1);
	deliver(&cpu, exception(X86_VEC_GP, 0x18), X86_VEC_GP);
	ck_assert_uint_eq(cpu.rsp, IST1_ALIGNED - 6 * 8);
	expect_user_frame(cpu.rsp, 0x18);
	ck_assert_uint_eq(cpu.ss, 0);
	ck_assert_uint_eq(get64(RSP0_ALIGNED - 8), FILL64);
}
END_TEST

/* --- Gate checks ----------------------------------------------------- */

/* int 0x80 from ring 3 through a DPL 0 gate: #GP(0x80 * 8 + 2), EXT
 * clear, delivered to the #GP handler with the state of the int. */
START_TEST(test_software_int_dpl)
{
	struct x86_cpu cpu = world();

	deliver(&cpu, software(0x80), X86_VEC_GP);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	expect_user_frame(cpu.rsp, 0x80 * 8 + 2);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.rflags, RFLAGS_INT_GATE);

	/* Through a DPL 3 gate it gets there. */
	cpu = world();
	gate(0x80, GATE_INT, 3);
	deliver(&cpu, software(0x80), 0x80);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 5 * 8);
}
END_TEST

/* Exceptions and external interrupts ignore the gate's DPL. */
START_TEST(test_exception_not_dpl_checked)
{
	struct x86_cpu cpu = world();

	deliver(&cpu, exception(X86_VEC_UD, 0), X86_VEC_UD);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 5 * 8);
	cpu = world();
	deliver(&cpu, external(0x80), 0x80);
	cpu = world();
	deliver(&cpu, exception(X86_VEC_BP, 0), X86_VEC_BP);
}
END_TEST

/* A not-present gate: #NP(vector * 8 + 2 + EXT). */
START_TEST(test_gate_not_present)
{
	struct x86_cpu cpu = world();

	set_gate(0x21, SEL_KCODE, handler(0x21), GATE_INT, 0, false, 0);
	deliver(&cpu, external(0x21), X86_VEC_NP);
	expect_user_frame(cpu.rsp, 0x21 * 8 + 2 + 1);

	/* int n: EXT clear. */
	cpu = world();
	set_gate(0x22, SEL_KCODE, handler(0x22), GATE_INT, 3, false, 0);
	deliver(&cpu, software(0x22), X86_VEC_NP);
	expect_user_frame(cpu.rsp, 0x22 * 8 + 2);

	/* The DPL check comes before the present check. */
	cpu = world();
	set_gate(0x23, SEL_KCODE, handler(0x23), GATE_INT, 0, false, 0);
	deliver(&cpu, software(0x23), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 0x23 * 8 + 2);
}
END_TEST

/* A vector whose 16 bytes are not all within the IDT limit:
 * #GP(vector * 8 + 2 + EXT). */
START_TEST(test_vector_beyond_limit)
{
	struct x86_cpu cpu = world();

	cpu.idt_limit = 0x30 * 16 + 7; /* half of gate 0x30 */
	deliver(&cpu, external(0x30), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 0x30 * 8 + 2 + 1);

	cpu = world();
	cpu.idt_limit = 0x30 * 16 - 1;
	deliver(&cpu, external(0x2f), 0x2f);
	cpu = world();
	cpu.idt_limit = 0x30 * 16 - 1;
	deliver(&cpu, software(0x30), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 0x30 * 8 + 2);
}
END_TEST

/* Neither an interrupt nor a trap gate: #GP(vector * 8 + 2 + EXT). */
START_TEST(test_gate_bad_type)
{
	struct x86_cpu cpu = world();

	set_gate(0x24, SEL_KCODE, handler(0x24), GATE_CALL, 0, true, 0);
	deliver(&cpu, external(0x24), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 0x24 * 8 + 2 + 1);
}
END_TEST

/* --- The handler's code segment -------------------------------------- */

START_TEST(test_code_segment_checks)
{
	struct x86_cpu cpu;

	/* Null selector: #GP(EXT). */
	cpu = world();
	set_gate(0x40, 0, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 1);

	/* Beyond the GDT limit: #GP(selector + EXT). */
	cpu = world();
	set_gate(0x40, SEL_BEYOND_GDT, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	expect_user_frame(cpu.rsp, SEL_BEYOND_GDT + 1);

	/* A data segment (its L bit set makes no code segment of it). */
	cpu = world();
	set_gate(0x40, SEL_DATA, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	expect_user_frame(cpu.rsp, SEL_DATA + 1);

	/* Not present: #NP(selector + EXT). */
	cpu = world();
	set_gate(0x40, SEL_KCODE_NP, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_NP);
	expect_user_frame(cpu.rsp, SEL_KCODE_NP + 1);

	/* Not a 64-bit code segment. */
	cpu = world();
	set_gate(0x40, SEL_CODE32, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	expect_user_frame(cpu.rsp, SEL_CODE32 + 1);

	/* L = 1 with D = 1 is reserved: not a 64-bit code segment either. */
	cpu = world();
	set_gate(0x40, SEL_CODE_LD, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	expect_user_frame(cpu.rsp, SEL_CODE_LD + 1);

	/* DPL above CPL: ring 3's code segment for ring 0. */
	cpu = world_ring0();
	set_gate(0x40, SEL_UCODE | 3, handler(0x40), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x40), X86_VEC_GP);
	ck_assert_uint_eq(get64(cpu.rsp), SEL_UCODE + 1);

	/* int n: EXT clear. */
	cpu = world();
	set_gate(0x41, 0, handler(0x41), GATE_INT, 3, true, 0);
	deliver(&cpu, software(0x41), X86_VEC_GP);
	expect_user_frame(cpu.rsp, 0);
}
END_TEST

/* The gate's selector RPL is replaced by the new CPL. */
START_TEST(test_selector_rpl_ignored)
{
	struct x86_cpu cpu = world();

	set_gate(0x42, SEL_KCODE | 3, handler(0x42), GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x42), 0x42);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, 0);
}
END_TEST

/* A ring 3 handler (DPL 3 code segment) for ring 3: no stack switch, the
 * frame on the user stack, CS and SS with RPL 3. */
START_TEST(test_ring3_handler)
{
	struct x86_cpu cpu = world();
	const uint64_t words[] = {USER_RIP, USER_CS, USER_RFLAGS, USER_RSP,
				  USER_SS};

	set_gate(0x82, SEL_UCODE, handler(0x82), GATE_TRAP, 3, true, 0);
	deliver(&cpu, software(0x82), 0x82);
	ck_assert_uint_eq(cpu.rsp, (USER_RSP & ~0xfull) - 5 * 8);
	expect_frame(cpu.rsp, words, 5);
	ck_assert_uint_eq(cpu.cs, USER_CS);
	ck_assert_uint_eq(cpu.ss, USER_SS);
	ck_assert_uint_eq(get64(RSP0_ALIGNED - 8), FILL64);
}
END_TEST

/*
 * The frame pushes of a delivery that stays in ring 3 are user-mode
 * accesses (SDM vol. 3, 4.6: only the GDT, LDT, IDT and TSS accesses are
 * implicit supervisor-mode accesses; accesses made at CPL 3 are user-mode
 * ones).  A ring 3 stack on a supervisor page faults: #PF(P|W|U), which
 * (int n being benign) is then delivered.
 */
START_TEST(test_ring3_push_is_user_access)
{
	struct x86_cpu cpu = world();
	const uint64_t at = KPAGE_OTHER + 0xff0 - 5 * 8;
	const uint64_t words[] = {X86_PF_P | X86_PF_W | X86_PF_U,
				  USER_RIP,
				  USER_CS,
				  USER_RFLAGS,
				  KPAGE_OTHER + 0xff8,
				  USER_SS};

	set_gate(0x82, SEL_UCODE, handler(0x82), GATE_TRAP, 3, true, 0);
	cpu.rsp = KPAGE_OTHER + 0xff8;
	deliver(&cpu, software(0x82), X86_VEC_PF);
	ck_assert_uint_eq(cpu.cr2, at);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	expect_frame(cpu.rsp, words, 6);
	ck_assert_uint_eq(get64(at), 0);
}
END_TEST

/*
 * A conforming code segment keeps the CPL: "IF code segment is conforming
 * or code segment DPL = CPL THEN GOTO INTRA-PRIVILEGE-LEVEL-INTERRUPT"
 * (INT n, SDM vol. 2A).  From ring 3: no stack switch, CS.RPL = 3, SS kept.
 */
START_TEST(test_conforming_code_segment)
{
	struct x86_cpu cpu = world();
	const uint64_t words[] = {USER_RIP, USER_CS, USER_RFLAGS, USER_RSP,
				  USER_SS};

	set_gate(0x81, SEL_CONFORMING, handler(0x81), GATE_INT, 3, true, 0);
	deliver(&cpu, software(0x81), 0x81);
	ck_assert_uint_eq(cpu.cs, SEL_CONFORMING | 3);
	ck_assert_uint_eq(cpu.ss, USER_SS);
	ck_assert_uint_eq(cpu.rsp, (USER_RSP & ~0xfull) - 5 * 8);
	expect_frame(cpu.rsp, words, 5);
}
END_TEST

/* --- The stack switch ------------------------------------------------ */

/* The IST slot beyond the TSS limit: #TS(TSS selector + EXT). */
START_TEST(test_tss_limit)
{
	struct x86_cpu cpu = world();

	cpu.tss_limit = 0x23; /* rsp0..rsp2 but no IST */
	gate_ist(0x20, 1);
	deliver(&cpu, external(0x20), X86_VEC_TS);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	expect_user_frame(cpu.rsp, SEL_TR + 1);
}
END_TEST

/* A non-canonical stack address in the TSS: #SS (SDM vol. 2A, INT n:
 * "IF StackAddress is non-canonical THEN #SS"), delivered on rsp0. */
START_TEST(test_noncanonical_stack)
{
	struct x86_cpu cpu = world();

	put64(TSS + 0x24, 0x0000800000000000ull); /* IST1 */
	gate_ist(0x20, 1);
	deliver(&cpu, external(0x20), X86_VEC_SS);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	ck_assert_uint_eq(get64(cpu.rsp + 8), USER_RIP);
}
END_TEST

/*
 * A non-canonical address in the gate: #GP ("IF instruction pointer
 * points to non-canonical address THEN #GP", INT n, SDM vol. 2A), not a
 * handler starting at it.
 */
START_TEST(test_noncanonical_handler)
{
	struct x86_cpu cpu = world();

	set_gate(0x43, SEL_KCODE, 0x0000800000001000ull, GATE_INT, 0, true, 0);
	deliver(&cpu, external(0x43), X86_VEC_GP);
}
END_TEST

/* --- Faults during delivery (table 6-5) ------------------------------- */

/* Contributory (#GP) first, #PF pushing its frame second: handled
 * serially, the #PF delivered (here on IST1) with the state before the
 * #GP; CR2 the frame's address. */
START_TEST(test_contributory_then_page_fault)
{
	struct x86_cpu cpu = world();

	page_flags(KSTACK_PAGE, 0);
	gate_ist(X86_VEC_PF, 1);
	deliver(&cpu, exception(X86_VEC_GP, 0), X86_VEC_PF);
	ck_assert_uint_eq(cpu.cr2, RSP0_ALIGNED - 6 * 8);
	ck_assert_uint_eq(cpu.rsp, IST1_ALIGNED - 6 * 8);
	/* A supervisor write to a page not present. */
	expect_user_frame(cpu.rsp, X86_PF_W);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, 0);
}
END_TEST

/* Benign (an external interrupt) first, #PF second: serially. */
START_TEST(test_benign_then_page_fault)
{
	struct x86_cpu cpu = world();

	page_flags(KSTACK_PAGE, 0);
	gate_ist(X86_VEC_PF, 1);
	deliver(&cpu, external(0x20), X86_VEC_PF);
	ck_assert_uint_eq(cpu.cr2, RSP0_ALIGNED - 5 * 8);
	expect_user_frame(cpu.rsp, X86_PF_W);
}
END_TEST

/* int 14 is a software interrupt, not a page fault: a contributory fault
 * delivering it (the DPL check) is handled serially, not as a #DF, and it
 * does not load CR2. */
START_TEST(test_int14_is_benign)
{
	struct x86_cpu cpu = world();
	struct x86_event ev = software(X86_VEC_PF);

	ev.cr2 = 0xbad000;
	deliver(&cpu, ev, X86_VEC_GP);
	expect_user_frame(cpu.rsp, X86_VEC_PF * 8 + 2);
	ck_assert_uint_eq(cpu.cr2, 0x1111000);

	cpu = world();
	gate(X86_VEC_PF, GATE_INT, 3);
	deliver(&cpu, ev, X86_VEC_PF);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 5 * 8);
	ck_assert_uint_eq(get64(cpu.rsp), USER_RIP);
	ck_assert_uint_eq(cpu.cr2, 0x1111000);
}
END_TEST

/* #PF first, #PF pushing its frame second: #DF with error code 0, the
 * state before the first #PF, and CR2 the second fault's address. */
START_TEST(test_page_fault_then_page_fault)
{
	struct x86_cpu cpu = world();

	page_flags(KSTACK_PAGE, 0);
	gate_ist(X86_VEC_DF, 2);
	deliver(&cpu, page_fault(0xdead000, X86_PF_U), X86_VEC_DF);
	ck_assert_uint_eq(cpu.rsp, IST2 - 6 * 8);
	expect_user_frame(cpu.rsp, 0);
	ck_assert_uint_eq(cpu.cr2, RSP0_ALIGNED - 6 * 8);
	ck_assert_uint_eq(cpu.cs, SEL_KCODE);
	ck_assert_uint_eq(cpu.ss, 0);
	ck_assert_uint_eq(cpu.rflags, RFLAGS_INT_GATE);
}
END_TEST

/* #PF first, contributory (#NP: its gate not present) second: #DF. */
START_TEST(test_page_fault_then_contributory)
{
	struct x86_cpu cpu = world();

	set_gate(X86_VEC_PF, SEL_KCODE, handler(14), GATE_INT, 0, false, 0);
	deliver(&cpu, page_fault(0xdead000, X86_PF_U), X86_VEC_DF);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 6 * 8);
	expect_user_frame(cpu.rsp, 0);
}
END_TEST

/*
 * CR2 is loaded when the page fault is recognised, before its delivery
 * is attempted (SDM vol. 3, 6.15, interrupt 14: "the processor loads the
 * CR2 register with the ... linear address that generated the
 * exception"): a #PF that becomes a #DF because its gate is not present
 * still leaves its address in CR2 for the #DF handler.
 */
START_TEST(test_page_fault_cr2_survives_escalation)
{
	struct x86_cpu cpu = world();

	set_gate(X86_VEC_PF, SEL_KCODE, handler(14), GATE_INT, 0, false, 0);
	deliver(&cpu, page_fault(0xdead000, X86_PF_U), X86_VEC_DF);
	ck_assert_uint_eq(cpu.cr2, 0xdead000);
}
END_TEST

/* Contributory first, contributory second: #DF. */
START_TEST(test_contributory_then_contributory)
{
	struct x86_cpu cpu = world();

	set_gate(X86_VEC_GP, SEL_KCODE, handler(13), GATE_INT, 0, false, 0);
	deliver(&cpu, exception(X86_VEC_GP, 0), X86_VEC_DF);
	expect_user_frame(cpu.rsp, 0);

	/* #NP delivering an int n's #GP: #GP is contributory too. */
	cpu = world();
	set_gate(X86_VEC_GP, SEL_KCODE, handler(13), GATE_INT, 0, false, 0);
	deliver(&cpu, software(0x80), X86_VEC_DF);
	expect_user_frame(cpu.rsp, 0);
}
END_TEST

/* A fault delivering the #DF: triple fault. */
START_TEST(test_double_fault_fails)
{
	struct x86_cpu cpu = world();
	struct x86_delivery d;

	/* #PF, #PF on the stack, #DF on the same stack. */
	page_flags(KSTACK_PAGE, 0);
	d = x86_deliver(&phys, &cpu, page_fault(0xdead000, 0));
	ck_assert(d.triple_fault);

	/* #GP, #NP, #DF through a not-present gate. */
	cpu = world();
	set_gate(X86_VEC_GP, SEL_KCODE, handler(13), GATE_INT, 0, false, 0);
	set_gate(X86_VEC_DF, SEL_KCODE, handler(8), GATE_INT, 0, false, 0);
	d = x86_deliver(&phys, &cpu, exception(X86_VEC_GP, 0));
	ck_assert(d.triple_fault);

	/* A #DF raised by the CPU itself, its delivery faulting. */
	cpu = world();
	set_gate(X86_VEC_DF, SEL_KCODE, handler(8), GATE_INT, 0, false, 0);
	d = x86_deliver(&phys, &cpu, exception(X86_VEC_DF, 0));
	ck_assert(d.triple_fault);
}
END_TEST

/* The IDT on a page not present: every delivery ends in a triple fault
 * (#PF reading the gate, #PF again, #DF, #PF). */
START_TEST(test_idt_unmapped)
{
	struct x86_cpu cpu = world();
	struct x86_delivery d;

	page_flags(IDT, 0);
	d = x86_deliver(&phys, &cpu, external(0x20));
	ck_assert(d.triple_fault);
}
END_TEST

/* The IDT, GDT and TSS are read with supervisor rights even from ring 3,
 * and SMAP/SMEP do not stop those implicit accesses to supervisor pages. */
START_TEST(test_system_tables_supervisor)
{
	struct x86_cpu cpu = world();

	cpu.pg.cr4 |= X86_CR4_SMAP | X86_CR4_SMEP;
	deliver(&cpu, external(0x20), 0x20);
	ck_assert_uint_eq(cpu.rsp, RSP0_ALIGNED - 5 * 8);

	/* The IDT on a user page with SMAP: #PF(P) reading every gate. */
	cpu = world();
	cpu.pg.cr4 |= X86_CR4_SMAP;
	page_flags(IDT, X86_PTE_P | X86_PTE_W | X86_PTE_U);
	ck_assert(x86_deliver(&phys, &cpu, external(0x20)).triple_fault);
}
END_TEST

static Suite *x86_event_suite(void)
{
	Suite *s = suite_create("x86_event");
	TCase *basic = tcase_create("basic");
	TCase *gates = tcase_create("gates");
	TCase *cs = tcase_create("code_segment");
	TCase *escalate = tcase_create("escalation");

	tcase_add_test(basic, test_has_error);
	tcase_add_test(basic, test_page_fault_from_ring3);
	tcase_add_test(basic, test_cr2_only_for_page_fault);
	tcase_add_test(basic, test_trap_gate_keeps_if);
	tcase_add_test(basic, test_same_privilege);
	tcase_add_test(basic, test_ist_same_privilege);
	tcase_add_test(basic, test_ist_from_ring3);
	tcase_add_test(basic, test_tss_limit);
	tcase_add_test(basic, test_noncanonical_stack);
	tcase_add_test(basic, test_system_tables_supervisor);
	suite_add_tcase(s, basic);

	tcase_add_test(gates, test_software_int_dpl);
	tcase_add_test(gates, test_exception_not_dpl_checked);
	tcase_add_test(gates, test_gate_not_present);
	tcase_add_test(gates, test_vector_beyond_limit);
	tcase_add_test(gates, test_gate_bad_type);
	tcase_add_test(gates, test_noncanonical_handler);
	suite_add_tcase(s, gates);

	tcase_add_test(cs, test_code_segment_checks);
	tcase_add_test(cs, test_selector_rpl_ignored);
	tcase_add_test(cs, test_ring3_handler);
	tcase_add_test(cs, test_ring3_push_is_user_access);
	tcase_add_test(cs, test_conforming_code_segment);
	suite_add_tcase(s, cs);

	tcase_add_test(escalate, test_contributory_then_page_fault);
	tcase_add_test(escalate, test_benign_then_page_fault);
	tcase_add_test(escalate, test_int14_is_benign);
	tcase_add_test(escalate, test_page_fault_then_page_fault);
	tcase_add_test(escalate, test_page_fault_then_contributory);
	tcase_add_test(escalate, test_page_fault_cr2_survives_escalation);
	tcase_add_test(escalate, test_contributory_then_contributory);
	tcase_add_test(escalate, test_double_fault_fails);
	tcase_add_test(escalate, test_idt_unmapped);
	suite_add_tcase(s, escalate);
	return s;
}

CHECK_MAIN(x86_event_suite)
