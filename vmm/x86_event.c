/*
 * x86_event.c: IDT delivery in long mode (x86_event.h), step by step as
 * SDM vol. 3, 6.12 and 6.14 give it.  A step that fails yields the fault
 * it raises; x86_deliver() then applies the double-fault rules of table
 * 6-5 and delivers that instead.
 */
#include <string.h>

#include "x86_event.h"

#define GATE_SIZE 16
#define GATE_TYPE_INTERRUPT 0xe
#define GATE_TYPE_TRAP 0xf
#define GATE_PRESENT 0x80
#define GATE_DPL_SHIFT 5
#define GATE_IST_MASK 7
#define DPL_MASK 3u
#define SEL_INDEX_MASK 0xfff8u
#define SEL_ERROR_MASK 0xfffcu /* a selector in an error code: index and TI */
#define SEL_TI 4u /* the selector names the LDT */
#define GATE_SYSTEM 0x10 /* the S bit: set, it is not a gate */
#define ERR_EXT 1u /* the event was not software's own */
#define ERR_IDT 2u /* the error code names an IDT entry */
#define IDT_ERROR(v) ((uint32_t)(v) * 8 + ERR_IDT)

/* Code-segment descriptor bits (SDM vol. 3, 3.4.5). */
#define DESC_CONFORMING (1ull << 42)
#define DESC_CODE (1ull << 43)
#define DESC_S (1ull << 44)
#define DESC_DPL_SHIFT 45
#define DESC_P (1ull << 47)
#define DESC_L (1ull << 53)
#define DESC_D (1ull << 54)

/* 64-bit TSS fields. */
#define TSS_IST1 0x24
#define STACK_ALIGN_MASK 0xfull
#define FRAME_WORDS_MAX 6

/* Everything before bit 47 is sign-extended in a canonical address. */
#define CANONICAL_SHIFT 47

/* A fault raised while delivering: the event to deliver next. */
struct step_fault {
	bool raised;
	struct x86_event ev;
};

bool x86_exception_has_error(uint8_t vector)
{
	switch (vector) {
	case X86_VEC_DF:
	case X86_VEC_TS:
	case X86_VEC_NP:
	case X86_VEC_SS:
	case X86_VEC_GP:
	case X86_VEC_PF:
	case X86_VEC_AC:
		return true;
	default:
		return false;
	}
}

static struct step_fault raise(uint8_t vector, uint32_t error)
{
	return (struct step_fault){.raised = true,
				   .ev = {.vector = vector, .kind = X86_EV_EXCEPTION,
					  .has_error = true, .error = error}};
}

static struct step_fault page_fault(uint64_t va, uint32_t error)
{
	struct step_fault f = raise(X86_VEC_PF, error);

	f.ev.cr2 = va;
	return f;
}

static bool canonical(uint64_t va)
{
	int64_t high = (int64_t)va >> CANONICAL_SHIFT;

	return high == 0 || high == -1;
}

/* Copy to or from the guest as access (x86_mmu.h) says; a fault is a #PF. */
static struct step_fault guest_copy(const struct x86_phys *mem, const struct x86_cpu *cpu,
				    uint64_t va, void *buf, size_t len, unsigned access)
{
	uint64_t fault_va;
	uint32_t error;

	if (!x86_linear_copy(mem, &cpu->pg, va, buf, len, access, &fault_va, &error))
		return page_fault(fault_va, error);
	return (struct step_fault){.raised = false};
}

struct gate {
	uint64_t offset;
	uint16_t selector;
	unsigned ist, type, dpl;
	bool present;
};

static void decode_gate(const uint8_t raw[GATE_SIZE], struct gate *g)
{
	uint16_t off_low, off_mid;
	uint32_t off_high;

	memcpy(&off_low, raw, sizeof(off_low));
	memcpy(&g->selector, raw + 2, sizeof(g->selector));
	memcpy(&off_mid, raw + 6, sizeof(off_mid));
	memcpy(&off_high, raw + 8, sizeof(off_high));
	g->offset = off_low | (uint64_t)off_mid << 16 | (uint64_t)off_high << 32;
	g->ist = raw[4] & GATE_IST_MASK;
	g->type = raw[5] & (GATE_SYSTEM | 0xf);
	g->dpl = (raw[5] >> GATE_DPL_SHIFT) & DPL_MASK;
	g->present = raw[5] & GATE_PRESENT;
}

static struct step_fault read_gate(const struct x86_phys *mem, const struct x86_cpu *cpu,
				   const struct x86_event *ev, uint32_t ext, struct gate *g)
{
	uint64_t at = (uint64_t)ev->vector * GATE_SIZE;
	uint8_t raw[GATE_SIZE];
	struct step_fault f;

	if (at + GATE_SIZE - 1 > cpu->idt_limit)
		return raise(X86_VEC_GP, IDT_ERROR(ev->vector) | ext);
	f = guest_copy(mem, cpu, cpu->idt_base + at, raw, sizeof(raw), X86_IMPLICIT);
	if (f.raised)
		return f;
	decode_gate(raw, g);
	if (g->type != GATE_TYPE_INTERRUPT && g->type != GATE_TYPE_TRAP)
		return raise(X86_VEC_GP, IDT_ERROR(ev->vector) | ext);
	if (ev->kind == X86_EV_SOFTWARE && g->dpl < (cpu->cs & X86_SEL_RPL))
		return raise(X86_VEC_GP, IDT_ERROR(ev->vector));
	if (!g->present)
		return raise(X86_VEC_NP, IDT_ERROR(ev->vector) | ext);
	return (struct step_fault){.raised = false};
}

/* The gate's code segment: a present 64-bit code segment at or above CPL. */
static struct step_fault read_code_segment(const struct x86_phys *mem,
					   const struct x86_cpu *cpu, uint16_t sel,
					   uint32_t ext, uint64_t *desc)
{
	uint32_t index = sel & SEL_INDEX_MASK, error = (sel & SEL_ERROR_MASK) | ext;
	struct step_fault f;
	unsigned dpl;

	if (index == 0)
		return raise(X86_VEC_GP, ext);
	if ((sel & SEL_TI) || index + sizeof(*desc) - 1 > cpu->gdt_limit)
		return raise(X86_VEC_GP, error);
	f = guest_copy(mem, cpu, cpu->gdt_base + index, desc, sizeof(*desc), X86_IMPLICIT);
	if (f.raised)
		return f;
	dpl = (*desc >> DESC_DPL_SHIFT) & DPL_MASK;
	if (!(*desc & DESC_S) || !(*desc & DESC_CODE) || !(*desc & DESC_L) ||
	    (*desc & DESC_D) || dpl > (cpu->cs & X86_SEL_RPL))
		return raise(X86_VEC_GP, error);
	if (!(*desc & DESC_P))
		return raise(X86_VEC_NP, error);
	return (struct step_fault){.raised = false};
}

/* The stack the handler starts on: an IST stack, the TSS's for new_cpl, or the current one. */
static struct step_fault handler_stack(const struct x86_phys *mem, const struct x86_cpu *cpu,
				       const struct gate *g, unsigned new_cpl, uint32_t ext,
				       uint64_t *rsp)
{
	uint64_t at;
	struct step_fault f;

	if (!g->ist && new_cpl == (cpu->cs & X86_SEL_RPL)) {
		*rsp = cpu->rsp;
		return (struct step_fault){.raised = false};
	}
	at = g->ist ? TSS_IST1 + (g->ist - 1) * sizeof(uint64_t)
		    : X86_TSS_RSP0 + new_cpl * sizeof(uint64_t);
	if (at + sizeof(uint64_t) - 1 > cpu->tss_limit)
		return raise(X86_VEC_TS, (cpu->tr & SEL_INDEX_MASK) | ext);
	f = guest_copy(mem, cpu, cpu->tss_base + at, rsp, sizeof(*rsp), X86_IMPLICIT);
	if (!f.raised && !canonical(*rsp))
		return raise(X86_VEC_SS, ext);
	return f;
}

/* One attempt at delivering ev; on success *cpu is the handler's state. */
static struct step_fault deliver_once(const struct x86_phys *mem, struct x86_cpu *cpu,
				      const struct x86_event *ev, uint64_t *cs_desc)
{
	uint32_t ext = ev->kind == X86_EV_SOFTWARE ? 0 : ERR_EXT;
	unsigned cpl = cpu->cs & X86_SEL_RPL, new_cpl, n = 0;
	uint64_t frame[FRAME_WORDS_MAX], rsp;
	struct step_fault f;
	struct gate g;

	f = read_gate(mem, cpu, ev, ext, &g);
	if (!f.raised)
		f = read_code_segment(mem, cpu, g.selector, ext, cs_desc);
	if (f.raised)
		return f;
	/* A conforming handler runs at the CPL it interrupted. */
	new_cpl = (*cs_desc & DESC_CONFORMING) ? cpl : (*cs_desc >> DESC_DPL_SHIFT) & DPL_MASK;
	if (!canonical(g.offset))
		return raise(X86_VEC_GP, ext);
	f = handler_stack(mem, cpu, &g, new_cpl, ext, &rsp);
	if (f.raised)
		return f;
	rsp &= ~STACK_ALIGN_MASK;
	if (ev->has_error)
		frame[n++] = ev->error;
	frame[n++] = cpu->rip;
	frame[n++] = cpu->cs;
	frame[n++] = cpu->rflags;
	frame[n++] = cpu->rsp;
	frame[n++] = cpu->ss;
	rsp -= n * sizeof(uint64_t);
	/* The frame is pushed at the handler's CPL: a user access in ring 3. */
	f = guest_copy(mem, cpu, rsp, frame, n * sizeof(uint64_t),
		       X86_WRITE | (new_cpl == X86_SEL_RPL ? X86_USER : 0));
	if (f.raised)
		return f;
	if (new_cpl != cpl)
		cpu->ss = (uint16_t)new_cpl; /* the null selector, RPL = new CPL */
	cpu->cs = (uint16_t)((g.selector & ~X86_SEL_RPL) | new_cpl);
	cpu->rsp = rsp;
	cpu->rip = g.offset;
	cpu->rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (g.type == GATE_TYPE_INTERRUPT)
		cpu->rflags &= ~X86_RFLAGS_IF;
	return f;
}

enum fault_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

static enum fault_class classify(const struct x86_event *ev)
{
	if (ev->kind != X86_EV_EXCEPTION)
		return BENIGN;
	switch (ev->vector) {
	case X86_VEC_DE:
	case X86_VEC_TS:
	case X86_VEC_NP:
	case X86_VEC_SS:
	case X86_VEC_GP:
		return CONTRIBUTORY;
	case X86_VEC_PF:
		return PAGE_FAULT;
	case X86_VEC_DF:
		return DOUBLE_FAULT;
	default:
		return BENIGN;
	}
}

struct x86_delivery x86_deliver(const struct x86_phys *mem, struct x86_cpu *cpu,
				struct x86_event ev)
{
	struct x86_delivery d = {.triple_fault = false};

	for (;;) {
		enum fault_class first, second;
		struct step_fault f;
		struct x86_cpu next;

		/* The CPU loads CR2 when it detects a page fault, delivered or not. */
		if (ev.vector == X86_VEC_PF && ev.kind == X86_EV_EXCEPTION)
			cpu->cr2 = ev.cr2;
		next = *cpu;
		f = deliver_once(mem, &next, &ev, &d.cs_desc);
		if (!f.raised) {
			*cpu = next;
			d.vector = ev.vector;
			return d;
		}
		/* A #PF raised here changes CR2 even if it becomes a #DF. */
		if (f.ev.vector == X86_VEC_PF)
			cpu->cr2 = f.ev.cr2;
		first = classify(&ev);
		second = classify(&f.ev);
		if (first == DOUBLE_FAULT) {
			d.triple_fault = true;
			return d;
		}
		if ((first == CONTRIBUTORY && second == CONTRIBUTORY) ||
		    (first == PAGE_FAULT && second != BENIGN))
			ev = (struct x86_event){.vector = X86_VEC_DF,
						.kind = X86_EV_EXCEPTION,
						.has_error = true,
						.error = 0};
		else
			ev = f.ev;
	}
}
