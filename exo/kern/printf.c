/*
 * printf.c: formatted output for the kernel, to the console or a buffer.
 * One formatter drives both through a per-character sink.
 */
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "printf.h"

#define PRINTF_NUM_MAX 24 /* digits of a 64-bit number in base 8, and more */
#define PTR_HEX_DIGITS 16

struct sink {
	void (*put)(struct sink *s, char c);
	char *buf; /* for the buffer sink */
	size_t size;
	size_t len; /* characters produced so far */
};

struct spec {
	bool left; /* '-' */
	bool zero; /* '0' */
	int width;
	int prec; /* '.' precision: most characters of %s; -1 if none */
	int lmod; /* number of 'l's (z counts as 2) */
};

static void emit(struct sink *s, char c)
{
	s->put(s, c);
	s->len++;
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		emit(s, c);
}

/* Emit prefix+body padded to the spec's width. */
static void emit_field(struct sink *s, const struct spec *sp,
		       const char *prefix, const char *body, int body_len)
{
	int plen = 0, fill;

	while (prefix[plen])
		plen++;
	fill = sp->width - plen - body_len;
	if (!sp->left && !sp->zero)
		pad(s, ' ', fill);
	for (int i = 0; i < plen; i++)
		emit(s, prefix[i]);
	if (!sp->left && sp->zero)
		pad(s, '0', fill);
	for (int i = 0; i < body_len; i++)
		emit(s, body[i]);
	if (sp->left)
		pad(s, ' ', fill);
}

static void emit_num(struct sink *s, const struct spec *sp, uint64_t v,
		     unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[PRINTF_NUM_MAX];
	int n = PRINTF_NUM_MAX;

	do {
		tmp[--n] = digits[v % base];
		v /= base;
	} while (v);
	emit_field(s, sp, prefix, tmp + n, PRINTF_NUM_MAX - n);
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	if (sp->lmod >= 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	if (sp->lmod >= 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

/* Parse flags, width and length of one conversion; returns past them. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.prec = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		sp->prec = 0;
		if (*++f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	for (; *f == 'l' || *f == 'z'; f++)
		sp->lmod += *f == 'z' ? 2 : 1;
	return f;
}

static void convert(struct sink *s, char conv, struct spec *sp, va_list *ap)
{
	switch (conv) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(sp, ap);
		uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;

		emit_num(s, sp, mag, 10, false, v < 0 ? "-" : "");
		break;
	}
	case 'u':
		emit_num(s, sp, arg_unsigned(sp, ap), 10, false, "");
		break;
	case 'x':
	case 'X':
		emit_num(s, sp, arg_unsigned(sp, ap), 16, conv == 'X', "");
		break;
	case 'p':
		*sp = (struct spec){
		    .zero = true, .width = PTR_HEX_DIGITS + 2, .prec = -1};
		emit_num(s, sp, (uintptr_t)va_arg(*ap, void *), 16, false,
			 "0x");
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		sp->zero = false;
		emit_field(s, sp, "", &c, 1);
		break;
	}
	case 's': {
		const char *str = va_arg(*ap, const char *);
		int n = 0;

		if (!str)
			str = "(null)";
		while (str[n] && (sp->prec < 0 || n < sp->prec))
			n++;
		sp->zero = false;
		emit_field(s, sp, "", str, n);
		break;
	}
	default: /* '%' and anything unknown print as themselves */
		emit(s, conv);
		break;
	}
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			emit(s, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		if (!*fmt)
			break;
		convert(s, *fmt++, &sp, &args);
	}
	va_end(args);
}

static void put_console(struct sink *s, char c)
{
	(void)s;
	cons_putc(c);
}

static void put_buffer(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
}

int kvprintf(const char *fmt, va_list ap)
{
	struct sink s = {.put = put_console};

	format(&s, fmt, ap);
	return (int)s.len;
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

int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct sink s = {.put = put_buffer, .buf = buf, .size = n};

	format(&s, fmt, ap);
	if (n)
		buf[s.len < n ? s.len : n - 1] = '\0';
	return (int)s.len;
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
