/*
 * print.c: console output for programs: libos_puts, and libos_printf over
 * the formatter guestlib shares with the kernel (exo/lib/format.c), one
 * system call per printed string.
 */
#include "libos.h"

#include "../exo/lib/format.h"

long libos_puts(const char *s)
{
	return sys_cons_write(s, strlen(s));
}

long libos_vprintf(const char *fmt, va_list ap)
{
	char buf[LIBOS_PRINTF_MAX];
	int n = libos_vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Cut output (n < 0: longer than INT_MAX) fills the buffer. */
	size_t len =
	    n >= 0 && (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	return sys_cons_write(buf, len);
}

long libos_printf(const char *fmt, ...)
{
	va_list ap;
	long ret;

	va_start(ap, fmt);
	ret = libos_vprintf(fmt, ap);
	va_end(ap);
	return ret;
}
