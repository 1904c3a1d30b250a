/*
 * snprintf.c: the kernel's formatted output into a buffer (printf.h),
 * apart from the console so that host unit tests of kernel code that
 * formats messages (cmdline.c) link it as it is.
 */
#include "printf.h"
#include "format.h"

int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	return fmt_vsnprintf(buf, n, fmt, ap);
}

int ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = kvsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return len;
}
