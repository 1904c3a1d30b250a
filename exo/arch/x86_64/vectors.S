/*
 * vectors.S: one entry stub per IDT vector and the common path that saves
 * the registers as a struct trapframe, calls trap_dispatch() and returns.
 * Stubs of vectors without a CPU error code push a zero so every frame has
 * the same shape.
 */
#include "trap.h"

#define STUB_ALIGN 16

/* The exceptions for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		      (v) == 21 || (v) == 29 || (v) == 30)

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
	cld
	movq %rsp, %rdi		/* the frame is 16-byte aligned: 22 words */
	call trap_dispatch
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
	addq $16, %rsp		/* vector and error code */
	iretq

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
