/* cpuid.c: exovmm's CPUID leaves (cpuid.h), built once for every backend. */
#include <string.h>

#include "exo/hvc.h"
#include "cpuid.h"

void vmm_cpuid_leaves(uint32_t tsc_khz, uint32_t lapic_khz, uint32_t cpu_traits,
		      struct vmm_cpuid_leaf out[VMM_CPUID_LEAVES])
{
	/* The base leaf carries the 12-byte signature in ebx, ecx, edx. */
	out[0] = (struct vmm_cpuid_leaf){.function = EXO_HVC_CPUID_BASE,
					 .eax = EXO_HVC_CPUID_MAX};
	memcpy(&out[0].ebx, EXO_HVC_SIGNATURE, 4);
	memcpy(&out[0].ecx, EXO_HVC_SIGNATURE + 4, 4);
	memcpy(&out[0].edx, EXO_HVC_SIGNATURE + 8, 4);
	out[1] = (struct vmm_cpuid_leaf){.function = EXO_HVC_CPUID_INFO,
					 .eax = EXO_HVC_VERSION,
					 .ebx = tsc_khz,
					 .ecx = lapic_khz,
					 .edx = EXO_HVC_F_CONSOLE | EXO_HVC_F_MAILBOX | cpu_traits};
}

bool vmm_cpuid_hypervisor_range(uint32_t function)
{
	return function >= VMM_CPUID_HYPERVISOR_FIRST && function <= VMM_CPUID_HYPERVISOR_LAST;
}
