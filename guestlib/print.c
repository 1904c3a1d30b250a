/*
 * print.c: console output for programs, one system call per string.
 */
#include <exo/abi.h>

#include "libos.h"

static size_t length(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

long libos_puts(const char *s)
{
	return libos_syscall(SYS_CONS_WRITE, (long)s, (long)length(s), 0, 0, 0,
			     0);
}
