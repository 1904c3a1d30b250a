/*
 * runtime.h: what guestlib's own files share and programs need not see:
 * the assembly entry points (upcall.S) and the C functions they call.
 */
#ifndef LIBOS_RUNTIME_H
#define LIBOS_RUNTIME_H

#include "libos.h"

/* upcall.S: where uenv.entry[] points; the kernel jumps here. */
void libos_upcall_entry(void);
void libos_pct_entry(void);

/* upcall.c: runs the handler registered for frame->kind. */
void libos_upcall_dispatch(struct exo_upcall_frame *frame);

/* pct.c: runs the PCT server, then SYS_PCT_RETURN with its reply. */
_Noreturn void libos_pct_dispatch(uint64_t badge, uint64_t caller, uint64_t w0,
				  uint64_t w1, uint64_t w2, uint64_t w3);

#endif /* LIBOS_RUNTIME_H */
