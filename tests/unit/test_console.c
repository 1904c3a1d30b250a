/*
 * test_console.c: Check tests of vmm/console.c: lines are assembled across
 * writes and prefixed on the terminal, control bytes are escaped there but
 * kept in the log, long lines are split, and a log file survives an
 * instance that never starts unless exovmm created it.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "vmm/console.h"

#define BUF 8192

static char dir[] = "/tmp/test_console.XXXXXX";
static char out_path[BUF], log_path[BUF];
static int saved_stdout;

/* Send stdout to a file for the duration of a test. */
static void setup(void)
{
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/test_console.XXXXXX")));
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(log_path, sizeof(log_path), "%s/t.log", dir);
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
}

static void teardown(void)
{
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	unlink(out_path);
	unlink(log_path);
	rmdir(dir);
}

static char *slurp(const char *path)
{
	static char text[BUF];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

static void write_str(struct console *con, const char *s)
{
	console_write(con, s, strlen(s));
}

START_TEST(test_lines_and_prefix)
{
	struct console con;
	struct vmm_error err;

	ck_assert_int_eq(console_open(&con, "t", log_path, &err), 0);
	ck_assert_int_eq(console_start(&con, &err), 0);
	write_str(&con, "hel");
	write_str(&con, "lo\r\nworld\npartial");
	console_close(&con);
	ck_assert_str_eq(slurp(out_path), "[t] hello\n[t] world\n[t] partial\n");
	ck_assert_str_eq(slurp(log_path), "hello\nworld\npartial\n");
}
END_TEST

START_TEST(test_controls_escaped_on_terminal_only)
{
	struct console con;
	struct vmm_error err;

	ck_assert_int_eq(console_open(&con, "t", log_path, &err), 0);
	ck_assert_int_eq(console_start(&con, &err), 0);
	write_str(&con, "a\x1b[2J\tb\x7f\n");
	console_close(&con);
	ck_assert_str_eq(slurp(out_path), "[t] a\\x1b[2J\tb\\x7f\n");
	ck_assert_str_eq(slurp(log_path), "a\x1b[2J\tb\x7f\n");
}
END_TEST

START_TEST(test_long_line_split)
{
	char line[CONSOLE_LINE_MAX + 1];
	char want[2 * CONSOLE_LINE_MAX];
	struct console con;
	struct vmm_error err;

	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(console_open(&con, "t", NULL, &err), 0);
	console_write(&con, line, sizeof(line));
	console_close(&con);
	snprintf(want, sizeof(want), "[t] %.*s\n[t] x\n", CONSOLE_LINE_MAX, line);
	ck_assert_str_eq(slurp(out_path), want);
}
END_TEST

START_TEST(test_log_kept_until_start)
{
	struct console con;
	struct vmm_error err;
	FILE *f = fopen(log_path, "w");

	fputs("earlier run\n", f);
	fclose(f);
	ck_assert_int_eq(console_open(&con, "t", log_path, &err), 0);
	console_discard(&con);
	ck_assert_str_eq(slurp(log_path), "earlier run\n");

	ck_assert_int_eq(console_open(&con, "t", log_path, &err), 0);
	ck_assert_int_eq(console_start(&con, &err), 0);
	write_str(&con, "new\n");
	console_close(&con);
	ck_assert_str_eq(slurp(log_path), "new\n");
}
END_TEST

START_TEST(test_created_log_removed_when_never_started)
{
	struct console con;
	struct vmm_error err;

	ck_assert_int_eq(console_open(&con, "t", log_path, &err), 0);
	console_discard(&con);
	ck_assert_int_eq(access(log_path, F_OK), -1);
}
END_TEST

START_TEST(test_log_open_error)
{
	struct console con;
	struct vmm_error err;
	char bad[BUF];

	snprintf(bad, sizeof(bad), "%s/missing/t.log", dir);
	ck_assert_int_eq(console_open(&con, "t", bad, &err), -1);
	ck_assert_str_eq(err.msg + strlen(bad),
			 ": cannot create log file: No such file or directory");
}
END_TEST

static Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("console");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lines_and_prefix);
	tcase_add_test(tc, test_controls_escaped_on_terminal_only);
	tcase_add_test(tc, test_long_line_split);
	tcase_add_test(tc, test_log_kept_until_start);
	tcase_add_test(tc, test_created_log_removed_when_never_started);
	tcase_add_test(tc, test_log_open_error);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(console_suite)
