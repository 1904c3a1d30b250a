/*
 * violate.h: things no guest may do to its monitor, done on purpose for
 * `fault=triple|port|mmio|hvc` (exo/kern/violate.c), so the tests can check
 * that exovmm stops the offending instance alone and the others run on.
 */
#ifndef EXO_VIOLATE_H
#define EXO_VIOLATE_H

#include <stddef.h>

struct exo_violation {
	const char *name; /* as written after fault= */
	void (*commit)(void); /* returns only if the monitor let it pass */
};

/* The violation named by the len bytes at name, or NULL. */
const struct exo_violation *violation_lookup(const char *name, size_t len);

#endif /* EXO_VIOLATE_H */
