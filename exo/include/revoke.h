/*
 * revoke.h: visible revocation and the abort protocol (exo/kern/revoke.c).
 */
#ifndef EXO_REVOKE_H
#define EXO_REVOKE_H

#include "env.h"

/* Requests made, ever (the mailbox's statistics). */
extern uint64_t revoke_requests;

/*
 * e's quota was lowered, or memory it holds is leaving the machine: if it holds more than its limits, ask for the
 * difference (and those frames) through its uenv and a revocation
 * upcall, with a deadline.
 */
void revoke_request(struct env *e);
/* e gave something back: end its request once it is within its limits. */
void revoke_progress(struct env *e);
/*
 * Past each request's deadline, take what is still owed by force: the
 * env's own frames and slots, then its children's quotas (which makes
 * them owe in turn).
 */
void revoke_enforce_deadlines(void);

#endif /* EXO_REVOKE_H */
