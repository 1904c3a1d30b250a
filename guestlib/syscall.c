/*
 * syscall.c: the system-call stub and the calls the runtime needs.
 * Convention (exo/abi.h): number in %rax, arguments in %rdi %rsi %rdx
 * %r10 %r8 %r9, result in %rax; `syscall` clobbers %rcx and %r11.
 */
#include <exo/abi.h>

#include "libos.h"

long libos_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
		   long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10),
			   "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

_Noreturn void libos_exit(int code)
{
	libos_syscall(SYS_ENV_EXIT, code, 0, 0, 0, 0, 0);
	/* The kernel never returns from SYS_ENV_EXIT; trap if it did. */
	for (;;)
		__builtin_trap();
}
