/*
 * number.c: reading integers from text (see number.h).  It owns digit
 * values, saturation on overflow, and the strto* rules for white space,
 * signs and base prefixes; callers decide what a range error means to
 * them (an errno, a rejected command-line word).
 */
#include <stdbool.h>
#include <stdint.h>

#include "number.h"

#define DECIMAL 10
#define OCTAL 8
#define HEX 16

/* What the strto* rules found in a string, before the range checks. */
struct scan {
	const char *end;
	uint64_t magnitude; /* saturated at UINT64_MAX */
	bool negative;
	bool overflow;
};

int num_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + DECIMAL;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + DECIMAL;
	return NUM_NOT_DIGIT;
}

bool num_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_digit_of(char c, unsigned base)
{
	int d = num_digit(c);

	return d != NUM_NOT_DIGIT && (unsigned)d < base;
}

const char *num_digits(const char *s, unsigned base, uint64_t *value,
		       bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	for (; is_digit_of(*s, base); s++) {
		unsigned d = (unsigned)num_digit(*s);

		if (v > (UINT64_MAX - d) / base) {
			*overflow = true;
			v = UINT64_MAX;
		} else {
			v = v * base + d;
		}
	}
	*value = v;
	return s;
}

static bool base_valid(int base)
{
	return base == 0 || (base >= NUM_BASE_MIN && base <= NUM_BASE_MAX);
}

/*
 * Skip a "0x" prefix where base allows one; settle base 0.  The prefix
 * counts only with a hex digit after it: "0xg" is the number 0.
 */
static const char *skip_prefix(const char *s, int *base)
{
	bool hex_prefix = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
			  is_digit_of(s[2], HEX);

	if ((*base == 0 || *base == HEX) && hex_prefix) {
		*base = HEX;
		return s + 2;
	}
	if (*base == 0)
		*base = s[0] == '0' ? OCTAL : DECIMAL;
	return s;
}

/* The strto* reading of s; false (and nothing read) for a bad base. */
static bool scan(const char *s, int base, struct scan *out)
{
	const char *p = s, *digits;

	*out = (struct scan){.end = s};
	if (!base_valid(base))
		return false;
	while (num_is_space(*p))
		p++;
	out->negative = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	digits = skip_prefix(p, &base);
	out->end =
	    num_digits(digits, (unsigned)base, &out->magnitude, &out->overflow);
	if (out->end == digits) /* no number: nothing was read */
		*out = (struct scan){.end = s};
	return true;
}

enum num_status num_strtou64(const char *s, const char **end, int base,
			     uint64_t *out)
{
	struct scan sc;
	bool ok = scan(s, base, &sc);

	*end = sc.end;
	*out = 0;
	if (!ok)
		return NUM_BADBASE;
	if (sc.overflow) {
		*out = UINT64_MAX;
		return NUM_RANGE;
	}
	*out = sc.negative ? 0 - sc.magnitude : sc.magnitude;
	return NUM_OK;
}

/* -m for 0 < m <= 2^63, without an intermediate that overflows. */
static int64_t negate(uint64_t m)
{
	return -(int64_t)(m - 1) - 1;
}

enum num_status num_strtoi64(const char *s, const char **end, int base,
			     int64_t *out)
{
	struct scan sc;
	bool ok = scan(s, base, &sc);
	uint64_t limit = sc.negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;

	*end = sc.end;
	*out = 0;
	if (!ok)
		return NUM_BADBASE;
	if (sc.overflow || sc.magnitude > limit) {
		*out = sc.negative ? INT64_MIN : INT64_MAX;
		return NUM_RANGE;
	}
	if (sc.magnitude)
		*out =
		    sc.negative ? negate(sc.magnitude) : (int64_t)sc.magnitude;
	return NUM_OK;
}
