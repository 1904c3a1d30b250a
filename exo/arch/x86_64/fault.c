/*
 * fault.c: the table of exceptions the kernel can raise on purpose
 * (raise.S holds the instructions).
 */
#include <string.h>

#include "fault.h"
#include "trap.h"

#define RAISER(n)                                                              \
	void x86_raise_##n(void);                                              \
	extern const char x86_raise_##n##_at[], x86_raise_##n##_resume[]
RAISER(de);
RAISER(bp);
RAISER(ud);
RAISER(gp);
RAISER(pf);
#undef RAISER

#define FAULT(n, vec)                                                          \
	{                                                                      \
#n, vec, x86_raise_##n, x86_raise_##n##_at,                    \
		    x86_raise_##n##_resume                                     \
	}

/*
 * #BP comes last: the self-tests raise them in this order, and some hosts
 * (kvm-pvm) cannot deliver a ring-0 int3 at all and stop the guest, so the
 * other results are out first.
 */
const struct exo_fault exo_faults[] = {
    FAULT(de, T_DE), FAULT(ud, T_UD), FAULT(gp, T_GP),
    FAULT(pf, T_PF), FAULT(bp, T_BP),
};
const size_t exo_nfaults = sizeof(exo_faults) / sizeof(exo_faults[0]);

const struct exo_fault *fault_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < exo_nfaults; i++)
		if (strlen(exo_faults[i].name) == len &&
		    !memcmp(exo_faults[i].name, name, len))
			return &exo_faults[i];
	return NULL;
}

const char *fault_reported_rip(const struct exo_fault *f)
{
	return f->vector == T_BP ? f->resume_at : f->fault_at;
}
