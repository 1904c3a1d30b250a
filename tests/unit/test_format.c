/*
 * test_format.c: Check tests of the printf-style formatter the kernel and
 * guestlib share (exo/lib/format.c).
 *
 * Each conversion, length modifier, flag, width and precision is checked
 * against a written-out expectation and, where C defines the result, also
 * against the host C library's vsnprintf with the same arguments.  Then
 * what C leaves to us (%p, unknown conversions, a lone '%'), cutting
 * output to the buffer, the length returned, and a caller's own sink.
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/format.h"

#define BUF 256
#define SMALL 8
#define CANARY '#'

static void expect(const char *want, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void same_as_libc(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Our output for fmt is want, and we return its length. */
static void expect_v(const char *want, const char *fmt, va_list ap)
{
	char buf[BUF];
	int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);

	ck_assert_msg(!strcmp(buf, want), "\"%s\" gave \"%s\", want \"%s\"",
		      fmt, buf, want);
	ck_assert_int_eq(n, (int)strlen(want));
}

static void expect(const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	expect_v(want, fmt, ap);
	va_end(ap);
}

/*
 * The same without -Wformat's checks, for formats it calls odd (a flag
 * another overrides, an unknown conversion) whose output is still ours
 * to define.
 */
static void expect_odd(const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	expect_v(want, fmt, ap);
	va_end(ap);
}

/* Our output and return value for fmt are the host C library's. */
static void same_as_libc(const char *fmt, ...)
{
	char ours[BUF], theirs[BUF];
	va_list ap, again;
	int n, m;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = fmt_vsnprintf(ours, sizeof(ours), fmt, ap);
	m = vsnprintf(theirs, sizeof(theirs), fmt, again);
	va_end(again);
	va_end(ap);
	ck_assert_msg(n == m && !strcmp(ours, theirs),
		      "\"%s\": ours \"%s\" (%d), libc \"%s\" (%d)", fmt, ours,
		      n, theirs, m);
}

START_TEST(test_conversions)
{
	expect("-42 42 4000000000 777 beef BEEF", "%d %i %u %o %x %X", -42, 42,
	       4000000000u, 0777, 0xbeef, 0xbeef);
	expect("x % abc", "%c %% %s", 'x', "abc");
	expect("0 0 0 0", "%d %u %o %x", 0, 0u, 0u, 0u);
	expect("plain text", "plain text");
	expect("", "%s", "");
	same_as_libc("%d %d %d", INT_MIN, INT_MAX, -1);
	same_as_libc("%u %o %x %X", UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX);
	same_as_libc("[%c%c]", 'a', 0x100 + 'b');
}
END_TEST

START_TEST(test_lengths)
{
	expect("-1 255 -32768 65535", "%hhd %hhu %hd %hu", 255, 255, 32768, -1);
	expect("-9223372036854775808 18446744073709551615", "%ld %lu",
	       (long)INT64_MIN, (unsigned long)UINT64_MAX);
	expect("-9223372036854775808 ffffffffffffffff", "%lld %llx",
	       (long long)INT64_MIN, ~0ull);
	expect("18446744073709551615 -1", "%zu %zd", SIZE_MAX, (ptrdiff_t)-1);
	expect("-7 7 -3 1777777777777777777777", "%jd %ju %td %jo",
	       (intmax_t)-7, (uintmax_t)7, (ptrdiff_t)-3, (uintmax_t)~0ull);
	same_as_libc("%hhx %hx %lx %llo %zx", 0x1ff, 0x1ffff, ~0ul, ~0ull,
		     SIZE_MAX);
}
END_TEST

START_TEST(test_widths)
{
	expect("[   42][42   ][00042][-0042]", "[%5d][%-5d][%05d][%05d]", 42,
	       42, 42, -42);
	expect("[  abc][abc  ][    x][x    ]", "[%5s][%-5s][%5c][%-5c]", "abc",
	       "abc", 'x', 'x');
	expect("[   7][7   ][7   ]", "[%*d][%*d][%-*d]", 4, 7, -4, 7, 4, 7);
	expect("123456", "%3d", 123456);     /* a width never cuts */
	expect_odd("[42  ]", "[%-04d]", 42); /* '-' beats '0' */
	same_as_libc("[%08x][%-8o][%010ld][%*s]", 0xabc, 8, -5L, -6, "ab");
	same_as_libc("[%0*d]", 6, -12);
}
END_TEST

START_TEST(test_flags)
{
	expect("+5 -5 +0", "%+d %+d %+d", 5, -5, 0);
	expect(" 5 -5", "% d % d", 5, -5);
	expect_odd("+5", "%+ d", 5); /* '+' beats ' ' */
	expect("0x1f 0X1F 017 0 0", "%#x %#X %#o %#x %#o", 31, 31, 15, 0, 0);
	expect("0x000001f", "%#09x", 31);
	expect("+0042", "%+05d", 42);
	expect_odd("5 5", "%+u % u", 5u, 5u); /* signs: signed numbers only */
	same_as_libc("[%+6d][% -6d][%#-8x][%#08o]", 12, 12, 255, 8);
	same_as_libc("[%#.3o][%#.5o][%#.0o][%#5o]", 8, 8, 0, 0);
}
END_TEST

START_TEST(test_precision)
{
	expect("00042 -00042 002a", "%.5d %.5d %.4x", 42, -42, 42);
	expect("[][][0]", "[%.0d][%.0x][%.1d]", 0, 0, 0);
	expect_odd("[   00042]", "[%08.5d]", 42); /* a precision: no '0' */
	expect("[ab][abc][][abc]", "[%.2s][%.5s][%.0s][%.*s]", "abc", "abc",
	       "abc", -1, "abc");
	expect("[  ab]", "[%4.2s]", "abcdef");
	expect("[42]", "[%.*d]", -3, 42); /* a negative precision is none */
	expect("[]", "[%.d]", 0); /* "." alone is 0: no digits for a 0 */
	same_as_libc("[%10.4d][%-10.4x][%+.3d][%.3u]", 7, 0xab, 5, 0u);
	same_as_libc("[%.20lu][%.0lu]", 1ul, 0ul);
}
END_TEST

/* What C leaves to the implementation: ours prints these so. */
START_TEST(test_pointer)
{
	int x;
	char want[BUF];

	expect("0x00000000deadbeef", "%p", (void *)0xdeadbeef);
	expect("0x0000000000000000", "%p", NULL);
	expect("0xffffffff80000000", "%p", (void *)0xffffffff80000000ull);
	expect("[  0x0000000000000001]", "[%20p]", (void *)1);
	expect("[0x0000000000000001  ]", "[%-20p]", (void *)1);
	snprintf(want, sizeof(want), "0x%016lx", (unsigned long)&x);
	expect(want, "%p", (void *)&x);
}
END_TEST

START_TEST(test_odd_formats)
{
	/* volatile: keeps GCC from seeing (and warning of) the NULL. */
	const char *volatile nothing = NULL;

	expect("[(null)][  (nu]", "[%s][%5.3s]", nothing, nothing);
	expect_odd("%y1", "%y%d", 1); /* unknown: shown, takes no argument */
	expect_odd("50%", "50%");     /* a lone '%' at the end */
	expect_odd("a%", "a%-5");     /* a specification cut off */
	expect_odd("[%]", "[%5%]");   /* %% takes no width */
}
END_TEST

START_TEST(test_truncation)
{
	char buf[SMALL + 2];

	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(fmt_snprintf(buf, SMALL, "%s-%d", "abcdef", 12345), 12);
	ck_assert_str_eq(buf, "abcdef-"); /* SMALL - 1 characters and a NUL */
	ck_assert_int_eq(buf[SMALL], CANARY);

	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(fmt_snprintf(buf, SMALL, "%07d", 42), 7); /* fits */
	ck_assert_str_eq(buf, "0000042");
	ck_assert_int_eq(fmt_snprintf(buf, SMALL, "%08d", 42), 8); /* 1 over */
	ck_assert_str_eq(buf, "0000004");

	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(fmt_snprintf(buf, 1, "%x", 0xabc), 3);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq(buf[1], CANARY);
	ck_assert_int_eq(fmt_snprintf(buf + 1, 0, "%s", "nothing"), 7);
	ck_assert_int_eq(buf[1], CANARY);
	ck_assert_int_eq(fmt_snprintf(NULL, 0, "%*d", 100, 1), 100);
}
END_TEST

/* A sink that records what it gets and checks len as it goes. */
struct recorder {
	struct fmt_sink sink; /* first: put() finds the recorder from it */
	char text[BUF];
	size_t calls;
};

static void record(struct fmt_sink *sink, char c)
{
	struct recorder *r = (struct recorder *)sink;

	ck_assert_uint_eq(sink->len, r->calls); /* len counts those before */
	r->text[r->calls++] = c;
}

static int record_format(struct recorder *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int record_format(struct recorder *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vformat(&r->sink, fmt, ap);
	va_end(ap);
	return n;
}

START_TEST(test_sink)
{
	struct recorder r = {.sink = {.put = record}};

	ck_assert_int_eq(record_format(&r, "%s=%u", "n", 300u), 5);
	ck_assert_int_eq(record_format(&r, "%c", '!'), 1); /* this call's */
	ck_assert_uint_eq(r.sink.len, 6);
	ck_assert_uint_eq(r.calls, 6);
	ck_assert_int_eq(memcmp(r.text, "n=300!", 6), 0);
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *c = tcase_create("conversions");
	TCase *out = tcase_create("output");

	tcase_add_test(c, test_conversions);
	tcase_add_test(c, test_lengths);
	tcase_add_test(c, test_widths);
	tcase_add_test(c, test_flags);
	tcase_add_test(c, test_precision);
	tcase_add_test(c, test_pointer);
	tcase_add_test(c, test_odd_formats);
	suite_add_tcase(s, c);

	tcase_add_test(out, test_truncation);
	tcase_add_test(out, test_sink);
	suite_add_tcase(s, out);
	return s;
}

CHECK_MAIN(format_suite)
