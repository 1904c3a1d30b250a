/*
 * upcall.S: the assembly ends of upcalls and protected control transfers:
 * the entry the kernel enters for every upcall kind (libos_upcall_entry),
 * resumption of an interrupted context entirely in user mode
 * (libos_resume), the PCT entry (libos_pct_entry), and the capture of a
 * context for fork (libos_fork_capture).
 */
#include "libos_frame.h"

	.text

/*
 * The kernel enters here on the upcall stack with %rdi pointing at the
 * struct exo_upcall_frame and %rsp 8 below it.  The interrupted context is
 * in the frame, so every register is ours to use.  Call the C dispatcher
 * (which calls the handler; it may edit frame->regs), then resume the
 * frame.  %rbx keeps the frame across the call (callee-saved).
 */
	.globl libos_upcall_entry
	.type libos_upcall_entry, @function
libos_upcall_entry:
	cld				/* the C ABI wants DF clear; the */
					/* interrupted code may have set it */
	movq %rdi, %rbx
	xorl %ebp, %ebp			/* the outermost frame, for debuggers */
	andq $-LIBOS_STACK_ALIGN, %rsp	/* only ever lowers %rsp: the frame */
					/* above stays intact */
	call libos_upcall_dispatch
	movq %rbx, %rdi
	jmp libos_resume
	.size libos_upcall_entry, . - libos_upcall_entry

/*
 * libos_resume(frame): restore every general register, rflags and rip of
 * frame->regs without a system call.
 *
 * The method: with R = regs.rsp, build the "resume area" in the
 * LIBOS_RESUME_SIZE bytes just below R on the interrupted stack (hence
 * -mno-red-zone: nothing may live there): fifteen general registers
 * lowest, then rflags, then rip at R - 8.  Then switch %rsp to the bottom
 * of the area and pop it: the fifteen registers, popfq, and `ret`, which
 * jumps to rip and leaves %rsp == R exactly.  Nothing after popfq changes
 * flags, and nothing after the pops changes a general register.
 *
 * Everything is copied out of the frame before %rsp moves, so the frame
 * may be anywhere (on the upcall stack, or a handler's local copy).  Once
 * %rsp has left the upcall stack the kernel may deliver the next upcall
 * and overwrite the old frame; the half-popped context is then simply an
 * interrupted context like any other, and resumes the same way.
 */
#define COPY(reg)							\
	movq LIBOS_FRAME_REGS + LIBOS_REGS_##reg(%rdi), %rcx;		\
	movq %rcx, LIBOS_RESUME_##reg(%rax)

	.globl libos_resume
	.type libos_resume, @function
libos_resume:
	movq LIBOS_FRAME_REGS + LIBOS_REGS_RSP(%rdi), %rax
	subq $LIBOS_RESUME_SIZE, %rax	/* the bottom of the resume area */
	COPY(RIP)
	COPY(RFLAGS)
	COPY(RAX)
	COPY(RBX)
	COPY(RCX)
	COPY(RDX)
	COPY(RSI)
	COPY(RDI)
	COPY(RBP)
	COPY(R8)
	COPY(R9)
	COPY(R10)
	COPY(R11)
	COPY(R12)
	COPY(R13)
	COPY(R14)
	COPY(R15)
	movq %rax, %rsp
	/* The order of the LIBOS_RESUME_* offsets, lowest first. */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	popfq
	ret
	.size libos_resume, . - libos_resume

/*
 * The kernel enters here for a PCT with %rsp = uenv.pct_stack and the six
 * words (badge, caller, w0..w3) already in the C argument registers.
 * %rsp is the top of the stack, so align it as a call expects and call
 * the dispatcher, which never returns (it ends with SYS_PCT_RETURN).
 */
	.globl libos_pct_entry
	.type libos_pct_entry, @function
libos_pct_entry:
	cld
	xorl %ebp, %ebp
	andq $-LIBOS_STACK_ALIGN, %rsp
	call libos_pct_dispatch
	ud2				/* libos_pct_dispatch does not return */
	.size libos_pct_entry, . - libos_pct_entry

/*
 * long libos_fork_capture(struct exo_regs *regs): fill regs with a context
 * that, resumed (libos_resume), returns 0 from this very call, like
 * setjmp: the callee-saved registers, the caller's %rsp and return
 * address, rflags.  Returns 1 here.  The caller's stack frame must still
 * hold what it holds now when the context resumes (fork: the child's
 * copy-on-write view of it does).
 */
#define SAVE(reg, field) movq %reg, LIBOS_REGS_##field(%rdi)

	.globl libos_fork_capture
	.type libos_fork_capture, @function
libos_fork_capture:
	SAVE(rbx, RBX)
	SAVE(rbp, RBP)
	SAVE(r12, R12)
	SAVE(r13, R13)
	SAVE(r14, R14)
	SAVE(r15, R15)
	movq (%rsp), %rax		/* where the call returns to */
	SAVE(rax, RIP)
	leaq LIBOS_WORD(%rsp), %rax	/* %rsp after that return */
	SAVE(rax, RSP)
	pushfq
	popq %rax
	SAVE(rax, RFLAGS)
	movq $0, LIBOS_REGS_RAX(%rdi)	/* what the resumed call returns */
	movl $1, %eax
	ret
	.size libos_fork_capture, . - libos_fork_capture

	.section .note.GNU-stack, "", @progbits
