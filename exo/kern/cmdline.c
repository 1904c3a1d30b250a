/*
 * cmdline.c: parsing the command line into struct cmdline, and the boot
 * arguments in the form the uenv carries them (struct exo_args).  A word
 * is a run of non-space characters; each must be key=value with a known
 * key and a value that key accepts, up to a lone "--": the words after it
 * are the boot envs' arguments, whatever they say.
 */
#include <string.h>

#include "cmdline.h"
#include "number.h"
#include "printf.h"
#include "sched.h"
#include "timer.h"

#define DECIMAL 10
#define US_PER_MS 1000u
#define US_PER_S 1000000u
#define ARGS_MARK "--"

struct word {
	const char *key, *value;
	int key_len, value_len;
};

struct key_parser {
	const char *key;
	bool (*parse)(const struct word *w, struct cmdline *out);
	const char *want; /* what the value may be, for messages */
};

static bool value_is(const struct word *w, const char *s)
{
	return w->value_len == (int)strlen(s) &&
	       !memcmp(w->value, s, w->value_len);
}

/*
 * A decimal number of microseconds, milliseconds or seconds, from 1us to
 * max_us; false for anything else.
 */
static bool parse_duration(const struct word *w, uint64_t max_us, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint32_t us;
	} units[] = {{"us", 1}, {"ms", US_PER_MS}, {"s", US_PER_S}};
	uint64_t n;
	bool overflow;
	/* The word ends at a space or the NUL, where the digits stop too. */
	const char *digits_end = num_digits(w->value, DECIMAL, &n, &overflow);
	int i = (int)(digits_end - w->value);

	if (i == 0 || overflow || n > max_us)
		return false;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		struct word unit = {.value = w->value + i,
				    .value_len = w->value_len - i};

		if (value_is(&unit, units[u].suffix)) {
			n *= units[u].us;
			*out = n;
			return n > 0 && n <= max_us;
		}
	}
	return false;
}

static bool parse_tick(const struct word *w, struct cmdline *out)
{
	uint64_t us;

	if (!parse_duration(w, TIMER_TICK_MAX_US, &us))
		return false;
	out->tick_us = (uint32_t)us;
	return true;
}

static bool parse_hold(const struct word *w, struct cmdline *out)
{
	return parse_duration(w, CMDLINE_HOLD_MAX_US, &out->hold_us);
}

static bool parse_spin(const struct word *w, struct cmdline *out)
{
	return parse_duration(w, CMDLINE_HOLD_MAX_US, &out->spin_us);
}

static bool parse_test(const struct word *w, struct cmdline *out)
{
	out->test_boot = value_is(w, "boot");
	return out->test_boot;
}

static bool parse_console(const struct word *w, struct cmdline *out)
{
	out->console_uart = value_is(w, "uart");
	return out->console_uart;
}

static bool parse_fault(const struct word *w, struct cmdline *out)
{
	out->fault = fault_lookup(w->value, w->value_len);
	if (!out->fault)
		out->violation = violation_lookup(w->value, w->value_len);
	return out->fault || out->violation;
}

static bool parse_slice(const struct word *w, struct cmdline *out)
{
	return parse_duration(w, CMDLINE_SLICE_MAX_US, &out->slice_us) &&
	       out->slice_us >= CMDLINE_SLICE_MIN_US;
}

static bool parse_revoke(const struct word *w, struct cmdline *out)
{
	return parse_duration(w, CMDLINE_HOLD_MAX_US, &out->revoke_us) &&
	       out->revoke_us >= CMDLINE_REVOKE_MIN_US;
}

static bool parse_memory(const struct word *w, struct cmdline *out)
{
	out->memory_ignore = value_is(w, "ignore");
	return out->memory_ignore;
}

/* Comma-separated program names, none empty. */
static bool parse_run(const struct word *w, struct cmdline *out)
{
	const char *p = w->value, *end = w->value + w->value_len;

	out->nrun = 0;
	while (p <= end) {
		const char *comma = memchr(p, ',', end - p);
		const char *stop = comma ? comma : end;

		if (stop == p || out->nrun == CMDLINE_RUN_MAX)
			return false;
		out->run[out->nrun++] = (struct cmdline_word){p, (int)(stop - p)};
		p = stop + 1;
	}
	return true;
}

static const struct key_parser parsers[] = {
    {"tick", parse_tick, "a duration from 1us to 1s, e.g. 10ms"},
    {"test", parse_test, "boot"},
    {"hold", parse_hold, "a duration from 1us to 1h, e.g. 2s"},
    {"spin", parse_spin, "a duration from 1us to 1h, e.g. 2s"},
    {"console", parse_console, "uart"},
    {"fault", parse_fault,
     "de, bp, ud, gp, pf, triple, port, mmio, hvc or withdrawn"},
    {"run", parse_run, "up to 8 program names separated by commas"},
    {"slice", parse_slice, "a duration from 100us to 1s, e.g. 10ms"},
    {"revoke", parse_revoke, "a duration from 1ms to 1h, e.g. 50ms"},
    {"memory", parse_memory, "ignore"},
};

static bool parse_word(const struct word *w, struct cmdline *out, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		if ((int)strlen(parsers[i].key) != w->key_len ||
		    memcmp(parsers[i].key, w->key, w->key_len))
			continue;
		if (parsers[i].parse(w, out))
			return true;
		fmt_snprintf(err, errlen, "bad value \"%.*s\" for %s (want %s)",
			  w->value_len, w->value, parsers[i].key,
			  parsers[i].want);
		return false;
	}
	fmt_snprintf(err, errlen, "unknown key \"%.*s\"", w->key_len, w->key);
	return false;
}

/*
 * The next word at or after *s into *w, and *s past it; false at the end
 * of the line.
 */
static bool next_word(const char **s, struct cmdline_word *w)
{
	const char *p = *s, *end;

	while (*p == ' ')
		p++;
	for (end = p; *end && *end != ' ';)
		end++;
	*s = end;
	*w = (struct cmdline_word){p, (int)(end - p)};
	return end > p;
}

/* Count and measure the words after "--" as struct exo_args holds them. */
static bool parse_args(const char *s, struct cmdline *out, char *err,
		       size_t errlen)
{
	struct cmdline_word w;

	out->args = s;
	while (next_word(&s, &w)) {
		/* Each word takes a NUL after it. */
		if (out->args_len + w.len + 1 > EXO_ARGS_MAX) {
			fmt_snprintf(
			    err, errlen,
			    "arguments after %s too long at \"%.*s\": "
			    "more than %d bytes with a NUL after each word",
			    ARGS_MARK, w.len, w.s, EXO_ARGS_MAX);
			return false;
		}
		out->args_len += w.len + 1;
		out->argc++;
	}
	return true;
}

void cmdline_args_write(const struct cmdline *cl, struct exo_args *out)
{
	const char *s = cl->args;
	struct cmdline_word w;
	char *to = out->text;

	memset(out, 0, sizeof(*out));
	out->argc = cl->argc;
	out->len = cl->args_len;
	while (s && next_word(&s, &w)) {
		memcpy(to, w.s, w.len);
		to += w.len + 1; /* past the NUL the memset left */
	}
}

/* Split the word [s, end) at its '='. */
static bool split_word(const char *s, const char *end, struct word *w)
{
	const char *eq = memchr(s, '=', end - s);

	if (!eq)
		return false;
	*w = (struct word){s, eq + 1, (int)(eq - s), (int)(end - eq - 1)};
	return true;
}

bool cmdline_parse(const char *s, struct cmdline *out, char *err, size_t errlen)
{
	*out = (struct cmdline){.tick_us = TIMER_TICK_DEFAULT_US,
				.slice_us = SLICE_DEFAULT_US,
				.revoke_us = REVOKE_GRACE_DEFAULT_US};
	for (;;) {
		struct cmdline_word cw;
		struct word w;

		if (!next_word(&s, &cw))
			return true;
		if (cw.len == (int)strlen(ARGS_MARK) &&
		    !memcmp(cw.s, ARGS_MARK, cw.len))
			return parse_args(s, out, err, errlen);
		if (!split_word(cw.s, cw.s + cw.len, &w)) {
			fmt_snprintf(err, errlen, "\"%.*s\" is not key=value",
				  cw.len, cw.s);
			return false;
		}
		if (!parse_word(&w, out, err, errlen))
			return false;
	}
}
