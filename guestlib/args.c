/*
 * args.c: the boot arguments (libos_argc, libos_argv, libos_arg_number):
 * the words after "--" on the kernel command line, read where the kernel
 * put them, in this env's uenv page (struct exo_args, exo/abi.h).
 * Nothing is copied: the kernel wrote the page before the env's first
 * instruction and it is the env's own, so a word's address stays good as
 * long as the env lives.
 */
#include "runtime.h"

static const struct exo_args *args(void)
{
	return (const struct exo_args *)&libos_uenv->args;
}

int libos_argc(void)
{
	return (int)args()->argc;
}

const char *libos_argv(int i)
{
	const struct exo_args *a = args();
	/* The env can write its uenv too: never walk past the field. */
	uint32_t len = a->len < EXO_ARGS_MAX ? a->len : EXO_ARGS_MAX;
	uint32_t at = 0;

	if (i < 0 || (uint32_t)i >= a->argc)
		return NULL;
	for (; i > 0 && at < len; i--)
		at += (uint32_t)strnlen(a->text + at, len - at) + 1;
	return at < len ? a->text + at : NULL;
}

bool libos_arg_number(int i, unsigned long max, unsigned long *out)
{
	const char *word = libos_argv(i);
	char *end;
	unsigned long v;

	if (!word)
		return false;
	v = strtoul(word, &end, 10);
	if (end == word || *end || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}
