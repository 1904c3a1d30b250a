/*
 * pmap.h: the kernel's own page tables (exo/arch/x86_64/pmap.c).
 */
#ifndef EXO_PMAP_H
#define EXO_PMAP_H

#include <stdint.h>

/*
 * Replace the boot tables: the direct map (no execute; uncached over the
 * MMIO hole) and the kernel image with per-section permissions.  The low
 * half is left unmapped.
 */
void pmap_init(void);

/* Physical address of the kernel's PML4 (the value for CR3). */
uint64_t pmap_kernel_root(void);

#endif /* EXO_PMAP_H */
