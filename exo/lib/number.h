/*
 * number.h: reading numbers from text, shared by the kernel's command line
 * (exo/kern/cmdline.c), guestlib's strtol family (guestlib/libc.c) and
 * the host tests (tests/unit/test_number.c).  Portable freestanding C, no
 * hardware.  Characters are ASCII, as in C's "C" locale.
 */
#ifndef EXO_NUMBER_H
#define EXO_NUMBER_H

#include <stdbool.h>
#include <stdint.h>

#define NUM_BASE_MIN 2
#define NUM_BASE_MAX 36 /* digits 0-9, then a-z (or A-Z) for 10-35 */
#define NUM_NOT_DIGIT (-1)

/* c's value as a digit of base NUM_BASE_MAX, or NUM_NOT_DIGIT. */
int num_digit(char c);

/* White space as C's isspace sees it: ' ', \t, \n, \v, \f, \r. */
bool num_is_space(char c);

/*
 * Read the digits of base (NUM_BASE_MIN..NUM_BASE_MAX) at s, as many as
 * there are, into *value, which saturates at UINT64_MAX; *overflow says
 * whether it did.  Returns the first character that is not such a digit:
 * s itself when there are none (*value is then 0).
 */
const char *num_digits(const char *s, unsigned base, uint64_t *value,
		       bool *overflow);

enum num_status {
	NUM_OK,
	NUM_RANGE,   /* out of range: the result is the nearest limit */
	NUM_BADBASE, /* base is not 0 or NUM_BASE_MIN..NUM_BASE_MAX */
};

/*
 * C's strtoull and strtoll on 64-bit integers.  Reads white space, an
 * optional '+' or '-', then digits of base; base 0 picks 16 after "0x"
 * or "0X", 8 after a leading "0", else 10, and base 16 also skips a "0x".
 * *end gets the character after the number, or s when there is none
 * (the result is then 0, as it is for NUM_BADBASE).
 *
 * num_strtou64 negates a '-' number modulo 2^64, as strtoull does; past
 * UINT64_MAX it gives UINT64_MAX.  num_strtoi64 gives INT64_MIN or
 * INT64_MAX for a number beyond them.
 */
enum num_status num_strtou64(const char *s, const char **end, int base,
			     uint64_t *out);
enum num_status num_strtoi64(const char *s, const char **end, int base,
			     int64_t *out);

#endif /* EXO_NUMBER_H */
