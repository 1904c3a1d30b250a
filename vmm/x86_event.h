/*
 * x86_event.h: delivering an exception or interrupt through the guest's
 * IDT in long mode, as SDM vol. 3 chapter 6 describes it, for a backend
 * whose CPU emulator stops at every event instead (Unicorn).  Gate and
 * code-segment checks, the stack switch to the TSS's rsp0 or an IST
 * stack, the frame, the flags, and a fault during delivery escalating to
 * #DF and then to a triple fault.  Portable C over x86_mmu.h, so it is
 * unit-tested on the host.
 */
#ifndef VMM_X86_EVENT_H
#define VMM_X86_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "x86_mmu.h"

#define X86_VEC_DE 0
#define X86_VEC_DB 1
#define X86_VEC_BP 3
#define X86_VEC_UD 6
#define X86_VEC_DF 8
#define X86_VEC_TS 10
#define X86_VEC_NP 11
#define X86_VEC_SS 12
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_VEC_AC 17
#define X86_VEC_EXCEPTIONS 32

#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_IF (1ull << 9)
#define X86_RFLAGS_NT (1ull << 14)
#define X86_RFLAGS_RF (1ull << 16)
#define X86_RFLAGS_VM (1ull << 17)
#define X86_SEL_RPL 3u
#define X86_TSS_RSP0 4 /* rsp0 in a 64-bit TSS; rsp1, rsp2 follow */

enum x86_event_kind {
	X86_EV_EXCEPTION, /* raised by the CPU; rip is where it returns to */
	X86_EV_SOFTWARE,  /* int n, int3, into: the gate's DPL is checked */
	X86_EV_EXTERNAL,  /* an interrupt from the APIC */
};

struct x86_event {
	uint8_t vector;
	enum x86_event_kind kind;
	bool has_error;
	uint32_t error;
	uint64_t cr2; /* #PF: the faulting address */
};

/* The CPU state delivery reads and changes. */
struct x86_cpu {
	uint64_t rip, rsp, rflags, cr2;
	uint16_t cs, ss; /* selectors; CPL is cs's RPL */
	struct x86_paging pg;
	uint64_t idt_base, gdt_base, tss_base;
	uint32_t idt_limit, gdt_limit, tss_limit;
	uint16_t tr; /* selector, for #TS error codes */
};

struct x86_delivery {
	bool triple_fault;
	uint8_t vector;	      /* what was finally delivered (#DF after an escalation) */
	uint64_t cs_desc;     /* the handler's code-segment descriptor */
};

/*
 * Deliver ev to the handler its IDT gate names; on return *cpu is the
 * state the handler starts in, or delivery ended in a triple fault.
 */
struct x86_delivery x86_deliver(const struct x86_phys *mem, struct x86_cpu *cpu,
				struct x86_event ev);

/* Does the CPU push an error code for exception vector? */
bool x86_exception_has_error(uint8_t vector);

#endif /* VMM_X86_EVENT_H */
