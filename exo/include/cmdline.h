/*
 * cmdline.h: the kernel command line (exo/kern/cmdline.c): `key=value`
 * words separated by spaces, then, after a lone `--`, the boot arguments.
 *
 *   tick=DURATION   timer period: a number and us, ms or s; 1us..1s
 *   test=boot       run the built-in self-tests
 *   hold=DURATION   wait that long (halted between ticks) before exiting
 *   spin=DURATION   then spin that long with interrupts off: a guest that
 *                   neither halts nor takes an interrupt (quota tests)
 *   console=uart    write to the UART even under exovmm (one VM exit a byte)
 *   fault=NAME      after the banner, raise exception NAME (de, bp, ud, gp,
 *                   pf) or commit violation NAME (triple, port, mmio, hvc)
 *   run=P[,P...]    start these initrd programs as envs (at most 8)
 *   slice=DURATION  time-slice length: 100us..1s (default 10ms)
 *   revoke=DURATION how long an env has to answer a revocation request:
 *                   1ms..1h (default 50ms)
 *   -- WORD...      the rest of the line: arguments every boot env finds
 *                   in its uenv (struct exo_args, exo/abi.h), at most
 *                   EXO_ARGS_MAX bytes with a NUL after each word
 */
#ifndef EXO_CMDLINE_H
#define EXO_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <exo/abi.h>

#include "fault.h"
#include "violate.h"

#define CMDLINE_ERR_MAX 160 /* room for a message naming the bad word */
#define CMDLINE_HOLD_MAX_US 3600000000ull /* hold=: one hour */

#define CMDLINE_RUN_MAX 8
#define CMDLINE_SLICE_MIN_US 100u
#define CMDLINE_SLICE_MAX_US 1000000u
#define CMDLINE_REVOKE_MIN_US 1000u

/* A word of the command line, not NUL-terminated. */
struct cmdline_word {
	const char *s;
	int len;
};

struct cmdline {
	uint32_t tick_us;
	bool test_boot;
	uint64_t hold_us; /* 0: exit at once */
	uint64_t spin_us; /* 0: no spin */
	bool console_uart;
	const struct exo_fault *fault; /* NULL: none */
	const struct exo_violation *violation; /* NULL: none */
	struct cmdline_word run[CMDLINE_RUN_MAX];
	unsigned nrun;
	uint64_t slice_us;
	uint64_t revoke_us;
	/* memory=ignore: never give chunks back when exovmm asks (tests) */
	bool memory_ignore;
	const char *args; /* the line after "--"; NULL: no "--" */
	unsigned argc;	  /* words in it */
	unsigned args_len; /* bytes they take in struct exo_args */
};

/*
 * Parse s into *out (defaults for what s does not set).  Returns false
 * with a message in err (naming the key or value) on the first bad word.
 */
bool cmdline_parse(const char *s, struct cmdline *out, char *err,
		   size_t errlen);

/* The boot arguments cl parsed, in struct exo_args's form, into *out. */
void cmdline_args_write(const struct cmdline *cl, struct exo_args *out);

#endif /* EXO_CMDLINE_H */
