/*
 * print.c: console output for programs: libos_puts, a small vsnprintf
 * (integers, pointers, strings, characters; no floating point) and
 * printf on top of it, one system call per printed string.
 */
#include "libos.h"

#define DECIMAL 10
#define HEX 16
#define U64_DIGITS_MAX 20 /* 18446744073709551615 */
#define NO_PRECISION (-1)

/* Where formatted output goes: a bounded buffer that counts overflow. */
struct sink {
	char *buf;
	size_t size;
	size_t len; /* what the whole output needs, even past size */
};

enum length { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

/* One conversion specification: %[flags][width][.precision][length]conv */
struct spec {
	bool left; /* '-' */
	bool zero; /* '0' */
	int width;
	int precision; /* %s only; NO_PRECISION if absent */
	enum length length;
	char conv;
};

static size_t length_of(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

long libos_puts(const char *s)
{
	return sys_cons_write(s, length_of(s));
}

static void put(struct sink *out, char c)
{
	/* Keep the last byte for the terminating NUL. */
	if (out->len + 1 < out->size)
		out->buf[out->len] = c;
	out->len++;
}

static void put_repeated(struct sink *out, char c, int count)
{
	for (int i = 0; i < count; i++)
		put(out, c);
}

static void put_bytes(struct sink *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(out, s[i]);
}

/*
 * Write prefix (a sign or "0x") and body padded to the field width: zeros
 * go between prefix and body, spaces outside both.
 */
static void put_field(struct sink *out, const struct spec *sp,
		      const char *prefix, const char *body, size_t body_len)
{
	size_t prefix_len = length_of(prefix);
	int pad = sp->width - (int)(prefix_len + body_len);

	if (sp->left) {
		put_bytes(out, prefix, prefix_len);
		put_bytes(out, body, body_len);
		put_repeated(out, ' ', pad);
	} else if (sp->zero) {
		put_bytes(out, prefix, prefix_len);
		put_repeated(out, '0', pad);
		put_bytes(out, body, body_len);
	} else {
		put_repeated(out, ' ', pad);
		put_bytes(out, prefix, prefix_len);
		put_bytes(out, body, body_len);
	}
}

static void put_unsigned(struct sink *out, const struct spec *sp,
			 const char *prefix, uint64_t value, unsigned base)
{
	const char *digits =
		sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	char text[U64_DIGITS_MAX];
	char *start = text + sizeof(text);

	do {
		*--start = digits[value % base];
		value /= base;
	} while (value);
	put_field(out, sp, prefix, start,
		  (size_t)(text + sizeof(text) - start));
}

static void put_signed(struct sink *out, const struct spec *sp, int64_t value)
{
	/* Negate in unsigned arithmetic so that INT64_MIN survives. */
	if (value < 0)
		put_unsigned(out, sp, "-", 0 - (uint64_t)value, DECIMAL);
	else
		put_unsigned(out, sp, "", (uint64_t)value, DECIMAL);
}

static void put_string(struct sink *out, const struct spec *sp, const char *s)
{
	struct spec spaces = *sp;
	size_t n = 0;

	if (!s)
		s = "(null)";
	while (s[n] && (sp->precision == NO_PRECISION ||
			n < (size_t)sp->precision))
		n++;
	spaces.zero = false; /* '0' pads numbers only */
	put_field(out, &spaces, "", s, n);
}

static uint64_t fetch_unsigned(enum length length, va_list *ap)
{
	switch (length) {
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t fetch_signed(enum length length, va_list *ap)
{
	switch (length) {
	case LEN_LONG:
	case LEN_SIZE: /* size_t's signed twin is long on x86-64 */
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	default:
		return va_arg(*ap, int);
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A width or precision: digits, or '*' taking an int argument. */
static int parse_count(const char **fmt, va_list *ap)
{
	int n = 0;

	if (**fmt == '*') {
		(*fmt)++;
		return va_arg(*ap, int);
	}
	while (is_digit(**fmt))
		n = n * DECIMAL + (*(*fmt)++ - '0');
	return n;
}

static void parse_flags(const char **fmt, struct spec *sp)
{
	for (;; (*fmt)++) {
		if (**fmt == '-')
			sp->left = true;
		else if (**fmt == '0')
			sp->zero = true;
		else
			return;
	}
}

static void parse_length(const char **fmt, struct spec *sp)
{
	if (**fmt == 'z') {
		sp->length = LEN_SIZE;
		(*fmt)++;
	} else if (**fmt == 'l') {
		sp->length = LEN_LONG;
		if (*++(*fmt) == 'l') {
			sp->length = LEN_LLONG;
			(*fmt)++;
		}
	}
}

/* Parse the specification after a '%'; returns where the text resumes. */
static const char *parse_spec(const char *fmt, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.precision = NO_PRECISION, .length = LEN_INT};
	parse_flags(&fmt, sp);
	sp->width = parse_count(&fmt, ap);
	if (sp->width < 0) { /* a negative '*' width means left-justify */
		sp->left = true;
		sp->width = -sp->width;
	}
	if (*fmt == '.') {
		fmt++;
		sp->precision = parse_count(&fmt, ap);
		if (sp->precision < 0)
			sp->precision = NO_PRECISION;
	}
	parse_length(&fmt, sp);
	sp->conv = *fmt;
	return *fmt ? fmt + 1 : fmt;
}

static void convert(struct sink *out, const struct spec *sp, va_list *ap)
{
	char c;

	switch (sp->conv) {
	case 'd':
	case 'i':
		put_signed(out, sp, fetch_signed(sp->length, ap));
		break;
	case 'u':
		put_unsigned(out, sp, "", fetch_unsigned(sp->length, ap),
			     DECIMAL);
		break;
	case 'x':
	case 'X':
		put_unsigned(out, sp, "", fetch_unsigned(sp->length, ap), HEX);
		break;
	case 'p':
		put_unsigned(out, sp, "0x", (uintptr_t)va_arg(*ap, void *),
			     HEX);
		break;
	case 's':
		put_string(out, sp, va_arg(*ap, const char *));
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		put_field(out, sp, "", &c, 1);
		break;
	case '%':
		put(out, '%');
		break;
	default: /* show an unknown conversion rather than hide it */
		put(out, '%');
		if (sp->conv)
			put(out, sp->conv);
	}
}

int libos_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink out = {.buf = buf, .size = size, .len = 0};
	struct spec sp;
	va_list args;

	/* A copy, so that helpers can share it through a pointer. */
	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&out, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		convert(&out, &sp, &args);
	}
	va_end(args);
	if (size)
		buf[out.len < size ? out.len : size - 1] = '\0';
	return (int)out.len;
}

int libos_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = libos_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

long libos_vprintf(const char *fmt, va_list ap)
{
	char buf[LIBOS_PRINTF_MAX];
	int n = libos_vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

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
