/*
 * format.c: the printf-style formatter (see format.h).  It owns reading a
 * conversion specification and laying out one field: sign or prefix,
 * zeros, then digits or text, padded to the width.  Characters go one at
 * a time to a sink, so the same code prints to the kernel's console and
 * into buffers.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

#define DECIMAL 10
#define OCTAL 8
#define HEX 16
#define DIGITS_MAX 22 /* a 64-bit number in octal, the longest it gets */
#define NO_PRECISION (-1)

enum length {
	LEN_CHAR,    /* hh */
	LEN_SHORT,   /* h */
	LEN_INT,     /* none */
	LEN_LONG,    /* l */
	LEN_LLONG,   /* ll */
	LEN_SIZE,    /* z */
	LEN_INTMAX,  /* j */
	LEN_PTRDIFF, /* t */
};

/* One conversion specification: %[flags][width][.precision][length]conv */
struct spec {
	bool left;  /* '-' */
	bool zero;  /* '0' */
	bool plus;  /* '+' */
	bool space; /* ' ' */
	bool alt;   /* '#' */
	unsigned width;
	int precision; /* NO_PRECISION if absent */
	enum length length;
	char conv;
};

/* A field's parts in output order, before it is padded to the width. */
struct field {
	const char *prefix; /* a sign, "0x" or "" */
	size_t zeros;	    /* between prefix and body */
	const char *body;
	size_t body_len;
	bool zero_fill; /* pad with zeros after the prefix, not spaces */
};

/* ---- Output ------------------------------------------------------------ */

static void put(struct fmt_sink *out, char c)
{
	out->put(out, c);
	out->len++;
}

static void put_repeated(struct fmt_sink *out, char c, size_t count)
{
	for (; count; count--)
		put(out, c);
}

static void put_bytes(struct fmt_sink *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(out, s[i]);
}

/* Characters of s before its NUL, but at most max. */
static size_t text_length(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static void put_field(struct fmt_sink *out, const struct spec *sp,
		      struct field f)
{
	size_t prefix_len = text_length(f.prefix, SIZE_MAX);
	size_t used = prefix_len + f.zeros + f.body_len;
	size_t pad = sp->width > used ? sp->width - used : 0;

	if (f.zero_fill && !sp->left) {
		f.zeros += pad;
		pad = 0;
	}
	if (!sp->left)
		put_repeated(out, ' ', pad);
	put_bytes(out, f.prefix, prefix_len);
	put_repeated(out, '0', f.zeros);
	put_bytes(out, f.body, f.body_len);
	if (sp->left)
		put_repeated(out, ' ', pad);
}

/* ---- Conversions ------------------------------------------------------- */

/* Write value's digits in base backwards, ending at end; returns how many. */
static size_t digits_of(uint64_t value, unsigned base, bool upper, char *end)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t n = 0;

	do {
		*--end = set[value % base];
		value /= base;
		n++;
	} while (value);
	return n;
}

/* Print magnitude in base after prefix, with the precision and '#' forms. */
static void put_integer(struct fmt_sink *out, const struct spec *sp,
			const char *prefix, uint64_t magnitude, unsigned base)
{
	char text[DIGITS_MAX];
	size_t n = 0;
	struct field f = {
	    .prefix = prefix,
	    .zero_fill = sp->zero && sp->precision == NO_PRECISION,
	};

	/* C prints a zero with precision 0 as no digits at all. */
	if (magnitude || sp->precision != 0)
		n = digits_of(magnitude, base, sp->conv == 'X',
			      text + sizeof(text));
	f.body = text + sizeof(text) - n;
	f.body_len = n;
	if (sp->precision > 0 && (size_t)sp->precision > n)
		f.zeros = (size_t)sp->precision - n;
	/* '#' octal starts with a 0, unless the digits already do. */
	if (sp->alt && base == OCTAL && !f.zeros && (!n || f.body[0] != '0'))
		f.zeros = 1;
	if (sp->alt && base == HEX && magnitude)
		f.prefix = sp->conv == 'X' ? "0X" : "0x";
	put_field(out, sp, f);
}

static void put_signed(struct fmt_sink *out, const struct spec *sp,
		       int64_t value)
{
	const char *sign = sp->plus ? "+" : sp->space ? " " : "";

	/* Negate in unsigned arithmetic so that INT64_MIN survives. */
	if (value < 0)
		put_integer(out, sp, "-", 0 - (uint64_t)value, DECIMAL);
	else
		put_integer(out, sp, sign, (uint64_t)value, DECIMAL);
}

/* "0x" and at least FMT_PTR_DIGITS digits, so addresses line up. */
static void put_pointer(struct fmt_sink *out, const struct spec *sp,
			const void *p)
{
	struct spec ptr = *sp;

	if (ptr.precision < FMT_PTR_DIGITS)
		ptr.precision = FMT_PTR_DIGITS;
	put_integer(out, &ptr, "0x", (uintptr_t)p, HEX);
}

/* Text is padded with spaces only: '0' is for numbers. */
static void put_text(struct fmt_sink *out, const struct spec *sp, const char *s,
		     size_t len)
{
	put_field(out, sp,
		  (struct field){.prefix = "", .body = s, .body_len = len});
}

static void put_string(struct fmt_sink *out, const struct spec *sp,
		       const char *s)
{
	size_t max =
	    sp->precision == NO_PRECISION ? SIZE_MAX : (size_t)sp->precision;

	if (!s)
		s = "(null)";
	put_text(out, sp, s, text_length(s, max));
}

static uint64_t fetch_unsigned(enum length length, va_list *ap)
{
	switch (length) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	case LEN_INTMAX:
		return va_arg(*ap, uintmax_t);
	case LEN_PTRDIFF:
		return (uint64_t)va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t fetch_signed(enum length length, va_list *ap)
{
	switch (length) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE: /* %zd: size_t's signed twin, which ptrdiff_t is */
	case LEN_PTRDIFF:
		return va_arg(*ap, ptrdiff_t);
	case LEN_INTMAX:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static void convert(struct fmt_sink *out, const struct spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd':
	case 'i':
		put_signed(out, sp, fetch_signed(sp->length, ap));
		break;
	case 'u':
		put_integer(out, sp, "", fetch_unsigned(sp->length, ap),
			    DECIMAL);
		break;
	case 'o':
		put_integer(out, sp, "", fetch_unsigned(sp->length, ap), OCTAL);
		break;
	case 'x':
	case 'X':
		put_integer(out, sp, "", fetch_unsigned(sp->length, ap), HEX);
		break;
	case 'p':
		put_pointer(out, sp, va_arg(*ap, const void *));
		break;
	case 's':
		put_string(out, sp, va_arg(*ap, const char *));
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		put_text(out, sp, &c, 1);
		break;
	}
	case '%':
		put(out, '%');
		break;
	default: /* show an unknown conversion rather than hide it */
		put(out, '%');
		if (sp->conv)
			put(out, sp->conv);
	}
}

/* ---- Parsing a specification ------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits, saturating at INT_MAX rather than overflowing. */
static int parse_digits(const char **fmt)
{
	int n = 0;

	while (is_digit(**fmt)) {
		int d = *(*fmt)++ - '0';

		n = n > (INT_MAX - d) / DECIMAL ? INT_MAX : n * DECIMAL + d;
	}
	return n;
}

/* A width or precision: digits, or '*' taking an int argument. */
static int parse_count(const char **fmt, va_list *ap)
{
	if (**fmt != '*')
		return parse_digits(fmt);
	(*fmt)++;
	return va_arg(*ap, int);
}

static void parse_flags(const char **fmt, struct spec *sp)
{
	for (;; (*fmt)++) {
		switch (**fmt) {
		case '-':
			sp->left = true;
			break;
		case '0':
			sp->zero = true;
			break;
		case '+':
			sp->plus = true;
			break;
		case ' ':
			sp->space = true;
			break;
		case '#':
			sp->alt = true;
			break;
		default:
			return;
		}
	}
}

static void parse_width(const char **fmt, struct spec *sp, va_list *ap)
{
	int width = parse_count(fmt, ap);

	/* A negative '*' width means '-'; negated unsigned, INT_MIN too. */
	if (width < 0) {
		sp->left = true;
		sp->width = 0u - (unsigned)width;
	} else {
		sp->width = (unsigned)width;
	}
}

static void parse_precision(const char **fmt, struct spec *sp, va_list *ap)
{
	if (**fmt != '.')
		return;
	(*fmt)++;
	sp->precision = parse_count(fmt, ap);
	if (sp->precision < 0)
		sp->precision = NO_PRECISION;
}

/* The length of prefix if s starts with it, else 0. */
static size_t starts_with(const char *s, const char *prefix)
{
	size_t n = 0;

	for (; prefix[n]; n++) {
		if (s[n] != prefix[n])
			return 0;
	}
	return n;
}

static void parse_length(const char **fmt, struct spec *sp)
{
	/* Longest first, so that "hh" is not read as "h". */
	static const struct {
		const char *text;
		enum length length;
	} modifiers[] = {
	    {"hh", LEN_CHAR},	{"h", LEN_SHORT}, {"ll", LEN_LLONG},
	    {"l", LEN_LONG},	{"z", LEN_SIZE},  {"j", LEN_INTMAX},
	    {"t", LEN_PTRDIFF},
	};

	for (size_t i = 0; i < sizeof(modifiers) / sizeof(modifiers[0]); i++) {
		size_t n = starts_with(*fmt, modifiers[i].text);

		if (n) {
			sp->length = modifiers[i].length;
			*fmt += n;
			return;
		}
	}
}

/* Parse the specification after a '%'; returns where the text resumes. */
static const char *parse_spec(const char *fmt, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.precision = NO_PRECISION, .length = LEN_INT};
	parse_flags(&fmt, sp);
	parse_width(&fmt, sp, ap);
	parse_precision(&fmt, sp, ap);
	parse_length(&fmt, sp);
	sp->conv = *fmt;
	return *fmt ? fmt + 1 : fmt;
}

/* ---- Entry points ------------------------------------------------------ */

int fmt_vformat(struct fmt_sink *sink, const char *fmt, va_list ap)
{
	size_t start = sink->len, n;
	struct spec sp;
	va_list args;

	/* A copy, so that helpers can share it through a pointer. */
	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(sink, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		convert(sink, &sp, &args);
	}
	va_end(args);
	n = sink->len - start;
	return n > INT_MAX ? FMT_TOO_LONG : (int)n;
}

/* A bounded buffer that still counts what does not fit. */
struct buffer_sink {
	struct fmt_sink sink; /* first, so that put_buffer finds the rest */
	char *buf;
	size_t size;
};

static void put_buffer(struct fmt_sink *sink, char c)
{
	struct buffer_sink *b = (struct buffer_sink *)sink;

	/* Keep the last byte for the terminating NUL. */
	if (sink->len + 1 < b->size)
		b->buf[sink->len] = c;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buffer_sink b = {
	    .sink = {.put = put_buffer}, .buf = buf, .size = size};
	int n = fmt_vformat(&b.sink, fmt, ap);

	if (size)
		buf[b.sink.len < size ? b.sink.len : size - 1] = '\0';
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
