/*
 * thread_switch.S: the two pieces of user-level thread switching that C
 * cannot write (guestlib/thread.c): saving the caller's context and
 * resuming another thread's (libos_thread_switch), and finishing the
 * resumption of a thread that was preempted (libos_thread_unpreempt).
 * Both resume through libos_resume (upcall.S).  A saved context is a
 * struct exo_upcall_frame whose regs alone are used.
 */
#include "libos_frame.h"

#define REG(name) LIBOS_FRAME_REGS + LIBOS_REGS_##name

	.text

/*
 * libos_thread_switch(save, next): store the caller's context in
 * save->regs as if this call had just returned (rip the return address,
 * rsp above it, the callee-saved registers, rflags: the C ABI lets the
 * others be lost across a call), then resume next->regs.  The caller
 * goes on when something resumes save.
 */
	.globl libos_thread_switch
	.type libos_thread_switch, @function
libos_thread_switch:
	movq (%rsp), %rax
	movq %rax, REG(RIP)(%rdi)
	leaq LIBOS_WORD(%rsp), %rax
	movq %rax, REG(RSP)(%rdi)
	movq %rbx, REG(RBX)(%rdi)
	movq %rbp, REG(RBP)(%rdi)
	movq %r12, REG(R12)(%rdi)
	movq %r13, REG(R13)(%rdi)
	movq %r14, REG(R14)(%rdi)
	movq %r15, REG(R15)(%rdi)
	pushfq
	popq REG(RFLAGS)(%rdi)
	movq %rsi, %rdi
	jmp libos_resume
	.size libos_thread_switch, . - libos_thread_switch

/*
 * Entered (by libos_resume's ret) on a preempted thread's own stack, with
 * %rsp pointing at a copy of its preempted frame that thread.c put there,
 * and preemption disabled (libos_preempt_depth 1).  Enable preemption,
 * then resume the frame.  From the decrement on, an epilogue may preempt
 * the thread here: what it saves is then just another context of this
 * thread, on this thread's stack, above which the copy stays intact
 * (libos_resume writes only below the %rsp it resumes and below the
 * frame's own rsp, which thread.c keeps clear of the copy).
 */
	.globl libos_thread_unpreempt
	.type libos_thread_unpreempt, @function
libos_thread_unpreempt:
	movq %rsp, %rdi
	decl libos_preempt_depth(%rip)
	jmp libos_resume
	.size libos_thread_unpreempt, . - libos_thread_unpreempt

	.section .note.GNU-stack, "", @progbits
