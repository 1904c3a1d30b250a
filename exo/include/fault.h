/*
 * fault.h: exceptions the kernel raises on purpose, for `fault=` on the
 * command line and for the self-tests (exo/arch/x86_64/fault.c, raise.S).
 */
#ifndef EXO_FAULT_H
#define EXO_FAULT_H

/* Where fault=pf reads: the low half belongs to envs, and none exist. */
#define FAULT_PF_ADDR 0

#ifndef __ASSEMBLER__
#include <stddef.h>

struct exo_fault {
	const char *name; /* as written after fault= */
	unsigned vector;
	void (*raise)(void);
	const char *fault_at;  /* the faulting instruction */
	const char *resume_at; /* the instruction after it */
};

extern const struct exo_fault exo_faults[];
extern const size_t exo_nfaults;

/* The fault named by the len bytes at name, or NULL. */
const struct exo_fault *fault_lookup(const char *name, size_t len);

/* The RIP the CPU reports: traps (#BP) report the next instruction. */
const char *fault_reported_rip(const struct exo_fault *f);
#endif

#endif /* EXO_FAULT_H */
