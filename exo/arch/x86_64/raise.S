/*
 * raise.S: functions that each raise one exception.  Labels around the
 * faulting instruction let a test check the reported RIP and resume after
 * it; without an expectation the kernel's exception dump runs.
 */
#include "fault.h"
/* Not canonical: any access raises #GP rather than #PF. */
#define NONCANONICAL_ADDR 0x8000000000000000

	.macro raiser name
	.globl x86_raise_\name, x86_raise_\name\()_at, x86_raise_\name\()_resume
	.type x86_raise_\name, @function
x86_raise_\name:
	.endm

	.macro resume name
x86_raise_\name\()_resume:
	ret
	.size x86_raise_\name, . - x86_raise_\name
	.endm

	.text
	raiser de
	xorl %ecx, %ecx
	xorl %eax, %eax
	xorl %edx, %edx
x86_raise_de_at:
	divl %ecx
	resume de

	raiser bp
x86_raise_bp_at:
	int3
	resume bp

	raiser ud
x86_raise_ud_at:
	ud2
	resume ud

	raiser gp
	movabsq $NONCANONICAL_ADDR, %rax
x86_raise_gp_at:
	movq (%rax), %rax
	resume gp

	raiser pf
	movq $FAULT_PF_ADDR, %rax
x86_raise_pf_at:
	movq (%rax), %rax
	resume pf

	.section .note.GNU-stack, "", @progbits
