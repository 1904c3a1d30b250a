/*
 * tap.c: Test Anything Protocol output for test programs: a plan, one
 * numbered "ok"/"not ok" line per check, diagnostics, and the exit code.
 */
#include "libos.h"

#define TAP_PLAN_NONE (-1l)

static long planned = TAP_PLAN_NONE;
static unsigned long ran;
static unsigned long failed;

void tap_plan(unsigned n)
{
	planned = n;
	libos_printf("1..%u\n", n);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	char msg[LIBOS_PRINTF_MAX];
	va_list ap;

	/* The message first, so that the whole line is one write. */
	va_start(ap, fmt);
	libos_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ran++;
	if (!cond)
		failed++;
	libos_printf("%sok %lu - %s\n", cond ? "" : "not ", ran, msg);
	return cond;
}

void tap_diag(const char *fmt, ...)
{
	char msg[LIBOS_PRINTF_MAX];
	va_list ap;

	va_start(ap, fmt);
	libos_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	libos_printf("# %s\n", msg);
}

int tap_done(void)
{
	bool ran_as_planned = planned == TAP_PLAN_NONE ||
			      (unsigned long)planned == ran;

	/* TAP allows the plan last, for programs that did not know it. */
	if (planned == TAP_PLAN_NONE)
		libos_printf("1..%lu\n", ran);
	if (!ran_as_planned)
		tap_diag("planned %ld tests but ran %lu", planned, ran);
	if (failed)
		tap_diag("failed %lu of %lu tests", failed, ran);
	return failed || !ran_as_planned ? LIBOS_EXIT_FAILURE
					 : LIBOS_EXIT_SUCCESS;
}
