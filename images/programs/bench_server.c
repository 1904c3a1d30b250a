/*
 * bench_server.c: the callee of bench's protected-control-transfer row.
 * Started by bench as its child, it answers every call with its words
 * unchanged, grants bench a PCT capability to itself, and then only
 * yields (its parent's end ends it).
 */
#include "libos.h"

static void echo(uint64_t badge, exo_envid_t caller,
		 const uint64_t in[LIBOS_PCT_WORDS],
		 uint64_t out[LIBOS_PCT_WORDS])
{
	(void)badge;
	(void)caller;
	for (unsigned i = 0; i < LIBOS_PCT_WORDS; i++)
		out[i] = in[i];
}

/* The slot of the ENV capability bench granted us to itself, or -1. */
static long parent_cap(void)
{
	struct exo_cap_info info;

	for (long slot = 0; slot < EXO_CAP_SLOTS; slot++)
		if (sys_cap_info(slot, &info) == 0 &&
		    info.type == EXO_CAP_ENV &&
		    info.object == libos_uenv->parent)
			return slot;
	return -1;
}

int main(void)
{
	long parent = parent_cap(), pct;

	if (parent < 0 || libos_pct_serve(echo) < 0 ||
	    (pct = sys_pct_create(0)) < 0 ||
	    sys_cap_grant(pct, parent, EXO_R_CALL, EXO_SLOT_ANY) < 0) {
		libos_printf("bench_server: could not offer a PCT entry\n");
		return 1;
	}
	for (;;)
		sys_yield(libos_uenv->parent);
}
