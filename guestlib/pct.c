/*
 * pct.c: serving protected control transfers: the PCT stack, the served
 * function, and the dispatcher libos_pct_entry (upcall.S) calls.
 */
#include "runtime.h"

/* Volatile for the same ordering reason as upcall.c's handlers. */
static libos_pct_fn volatile server;
static bool pct_stack_ready;

static long pct_stack_init(void)
{
	long slot;

	if (pct_stack_ready)
		return E_OK;
	slot = libos_map_new(LIBOS_PCT_STACK_BASE, LIBOS_PCT_STACK_PAGES,
			     EXO_MAP_READ | EXO_MAP_WRITE, EXO_FRAME_VITAL);
	/* Repossessed, the next call in would fault: vital. */
	if (slot < 0)
		return slot;
	/* The kernel starts %rsp here; the stack grows down from its top. */
	libos_uenv->pct_stack =
		LIBOS_PCT_STACK_BASE + LIBOS_PCT_STACK_PAGES * EXO_PAGE_SIZE;
	pct_stack_ready = true;
	return E_OK;
}

long libos_pct_serve(libos_pct_fn fn)
{
	long err;

	if (!fn) {
		libos_uenv->entry[EXO_UPCALL_PCT] = 0;
		server = NULL;
		return E_OK;
	}
	err = pct_stack_init();
	if (err != E_OK)
		return err;
	server = fn;
	libos_uenv->entry[EXO_UPCALL_PCT] =
		(uint64_t)(uintptr_t)libos_pct_entry;
	return E_OK;
}

_Noreturn void libos_pct_dispatch(uint64_t badge, uint64_t caller, uint64_t w0,
				  uint64_t w1, uint64_t w2, uint64_t w3)
{
	const uint64_t in[LIBOS_PCT_WORDS] = {w0, w1, w2, w3};
	uint64_t out[LIBOS_PCT_WORDS] = {0};
	libos_pct_fn fn = server;

	/*
	 * A call can still arrive just after serving stopped; answer it with
	 * zeros rather than leave the caller waiting.
	 */
	if (fn)
		fn(badge, (exo_envid_t)caller, in, out);
	sys_pct_return(out);
}

void libos_pct_fork_child(void)
{
	/* The PCT stack was the parent's alone: a child maps its own. */
	server = NULL;
	pct_stack_ready = false;
}
