/*
 * format.h: printf-style formatting, the one formatter behind the kernel's
 * kprintf (exo/kern/printf.c) and guestlib's libos_printf
 * (guestlib/print.c); both format into buffers with fmt_snprintf.  Portable freestanding C, no
 * hardware: host tests compile it too (tests/unit/test_format.c).
 *
 * A conversion is %[flags][width][.precision][length]conv:
 *   conv       d i (signed decimal), u o x X (unsigned decimal, octal,
 *              hex), c, s, p ("0x" and at least FMT_PTR_DIGITS hex
 *              digits), %% (a '%').  Any other conv prints as itself
 *              after a '%'.  No floating point, no %n.
 *   flags      '-' left-justify; '0' pad numbers with zeros (not with '-'
 *              or an integer precision); '+' and ' ' put that before a
 *              non-negative signed number; '#' alternate form: o starts
 *              with 0, x and X put 0x or 0X before a non-zero number.
 *   width      digits or '*' (an int argument; negative means '-').
 *   precision  ".N" or ".*" (negative means none): for integers the
 *              fewest digits (".0" prints a zero as nothing), for %s the
 *              most characters.
 *   length     hh h l ll z j t, as in C.
 */
#ifndef EXO_FORMAT_H
#define EXO_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#define FMT_PTR_DIGITS 16 /* %p: a 64-bit address, every digit */
#define FMT_TOO_LONG (-1) /* the output would pass INT_MAX characters */

/*
 * Where formatted characters go, one at a time.  put() is called with
 * len still counting the characters before c; the formatter advances it.
 */
struct fmt_sink {
	void (*put)(struct fmt_sink *sink, char c);
	size_t len;
};

/*
 * Format fmt with ap into sink.  Returns the number of characters
 * produced, or FMT_TOO_LONG.
 */
int fmt_vformat(struct fmt_sink *sink, const char *fmt, va_list ap);

/*
 * Like C's vsnprintf: at most size - 1 characters into buf, then a NUL
 * (nothing is written when size is 0).  Returns the length the whole
 * output has, even when cut, or FMT_TOO_LONG.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* EXO_FORMAT_H */
