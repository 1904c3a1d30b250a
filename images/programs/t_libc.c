/*
 * t_libc.c: guest tests of guestlib's C library subset (libos_libc.h) and
 * of libos_snprintf as a guest program sees them, built -ffreestanding
 * -fno-builtin: the string and memory functions (edge cases C defines:
 * the NUL strchr finds, strncpy's padding, strlcpy's cut), the character
 * classes over every byte and EOF, the strto* family (bases, prefixes,
 * signs, end pointers, saturation and errno) and formatted output
 * (conversions, flags, widths, precisions, cutting and the length
 * returned).  The formatter's full table runs on the host
 * (tests/unit/test_format.c); here it is checked linked into a guest.
 */
#include "t_util.h"

#define FMT_BUF 128
#define SMALL 8 /* a buffer the output does not fit */
#define EOF_VALUE (-1)
#define BYTE_VALUES 256

/* ---- Strings and memory -------------------------------------------------- */

static void lengths_and_compares(void)
{
	tap_ok(strlen("") == 0 && strlen("hello") == 5 &&
		   strnlen("hello", 3) == 3 && strnlen("hi", 10) == 2 &&
		   strnlen("hello", 0) == 0,
	       "strlen, strnlen (stopping at max)");
	tap_ok(strcmp("abc", "abc") == 0 && strcmp("abc", "abd") < 0 &&
		   strcmp("abd", "abc") > 0 && strcmp("ab", "abc") < 0 &&
		   strcmp("\xff", "a") > 0,
	       "strcmp: order, prefixes, bytes compared unsigned");
	tap_ok(strncmp("abcx", "abcy", 3) == 0 &&
		   strncmp("abcx", "abcy", 4) < 0 &&
		   strncmp("ab", "ab\0z", 4) == 0 && strncmp("a", "b", 0) == 0,
	       "strncmp stops at n and at the NUL");
}

static void searches(void)
{
	const char *s = "a/b/c", *words = "hello world";
	const char text[] = {'x', 'y', 0, 'z'};

	tap_ok(strchr(s, '/') == s + 1 && strrchr(s, '/') == s + 3 &&
		   strchr(s, 'q') == NULL && strrchr(s, 'q') == NULL &&
		   strchr(s, '\0') == s + 5 && strrchr(s, '\0') == s + 5,
	       "strchr, strrchr: first, last, none, the NUL");
	tap_ok(strstr(words, "o w") == words + 4 &&
		   strstr(words, "world") == words + 6,
	       "strstr finds a match in the middle and at the end");
	tap_ok(strstr(s, "") == s && strstr(s, "c/") == NULL &&
		   strstr("", "a") == NULL && strstr("", "") != NULL &&
		   !strcmp(strstr("aab", "ab"), "ab"),
	       "strstr: empty needle, none, an empty haystack, a match "
	       "after a partial one");
	tap_ok(memchr(text, 'z', sizeof(text)) == text + 3 &&
		   memchr(text, 'z', 3) == NULL &&
		   memchr(text, 0, sizeof(text)) == text + 2 &&
		   memchr(text, 'x' + BYTE_VALUES, 1) == text,
	       "memchr: past a NUL, bounded by n, c taken as a byte");
}

static void copies(void)
{
	char buf[SMALL];
	char *r;

	memset(buf, 'z', sizeof(buf));
	r = strcpy(buf, "abc");
	tap_ok(r == buf && !memcmp(buf, "abc\0zzzz", SMALL),
	       "strcpy copies the NUL and nothing after it");
	r = strcat(buf, "de");
	tap_ok(r == buf && !strcmp(buf, "abcde") && buf[6] == 'z',
	       "strcat appends after the NUL");
	memset(buf, 'z', sizeof(buf));
	r = strncpy(buf, "ab", 5);
	tap_ok(r == buf && !memcmp(buf, "ab\0\0\0zzz", SMALL),
	       "strncpy pads with NULs to n");
	memset(buf, 'z', sizeof(buf));
	strncpy(buf, "abcdef", 3);
	tap_ok(!memcmp(buf, "abczzzzz", SMALL),
	       "strncpy leaves a long source unterminated");
	memset(buf, 'z', sizeof(buf));
	tap_ok(strlcpy(buf, "abcdefghij", 4) == 10 &&
		   !memcmp(buf, "abc\0zzzz", SMALL) &&
		   strlcpy(buf, "xy", sizeof(buf)) == 2 && !strcmp(buf, "xy") &&
		   strlcpy(buf, "q", 0) == 1 && !strcmp(buf, "xy"),
	       "strlcpy cuts, terminates, returns strlen(src); size 0 "
	       "writes nothing");
}

/* ---- Character classes --------------------------------------------------- */

static unsigned count_class(int (*is)(int c))
{
	unsigned n = 0;

	for (int c = 0; c < BYTE_VALUES; c++)
		n += is(c) != 0;
	return n;
}

static void char_classes(void)
{
	tap_ok(count_class(isdigit) == 10 && count_class(isxdigit) == 22 &&
		   count_class(isalpha) == 52 && count_class(isspace) == 6,
	       "10 digits, 22 hex digits, 52 letters, 6 spaces among the "
	       "256 bytes");
	tap_ok(isdigit('7') && !isdigit('a') && isxdigit('F') &&
		   !isxdigit('g') && isalpha('q') && isalpha('Z') &&
		   !isalpha('@') && !isalpha('[') && isspace('\t') &&
		   isspace('\v') && !isspace('_'),
	       "isdigit, isxdigit, isalpha, isspace on their edges");
	tap_ok(!isdigit(EOF_VALUE) && !isxdigit(EOF_VALUE) &&
		   !isalpha(EOF_VALUE) && !isspace(EOF_VALUE) &&
		   !isalpha('a' + BYTE_VALUES),
	       "EOF and values past a byte are in no class");
	tap_ok(toupper('a') == 'A' && toupper('z') == 'Z' &&
		   toupper('A') == 'A' && toupper('1') == '1' &&
		   tolower('Q') == 'q' && tolower('q') == 'q' &&
		   tolower('[') == '[' && toupper(EOF_VALUE) == EOF_VALUE,
	       "toupper, tolower change letters only");
}

/* ---- Numbers ------------------------------------------------------------- */

struct parse_case {
	const char *s;
	int base;
	long long want;
	size_t end; /* characters the number takes */
	int err;    /* errno afterwards (cleared before) */
};

static const struct parse_case signed_cases[] = {
    {"42", 10, 42, 2, 0},
    {"  \t-17xyz", 10, -17, 6, 0},
    {"+0", 10, 0, 2, 0},
    {"0x1F", 0, 31, 4, 0},
    {"0X1f", 16, 31, 4, 0},
    {"1f", 16, 31, 2, 0},
    {"0755", 0, 493, 4, 0},
    {"089", 0, 0, 1, 0}, /* octal: 8 is not a digit */
    {"0xg", 0, 0, 1, 0}, /* "0x" without a hex digit is 0 */
    {"-101", 2, -5, 4, 0},
    {"zz", 36, 1295, 2, 0},
    {"Zz", 36, 1295, 2, 0},
    {"", 10, 0, 0, 0},
    {"  -", 10, 0, 0, 0}, /* no digits: end is s itself */
    {"abc", 10, 0, 0, 0},
    {"9223372036854775807", 10, INT64_MAX, 19, 0},
    {"-9223372036854775808", 10, INT64_MIN, 20, 0},
    {"9223372036854775808", 10, INT64_MAX, 19, ERANGE},
    {"-9223372036854775809", 10, INT64_MIN, 20, ERANGE},
    {"99999999999999999999999", 0, INT64_MAX, 23, ERANGE},
    {"12", 1, 0, 0, EINVAL},
    {"12", 37, 0, 0, EINVAL},
    {"12", -1, 0, 0, EINVAL},
};
#define NSIGNED (sizeof(signed_cases) / sizeof(signed_cases[0]))

/* One case through strtol (long) or strtoll (long long). */
static bool signed_ok(const struct parse_case *c, bool as_long)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = as_long ? strtol(c->s, &end, c->base)
		    : strtoll(c->s, &end, c->base);
	if (v == c->want && end == c->s + c->end && errno == c->err)
		return true;
	tap_diag("strto%s(\"%s\", %d) = %lld end +%ld errno %d",
		 as_long ? "l" : "ll", c->s, c->base, v, (long)(end - c->s),
		 errno);
	return false;
}

static void parse_signed(void)
{
	bool all_long = true, all_llong = true;

	for (unsigned i = 0; i < NSIGNED; i++) {
		all_long = signed_ok(&signed_cases[i], true) && all_long;
		all_llong = signed_ok(&signed_cases[i], false) && all_llong;
	}
	tap_ok(all_long,
	       "strtol: %u cases of bases, prefixes, signs, ends, "
	       "limits and errno",
	       (unsigned)NSIGNED);
	tap_ok(all_llong, "strtoll: the same %u cases", (unsigned)NSIGNED);
}

static void parse_unsigned(void)
{
	char *end;

	errno = 0;
	tap_ok(strtoul("18446744073709551615", &end, 10) == UINT64_MAX &&
		   *end == '\0' && errno == 0 &&
		   strtoull("0xffffffffffffffff", NULL, 16) == UINT64_MAX &&
		   errno == 0,
	       "strtoul, strtoull reach UINT64_MAX without an error");
	tap_ok(strtoul("-1", &end, 10) == UINT64_MAX && *end == '\0' &&
		   strtoull("-0x10", NULL, 0) == 0 - 16ull && errno == 0,
	       "strtoul negates a '-' number modulo 2^64, as C does");
	tap_ok(strtoull("18446744073709551616", &end, 10) == UINT64_MAX &&
		   *end == '\0' && errno == ERANGE,
	       "strtoull saturates past UINT64_MAX: ERANGE");
	errno = 0;
	end = NULL;
	tap_ok(strtoul(" 12", &end, 99) == 0 && errno == EINVAL &&
		   end != NULL && !strcmp(end, " 12"),
	       "strtoul with base 99: 0, EINVAL, end at the start");
}

static void parse_atoi(void)
{
	tap_ok(atoi("123") == 123 && atoi("  -45abc") == -45 &&
		   atoi("x") == 0 && atoi("2147483647") == 2147483647,
	       "atoi: decimal, white space, a sign, trailing junk");
}

/* ---- Formatted output ---------------------------------------------------- */

static bool formats(const char *want, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* libos_snprintf gives want and returns its length. */
static bool formats(const char *want, const char *fmt, ...)
{
	char buf[FMT_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = libos_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n == (int)strlen(want) && !strcmp(buf, want))
		return true;
	tap_diag("\"%s\" gave \"%s\" (%d), want \"%s\"", fmt, buf, n, want);
	return false;
}

static void format_conversions(void)
{
	tap_ok(formats("-42 4000000000 beef BEEF 777", "%d %u %x %X %o", -42,
		       4000000000u, 0xbeef, 0xbeef, 0777) &&
		   formats("x % str", "%c %% %s", 'x', "str") &&
		   formats("0x00000000deadbeef", "%p", (void *)0xdeadbeef),
	       "snprintf: d u x X o c %% s p");
	tap_ok(formats("-9223372036854775808 18446744073709551615", "%lld %llu",
		       (long long)INT64_MIN, ~0ull) &&
		   formats("-1 255 65535 7", "%hhd %hhu %hu %zu", 255, 255, -1,
			   (size_t)7) &&
		   formats("-3 5", "%jd %td", (intmax_t)-3, (ptrdiff_t)5),
	       "snprintf: length modifiers hh h l ll z j t");
}

static void format_fields(void)
{
	tap_ok(formats("[   42][42   ][00042][-0042]",
		       "[%5d][%-5d][%05d][%05d]", 42, 42, 42, -42) &&
		   formats("[  abc][abc  ][ab]", "[%5s][%-5s][%.2s]", "abc",
			   "abc", "abc") &&
		   formats("[   7][7   ]", "[%*d][%*d]", 4, 7, -4, 7),
	       "snprintf: widths, '-', '0', '*' and a negative '*'");
	tap_ok(formats("+5 -5 | 5", "%+d %+d |% d", 5, -5, 5) &&
		   formats("0x1f 0X1F 017 0 0", "%#x %#X %#o %#x %#o", 31, 31,
			   15, 0, 0) &&
		   formats("  00042 [] 0042", "%7.5d [%.0d] %.4u", 42, 0, 42u),
	       "snprintf: '+', ' ', '#', integer precision (.0 of 0 is "
	       "empty)");
}

static void format_cutting(void)
{
	char small[SMALL];
	char canary[2] = {'!', '!'};

	tap_ok(libos_snprintf(small, sizeof(small), "%s", "abcdefghijkl") ==
		       12 &&
		   !strcmp(small, "abcdefg"),
	       "snprintf cuts to size - 1 and still returns the whole length");
	tap_ok(libos_snprintf(canary, 0, "%d", 12345) == 5 &&
		   canary[0] == '!' && libos_snprintf(NULL, 0, "%s", "xy") == 2,
	       "snprintf with size 0 writes nothing and returns the length");
	tap_ok(libos_snprintf(canary, 1, "abc") == 3 && canary[0] == '\0' &&
		   canary[1] == '!',
	       "snprintf with size 1 writes only the NUL");
}

int main(void)
{
	tap_plan(30);
	lengths_and_compares();
	searches();
	copies();
	char_classes();
	parse_signed();
	parse_unsigned();
	parse_atoi();
	format_conversions();
	format_fields();
	format_cutting();
	return tap_done();
}
