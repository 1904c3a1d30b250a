/*
 * test_cmdline.c: Check tests of the kernel command line's boot arguments
 * (exo/kern/cmdline.c): the words after a lone "--" are counted and
 * measured, never taken for keys, and written into struct exo_args
 * (exo/abi.h) exactly as the ABI defines it; text past EXO_ARGS_MAX is
 * refused with a message naming the word that passed it.  The keys
 * themselves are checked by the kernel's self-test (exo/kern/selftest.c).
 *
 * cmdline.c is the kernel's own file, compiled for the host: the few
 * kernel functions it calls are stood in for below.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "cmdline.h"

#define LONG_WORD_FILL 'w'
#define LONG_WORD_ERR "arguments after -- too long at \"www"

/* ---- Stand-ins for the kernel ----------------------------------------- */

/* No fault or violation exists here: fault= is not what is tested. */
const struct exo_fault *fault_lookup(const char *name, size_t len)
{
	(void)name;
	(void)len;
	return NULL;
}

const struct exo_violation *violation_lookup(const char *name, size_t len)
{
	(void)name;
	(void)len;
	return NULL;
}

/* ---- Helpers ---------------------------------------------------------- */

static char err[CMDLINE_ERR_MAX];

static bool parse(const char *s, struct cmdline *cl)
{
	err[0] = '\0';
	return cmdline_parse(s, cl, err, sizeof(err));
}

/*
 * Parse s, which must succeed, write its arguments, and check them
 * against the argc words of want: the exact bytes, the length, and zeros
 * after them to the end of text.  The struct is on the heap so that
 * AddressSanitizer or valgrind sees a write past its end.
 */
static void check_args(const char *s, unsigned argc, const char *const *want)
{
	struct cmdline cl;
	struct exo_args *args = malloc(sizeof(*args));
	size_t at = 0;

	ck_assert_ptr_nonnull(args);
	ck_assert_msg(parse(s, &cl), "\"%s\" refused: %s", s, err);
	memset(args, 0xff, sizeof(*args)); /* the writer must clear it all */
	cmdline_args_write(&cl, args);
	ck_assert_uint_eq(args->argc, argc);
	ck_assert_uint_eq(cl.argc, argc);
	for (unsigned i = 0; i < argc; i++) {
		size_t n = strlen(want[i]);

		ck_assert_uint_le(at + n + 1, EXO_ARGS_MAX);
		ck_assert_mem_eq(args->text + at, want[i], n);
		ck_assert_int_eq(args->text[at + n], '\0');
		at += n + 1;
	}
	ck_assert_uint_eq(args->len, at);
	ck_assert_uint_eq(cl.args_len, at);
	for (; at < EXO_ARGS_MAX; at++)
		ck_assert_int_eq(args->text[at], '\0');
	free(args);
}

/*
 * A fresh line: "--" and words taking n bytes (n >= 2) as arguments,
 * NULs included: words "x" (two bytes each), the last one "yy" (three)
 * when n is odd.
 */
static char *args_of_size(size_t n)
{
	static const char head[] = "run=init --";
	char *s = malloc(sizeof(head) + n);
	size_t at = sizeof(head) - 1;

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, at);
	for (size_t left = n; left > 0;) {
		const char *word = left == strlen(" yy") ? " yy" : " x";

		memcpy(s + at, word, strlen(word));
		at += strlen(word);
		left -= strlen(word);
	}
	s[at] = '\0';
	return s;
}

/* ---- Tests ------------------------------------------------------------ */

START_TEST(test_no_args)
{
	struct cmdline cl;

	ck_assert(parse("run=hello", &cl));
	ck_assert_ptr_null(cl.args);
	check_args("run=hello", 0, NULL);
	check_args("", 0, NULL);
	check_args("run=init --", 0, NULL);
	check_args("run=init --   ", 0, NULL);
}
END_TEST

START_TEST(test_words)
{
	static const char *const two[] = {"hello", "t_fork"};
	static const char *const odd[] = {"tick=0", "bogus", "--", "-x", "a=b"};

	check_args("run=init -- hello t_fork", 2, two);
	check_args("  run=init   --   hello    t_fork  ", 2, two);
	check_args("-- hello t_fork", 2, two);
	/* After "--" nothing is a key, not even another "--". */
	check_args("run=init -- tick=0 bogus -- -x a=b", 5, odd);
}
END_TEST

START_TEST(test_keys_before)
{
	struct cmdline cl;

	ck_assert(parse("run=init,hello slice=2ms hold=1s spin=3ms -- a", &cl));
	ck_assert_uint_eq(cl.nrun, 2);
	ck_assert_uint_eq(cl.slice_us, 2000);
	ck_assert_uint_eq(cl.hold_us, 1000000);
	ck_assert_uint_eq(cl.spin_us, 3000);
	ck_assert_uint_eq(cl.argc, 1);
	ck_assert(!parse("spin=forever", &cl));
	ck_assert_str_eq(err,
			 "bad value \"forever\" for spin (want a duration from "
			 "1us to 1h, e.g. 2s)");
	/* Words before "--" are still checked. */
	ck_assert(!parse("tick=0 -- a", &cl));
	ck_assert_str_eq(err,
			 "bad value \"0\" for tick (want a duration from 1us "
			 "to 1s, e.g. 10ms)");
	/* Only a lone "--" ends the keys. */
	ck_assert(!parse("--x a", &cl));
	ck_assert_str_eq(err, "\"--x\" is not key=value");
	ck_assert(!parse("--=1", &cl));
	ck_assert_str_eq(err, "unknown key \"--\"");
}
END_TEST

START_TEST(test_limit)
{
	char *fits = args_of_size(EXO_ARGS_MAX);
	char *over = args_of_size(EXO_ARGS_MAX + 1);
	struct cmdline cl;

	ck_assert_msg(parse(fits, &cl), "refused: %s", err);
	ck_assert_uint_eq(cl.args_len, EXO_ARGS_MAX);
	ck_assert(!parse(over, &cl));
	ck_assert_str_eq(err, "arguments after -- too long at \"yy\": more "
			      "than 1024 bytes with a NUL after each word");
	free(fits);
	free(over);
}
END_TEST

/* One word as long as the whole field: its NUL has no room. */
START_TEST(test_long_word)
{
	char *s = malloc(EXO_ARGS_MAX + sizeof("-- "));
	struct cmdline cl;

	ck_assert_ptr_nonnull(s);
	strcpy(s, "-- ");
	memset(s + strlen(s), LONG_WORD_FILL, EXO_ARGS_MAX);
	s[strlen("-- ") + EXO_ARGS_MAX] = '\0';
	ck_assert(!parse(s, &cl));
	ck_assert_msg(!strncmp(err, LONG_WORD_ERR, strlen(LONG_WORD_ERR)),
		      "message: %s", err);
	/* One byte shorter fits exactly. */
	s[strlen("-- ") + EXO_ARGS_MAX - 1] = '\0';
	ck_assert_msg(parse(s, &cl), "refused: %s", err);
	ck_assert_uint_eq(cl.argc, 1);
	ck_assert_uint_eq(cl.args_len, EXO_ARGS_MAX);
	free(s);
}
END_TEST

static Suite *cmdline_suite(void)
{
	Suite *s = suite_create("cmdline");
	TCase *args = tcase_create("args");

	tcase_add_test(args, test_no_args);
	tcase_add_test(args, test_words);
	tcase_add_test(args, test_keys_before);
	tcase_add_test(args, test_limit);
	tcase_add_test(args, test_long_word);
	suite_add_tcase(s, args);
	return s;
}

CHECK_MAIN(cmdline_suite)
