/*
 * pct.h: protected control transfer (exo/kern/pct.c).
 */
#ifndef EXO_PCT_H
#define EXO_PCT_H

#include "env.h"

/* e is going away: wake whoever waits on it, end its activation. */
void pct_env_gone(struct env *e);

#endif /* EXO_PCT_H */
