/*
 * libc.c: the C library subset's character classes, number parsing and
 * errno (libos_libc.h).  The parsing rules are exo/lib/number.c's, shared
 * with the kernel's command line; this file maps its results onto C's
 * types and errno.
 */
#include <limits.h>

#include "libos.h"

#include "../exo/lib/number.h"

#define DECIMAL 10
#define HEX 16

_Static_assert(sizeof(long) == sizeof(int64_t) &&
		   sizeof(long long) == sizeof(int64_t),
	       "strtol and strtoll share the 64-bit parser");

int errno;

/* ---- Character classes --------------------------------------------------- */

/*
 * c's digit value (letters from 10 up, as in base 36), or NUM_NOT_DIGIT
 * for anything else, EOF and values outside unsigned char included.
 */
static int digit_value(int c)
{
	if (c < 0 || c > UCHAR_MAX)
		return NUM_NOT_DIGIT;
	return num_digit((char)c);
}

int isdigit(int c)
{
	int d = digit_value(c);

	return d != NUM_NOT_DIGIT && d < DECIMAL;
}

int isxdigit(int c)
{
	int d = digit_value(c);

	return d != NUM_NOT_DIGIT && d < HEX;
}

/* The letters are exactly the digits from 10 up. */
int isalpha(int c)
{
	return digit_value(c) >= DECIMAL;
}

int isspace(int c)
{
	return c >= 0 && c <= UCHAR_MAX && num_is_space((char)c);
}

int toupper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

int tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ---- Numbers ------------------------------------------------------------- */

static void note(enum num_status status, char **end, const char *stop)
{
	if (status == NUM_RANGE)
		errno = ERANGE;
	else if (status == NUM_BADBASE)
		errno = EINVAL;
	if (end)
		*end = (char *)stop;
}

long long strtoll(const char *s, char **end, int base)
{
	const char *stop;
	int64_t v;
	enum num_status status = num_strtoi64(s, &stop, base, &v);

	note(status, end, stop);
	return v;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	const char *stop;
	uint64_t v;
	enum num_status status = num_strtou64(s, &stop, base, &v);

	note(status, end, stop);
	return v;
}

long strtol(const char *s, char **end, int base)
{
	return strtoll(s, end, base);
}

unsigned long strtoul(const char *s, char **end, int base)
{
	return strtoull(s, end, base);
}

int atoi(const char *s)
{
	return (int)strtol(s, NULL, DECIMAL);
}
