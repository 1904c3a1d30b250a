/* backend.c: the table of backends built into this exovmm. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

/* The first is the default. */
static const struct vmm_backend *const backends[] = {
	&vmm_kvm_backend,
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
