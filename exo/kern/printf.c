/*
 * printf.c: the kernel's formatted output to the console.  The formatting
 * itself is exo/lib/format.c's, shared with guestlib; this file owns only
 * the console sink and the kernel's names for it (into a buffer, the
 * kernel calls fmt_snprintf).
 */
#include "printf.h"
#include "console.h"
#include "format.h"

static void put_console(struct fmt_sink *sink, char c)
{
	(void)sink;
	cons_putc(c);
}

int kvprintf(const char *fmt, va_list ap)
{
	struct fmt_sink console = {.put = put_console};

	return fmt_vformat(&console, fmt, ap);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}
