/*
 * test_number.c: Check tests of reading numbers from text
 * (exo/lib/number.c), which the kernel's command line and guestlib's
 * strtol family share.
 *
 * Digit values and white space are checked over every byte; num_digits
 * at its saturation point; num_strtoi64 and num_strtou64 against the
 * host C library's strtoll and strtoull, in the "C" locale, over a table
 * of inputs in every kind of base: same value, same end, and NUM_RANGE
 * exactly when the library reports ERANGE.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/number.h"

#define BYTE_VALUES 256
#define DECIMAL 10
#define HEX 16

static const char *const inputs[] = {
    "",
    " ",
    "0",
    "-0",
    "+7",
    " \t\n\v\f\r-42",
    "42abc",
    "0x",
    "0x1A",
    "0X1a",
    "0xg",
    "-0x10",
    "+0x",
    "0755",
    "08",
    "0b101",
    "1010",
    "z",
    "Zz9",
    "+-1",
    "- 1",
    "1_000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "-18446744073709551615",
    "-18446744073709551616",
    "7fffffffffffffff",
    "ffffffffffffffff",
    "10000000000000000",
    "99999999999999999999999999999999",
    "-zzzzzzzzzzzzzzzzzzzz",
};
#define NINPUTS (sizeof(inputs) / sizeof(inputs[0]))

static const int bases[] = {0, 2, 8, 10, 16, 36};
#define NBASES (sizeof(bases) / sizeof(bases[0]))

START_TEST(test_digit_values)
{
	for (int c = 0; c < BYTE_VALUES; c++) {
		int d = num_digit((char)c);
		bool space = c && strchr(" \t\n\v\f\r", c);

		if (c >= '0' && c <= '9')
			ck_assert_int_eq(d, c - '0');
		else if (c >= 'a' && c <= 'z')
			ck_assert_int_eq(d, c - 'a' + DECIMAL);
		else if (c >= 'A' && c <= 'Z')
			ck_assert_int_eq(d, c - 'A' + DECIMAL);
		else
			ck_assert_int_eq(d, NUM_NOT_DIGIT);
		ck_assert_int_eq(num_is_space((char)c), space);
	}
}
END_TEST

START_TEST(test_digits)
{
	const char *s = "1234x";
	uint64_t v;
	bool over;

	ck_assert_ptr_eq(num_digits(s, DECIMAL, &v, &over), s + 4);
	ck_assert_uint_eq(v, 1234);
	ck_assert(!over);
	ck_assert_ptr_eq(num_digits(s, 3, &v, &over), s + 2); /* "12": 5 */
	ck_assert_uint_eq(v, 5);
	ck_assert_ptr_eq(num_digits(s + 4, DECIMAL, &v, &over), s + 4);
	ck_assert_uint_eq(v, 0);
	ck_assert(!over);
}
END_TEST

START_TEST(test_digits_saturate)
{
	const char *max = "18446744073709551615",
		   *past = "18446744073709551616x";
	uint64_t v;
	bool over;

	ck_assert_ptr_eq(num_digits(max, DECIMAL, &v, &over),
			 max + strlen(max));
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert(!over);
	/* Past the limit it stays there, and reads the digits to the end. */
	ck_assert_ptr_eq(num_digits(past, DECIMAL, &v, &over),
			 past + strlen(past) - 1);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert(over);
	num_digits("10000000000000000", HEX, &v, &over);
	ck_assert(over);
	num_digits("ffffffffffffffff", HEX, &v, &over);
	ck_assert(!over);
}
END_TEST

/* One input in one base, ours against the host's strtoll. */
static void check_signed(const char *s, int base)
{
	const char *ours_end;
	char *libc_end;
	int64_t ours;
	long long libc;
	enum num_status st = num_strtoi64(s, &ours_end, base, &ours);

	errno = 0;
	libc = strtoll(s, &libc_end, base);
	ck_assert_msg(ours == libc && ours_end == libc_end &&
			  (st == NUM_RANGE) == (errno == ERANGE) &&
			  st != NUM_BADBASE,
		      "strtoll(\"%s\", %d): ours %lld end +%td status %d, "
		      "libc %lld end +%td errno %d",
		      s, base, (long long)ours, ours_end - s, st, libc,
		      libc_end - s, errno);
}

/* The same with num_strtou64 and strtoull. */
static void check_unsigned(const char *s, int base)
{
	const char *ours_end;
	char *libc_end;
	uint64_t ours;
	unsigned long long libc;
	enum num_status st = num_strtou64(s, &ours_end, base, &ours);

	errno = 0;
	libc = strtoull(s, &libc_end, base);
	ck_assert_msg(ours == libc && ours_end == libc_end &&
			  (st == NUM_RANGE) == (errno == ERANGE) &&
			  st != NUM_BADBASE,
		      "strtoull(\"%s\", %d): ours %llu end +%td status %d, "
		      "libc %llu end +%td errno %d",
		      s, base, (unsigned long long)ours, ours_end - s, st, libc,
		      libc_end - s, errno);
}

START_TEST(test_strtoi64_like_libc)
{
	for (size_t i = 0; i < NINPUTS; i++)
		check_signed(inputs[i], bases[_i]);
}
END_TEST

START_TEST(test_strtou64_like_libc)
{
	for (size_t i = 0; i < NINPUTS; i++)
		check_unsigned(inputs[i], bases[_i]);
}
END_TEST

/* A few results spelt out, so that the table does not rest on libc alone. */
START_TEST(test_known_values)
{
	const char *end;
	int64_t i;
	uint64_t u;

	ck_assert_int_eq(num_strtoi64(" -0x1f!", &end, 0, &i), NUM_OK);
	ck_assert_int_eq(i, -31);
	ck_assert_str_eq(end, "!");
	ck_assert_int_eq(num_strtoi64("-9223372036854775809", &end, 10, &i),
			 NUM_RANGE);
	ck_assert_int_eq(i, INT64_MIN);
	ck_assert_int_eq(num_strtou64("-1", &end, 10, &u), NUM_OK);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(num_strtou64("0xg", &end, 16, &u), NUM_OK);
	ck_assert_uint_eq(u, 0);
	ck_assert_str_eq(end, "xg");
	ck_assert_int_eq(num_strtou64("  +", &end, 10, &u), NUM_OK);
	ck_assert_str_eq(end, "  +"); /* no number: nothing read */
}
END_TEST

START_TEST(test_bad_base)
{
	static const int bad[] = {-1, 1, NUM_BASE_MAX + 1, INT32_MAX};
	const char *s = "12", *end = NULL;
	int64_t i = 1;
	uint64_t u = 1;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_int_eq(num_strtoi64(s, &end, bad[k], &i),
				 NUM_BADBASE);
		ck_assert_ptr_eq(end, s);
		ck_assert_int_eq(i, 0);
		ck_assert_int_eq(num_strtou64(s, &end, bad[k], &u),
				 NUM_BADBASE);
		ck_assert_ptr_eq(end, s);
		ck_assert_uint_eq(u, 0);
	}
}
END_TEST

static Suite *number_suite(void)
{
	Suite *s = suite_create("number");
	TCase *digits = tcase_create("digits");
	TCase *strto = tcase_create("strto");

	tcase_add_test(digits, test_digit_values);
	tcase_add_test(digits, test_digits);
	tcase_add_test(digits, test_digits_saturate);
	suite_add_tcase(s, digits);

	/* Each loop test runs once per base: _i indexes bases[]. */
	tcase_add_loop_test(strto, test_strtoi64_like_libc, 0, NBASES);
	tcase_add_loop_test(strto, test_strtou64_like_libc, 0, NBASES);
	tcase_add_test(strto, test_known_values);
	tcase_add_test(strto, test_bad_base);
	suite_add_tcase(s, strto);
	return s;
}

CHECK_MAIN(number_suite)
