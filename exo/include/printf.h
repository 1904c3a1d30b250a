/*
 * printf.h: the kernel's formatted printing (exo/kern/printf.c).
 *
 * The formats are exo/lib/format.h's: %d %i %u %o %x %X %c %s %p %% with
 * flags, width, precision and length modifiers as in C.  %p prints "0x"
 * and 16 hex digits.  No floating point: the kernel has no FPU state.
 */
#ifndef EXO_PRINTF_H
#define EXO_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#define EXO_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Format to the console; returns the number of characters written. */
int kprintf(const char *fmt, ...) EXO_PRINTF(1, 2);
int kvprintf(const char *fmt, va_list ap);

/*
 * Format into buf (size n, always NUL-terminated when n > 0); returns the
 * length the whole output would have had, as C's snprintf does.
 */
int ksnprintf(char *buf, size_t n, const char *fmt, ...) EXO_PRINTF(3, 4);
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);

#endif /* EXO_PRINTF_H */
