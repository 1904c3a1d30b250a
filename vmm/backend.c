/* backend.c: the table of backends built into this exovmm. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

/*
 * In the order backend = auto prefers them (main.c chooses): KVM, then
 * Unicorn.  config.c knows their names without linking them.
 */
static const struct vmm_backend *const backends[] = {
	&vmm_kvm_backend,
#ifdef HAVE_UNICORN
	&vmm_unicorn_backend,
#endif
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))
#define BACKEND_NAMES_MAX 128

const struct vmm_backend *vmm_backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* The first auto tries; whether the host can run it is main.c's question. */
const struct vmm_backend *vmm_backend_default(void)
{
	return backends[0];
}

const char *vmm_backend_names(void)
{
	static char names[BACKEND_NAMES_MAX];
	size_t i, len = 0;

	for (i = 0; i < N_BACKENDS && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
					i ? ", " : "", backends[i]->name);
	return names;
}
