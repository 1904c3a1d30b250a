/*
 * trap.h: interrupt and exception vectors, the trap frame, and the hook a
 * self-test uses to expect one exception (exo/arch/x86_64/trap.c).
 */
#ifndef EXO_TRAP_H
#define EXO_TRAP_H

#define T_DE 0	/* divide error */
#define T_NMI 2	/* non-maskable interrupt */
#define T_BP 3	/* breakpoint */
#define T_OF 4	/* overflow (into) */
#define T_UD 6	/* invalid opcode */
#define T_DF 8	/* double fault */
#define T_GP 13 /* general protection */
#define T_PF 14 /* page fault */
#define T_MC 18 /* machine check */
#define T_NEXCEPTIONS 32

/* The 8259s are remapped here (and masked), so spurious IRQs are known. */
#define VEC_PIC_BASE 32
#define VEC_PIC_COUNT 16
#define VEC_TIMER 64	 /* LAPIC timer */
#define VEC_SPURIOUS 255 /* LAPIC spurious interrupt */
#define IDT_ENTRIES 256

/*
 * Frames that did not come from an IDT vector carry one of these in their
 * vector field: a frame saved by `syscall` may go back by `sysret` (which
 * rebuilds %rcx and %r11 from rip and rflags); any frame the kernel built
 * or rewrote goes back by `iretq`, so every register is restored.
 */
#define VEC_SYSCALL 256
#define VEC_KERNEL_BUILT 257

/* Byte offsets in struct trapframe, for vectors.S. */
#define TF_VECTOR_OFFSET (15 * 8)
#define TF_CS_OFFSET (18 * 8)
#define TF_SIZE (22 * 8)

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* What vectors.S pushes, lowest address first, then what the CPU pushed. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error; /* 0 for vectors without an error code */
	uint64_t rip, cs, rflags, rsp, ss;
};

_Static_assert(__builtin_offsetof(struct trapframe, vector) ==
			   TF_VECTOR_OFFSET &&
		   __builtin_offsetof(struct trapframe, cs) == TF_CS_OFFSET &&
		   sizeof(struct trapframe) == TF_SIZE,
	       "vectors.S and struct trapframe disagree");

/* An exception a test asked for, as the handler saw it. */
struct trap_hit {
	unsigned vector;
	uint64_t rip;
	uint64_t error;
	uint64_t cr2;
};

void trap_init(void);
/*
 * Handle the trap saved in *tf and return the frame to resume: tf itself
 * for a trap in the kernel; for one from ring 3 (saved in the env's own
 * struct env), the frame of whichever env runs next.
 */
struct trapframe *trap_dispatch(struct trapframe *tf);
/* Resume the context in *tf (vectors.S). */
_Noreturn void trap_return(struct trapframe *tf);

/* Whether the frame was saved from ring 3. */
static inline bool tf_from_user(const struct trapframe *tf)
{
	return (tf->cs & 3) == 3;
}

/*
 * Expect one exception `vector` in the kernel: instead of the dump and
 * exit, the handler records it and resumes at `resume`.
 */
void trap_expect(unsigned vector, uintptr_t resume);
/* Take the recorded hit and clear the expectation; false if none came. */
bool trap_take_hit(struct trap_hit *hit);
#endif

#endif /* EXO_TRAP_H */
