/*
 * upcall.h: entering envs at their upcall entry points (exo/kern/upcall.c).
 */
#ifndef EXO_UPCALL_H
#define EXO_UPCALL_H

#include "env.h"

/*
 * A ring-3 exception in curenv: push an upcall frame on its upcall stack
 * and enter its exception entry; kill it when it has no handler, faulted
 * on its upcall stack, or the stack is unusable.
 */
void upcall_exception(struct env *e, const struct trapframe *tf);

/* Deliver the most urgent pending upcall, if e can take one now. */
void upcall_deliver_pending(struct env *e);

/* Whether e's saved context runs on its upcall stack. */
bool upcall_on_stack(struct env *e);

#endif /* EXO_UPCALL_H */
