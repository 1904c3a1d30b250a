/*
 * vectors.S: every way into the kernel and the one way back.
 *
 * Entries: one stub per IDT vector (stubs of vectors without a CPU error
 * code push a zero so every frame has the same shape) and `syscall`.
 * Both save the interrupted context as a struct trapframe.  From ring 3
 * that frame is built directly in the running env's struct env (the TSS's
 * rsp0 and cpu_env_frame_end point just past it), so nothing is copied
 * when the kernel switches envs; C code then runs on the kernel stack.
 * From ring 0 the frame is pushed on the current stack.
 *
 * The way back, trap_return, takes the frame to resume in %rax (or %rdi)
 * and leaves by `sysret` when the frame came from `syscall` unchanged,
 * else by `iretq`.
 */
#include "seg.h"
#include "trap.h"

#define STUB_ALIGN 16

/* The exceptions for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		      (v) == 21 || (v) == 29 || (v) == 30)

/* Push and pop the general registers in struct trapframe's order. */
	.macro save_regs
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	.endm

	.macro restore_regs
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
	.endm

	.altmacro
	.macro trap_stub v
	.balign STUB_ALIGN
trap_stub_\v:
	.if !HAS_ERROR(\v)
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
	.endm

	.macro stub_address v
	.quad trap_stub_\v
	.endm

	.text
	.set v, 0
	.rept IDT_ENTRIES
	trap_stub %v
	.set v, v + 1
	.endr

trap_common:
	save_regs
	cld
	movq %rsp, %rdi
	testb $SEG_RPL_USER, TF_CS_OFFSET(%rsp)
	jz 1f
	movq cpu_kstack_top(%rip), %rsp	/* from ring 3: leave the env's frame */
1:	call trap_dispatch		/* kernel frames are 16-byte aligned */
	movq %rax, %rdi
	jmp trap_return

/*
 * syscall: %rcx holds the user rip, %r11 the user rflags; interrupts are
 * off (MSR_FMASK).  Build the same frame an interrupt from ring 3 would.
 */
	.globl syscall_entry
syscall_entry:
	movq %rsp, cpu_user_rsp(%rip)
	movq cpu_env_frame_end(%rip), %rsp
	pushq $SEL_UDATA
	pushq cpu_user_rsp(%rip)
	pushq %r11
	pushq $SEL_UCODE
	pushq %rcx
	pushq $0
	pushq $VEC_SYSCALL
	save_regs
	cld
	movq %rsp, %rdi
	movq cpu_kstack_top(%rip), %rsp
	call syscall_dispatch
	movq %rax, %rdi
	/* fall through */

	/*
	 * Interrupts off before %rsp moves onto the frame: one taken there
	 * would use the frame as its stack (a trap in ring 0 does not switch
	 * stacks) and overwrite what lies below it.  Entries come with them
	 * off already; the first return, from boot, does not.
	 */
	.globl trap_return
trap_return:
	cli
	movq %rdi, %rsp
	cmpq $VEC_SYSCALL, TF_VECTOR_OFFSET(%rsp)
	je 2f
	restore_regs
	addq $16, %rsp			/* vector and error code */
	iretq
2:	restore_regs			/* %rcx and %r11 are rebuilt below */
	movq 16(%rsp), %rcx		/* rip */
	movq 32(%rsp), %r11		/* rflags */
	movq 40(%rsp), %rsp		/* user rsp */
	sysretq

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
	.set v, 0
	.rept IDT_ENTRIES
	stub_address %v
	.set v, v + 1
	.endr

	.section .note.GNU-stack, "", @progbits
