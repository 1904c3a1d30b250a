/*
 * cpuid.h: what exovmm tells its guest through CPUID, the same on every
 * backend: the hypervisor bit of leaf 1 and exovmm's own leaves (its
 * signature, the hypercall ABI version, the TSC and LAPIC timer rates and
 * the features of include/exo/hvc.h).
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#define VMM_CPUID_LEAF_FEATURES 1u
#define VMM_CPUID_FEATURES_ECX_HYPERVISOR (1u << 31)
#define VMM_CPUID_HYPERVISOR_FIRST 0x40000000u
#define VMM_CPUID_HYPERVISOR_LAST 0x4fffffffu
#define VMM_CPUID_LEAVES 2 /* EXO_HVC_CPUID_BASE .. EXO_HVC_CPUID_MAX */

struct vmm_cpuid_leaf {
	uint32_t function, eax, ebx, ecx, edx;
};

/*
 * exovmm's hypervisor leaves, for a guest whose clocks run at these
 * rates on a backend whose CPU has these EXO_HVC_F_* traits (beside the
 * features every backend serves).
 */
void vmm_cpuid_leaves(uint32_t tsc_khz, uint32_t lapic_khz, uint32_t cpu_traits,
		      struct vmm_cpuid_leaf out[VMM_CPUID_LEAVES]);
/* Is function one of the hypervisor leaves (exovmm's or another's)? */
bool vmm_cpuid_hypervisor_range(uint32_t function);

#endif /* VMM_CPUID_H */
