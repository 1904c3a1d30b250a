/*
 * crt0.S: a program's first instructions.  The kernel enters _start with
 * %rsp at the top of the env's stack; _start calls main() and hands its
 * return value to libos_exit().
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	xorl %ebp, %ebp		/* the outermost frame, for debuggers */
	andq $-16, %rsp		/* the ABI's alignment at a call */
	call main
	movl %eax, %edi
	call libos_exit
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
