/* backend.c: the table of backends built into this exovmm. */
#include <stddef.h>
#include <string.h>

#include "backend.h"

static const struct vmm_backend *const backends[] = {
	&vmm_kvm_backend,
};

const struct vmm_backend *vmm_backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
