/*
 * check_main.h: the main() every Check unit test in tests/unit/ ends
 * with.  A test file builds its Suite in one function and says
 * CHECK_MAIN(that_function); the runner, its report and the exit status
 * the automake test driver reads are defined here once.
 */
#ifndef TESTS_UNIT_CHECK_MAIN_H
#define TESTS_UNIT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Run every test of s (each in its own process, Check's default, so a
 * crash fails one test, not the run) and say whether all passed. */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The test program's main: run the Suite that suite_fn() builds. */
#define CHECK_MAIN(suite_fn)                                                   \
	int main(void)                                                         \
	{                                                                      \
		return check_run(suite_fn());                                  \
	}

#endif /* TESTS_UNIT_CHECK_MAIN_H */
