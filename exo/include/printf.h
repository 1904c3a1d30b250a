/*
 * printf.h: the kernel's formatted printing (exo/kern/printf.c).
 *
 * The formats are exo/lib/format.h's: %d %i %u %o %x %X %c %s %p %% with
 * flags, width, precision and length modifiers as in C.  %p prints "0x"
 * and 16 hex digits.  No floating point: the kernel has no FPU state.
 * Formatting into a buffer is format.h's fmt_snprintf and fmt_vsnprintf.
 */
#ifndef EXO_PRINTF_H
#define EXO_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#include "format.h"

#define EXO_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Format to the console; returns the number of characters written. */
int kprintf(const char *fmt, ...) EXO_PRINTF(1, 2);
int kvprintf(const char *fmt, va_list ap);

#endif /* EXO_PRINTF_H */
