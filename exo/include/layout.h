/*
 * layout.h: where the exokernel lives, physically and virtually.
 *
 * The image is linked in the higher half (EXO_KERNBASE + physical) and
 * loaded at EXO_KERN_LOAD_PADDR.  All of physical memory below
 * EXO_DIRECT_MAP_SIZE is mapped at EXO_DIRECT_MAP_BASE, so the kernel
 * reaches boot structures, the initrd and MMIO without temporary mappings.
 * The low half of the address space is left to envs.
 *
 * Included by C, assembly and (through entry.S's exported symbols) the
 * linker script, so the constants are written without C suffixes there.
 */
#ifndef EXO_LAYOUT_H
#define EXO_LAYOUT_H

#ifdef __ASSEMBLER__
#define EXO_U64(x) x
#else
#define EXO_U64(x) x##UL
#endif

#define EXO_KIB EXO_U64(0x400)
#define EXO_MIB EXO_U64(0x100000)
#define EXO_GIB EXO_U64(0x40000000)

/* The kernel window: the top 2 GiB, as -mcmodel=kernel requires. */
#define EXO_KERNBASE EXO_U64(0xffffffff80000000)
/* Physical load address (p_paddr of the first segment). */
#define EXO_KERN_LOAD_PADDR EXO_U64(0x100000)
/* The kernel window maps physical [0, EXO_KERN_WINDOW_SIZE) at most. */
#define EXO_KERN_WINDOW_SIZE (4 * EXO_MIB)

/* Direct map of physical memory: guest RAM (<= 3 GiB) plus the MMIO hole. */
#define EXO_DIRECT_MAP_BASE EXO_U64(0xffff800000000000)
#define EXO_DIRECT_MAP_SIZE (4 * EXO_GIB)
/* Their top-level slots, for the statically built boot tables. */
#define EXO_KERN_PML4_INDEX 511
#define EXO_KERN_PDPT_INDEX 510
#define EXO_DIRECT_MAP_PML4_INDEX 256
/* Above this the direct map is uncached: LAPIC, IOAPIC and PCI MMIO. */
#define EXO_MMIO_HOLE_START (3 * EXO_GIB)

#define EXO_BOOT_STACK_SIZE (16 * EXO_KIB)
#define EXO_IST_STACK_SIZE (4 * EXO_KIB) /* one per IST slot (#DF) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Physical address of a kernel-image symbol. */
#define KERN_V2P(va) ((uint64_t)(uintptr_t)(va)-EXO_KERNBASE)

/* Direct-map view of a physical address (< EXO_DIRECT_MAP_SIZE). */
static inline void *exo_p2v(uint64_t pa)
{
	return (void *)(uintptr_t)(pa + EXO_DIRECT_MAP_BASE);
}

/* Whether [pa, pa + len) lies inside the direct map. */
static inline int exo_in_direct_map(uint64_t pa, uint64_t len)
{
	return pa <= EXO_DIRECT_MAP_SIZE && len <= EXO_DIRECT_MAP_SIZE - pa;
}

/* Image bounds, from exo/kernel.ld. */
extern char _kernel_start[], _text_end[], _rodata_end[], _kernel_end[];
#endif

#endif /* EXO_LAYOUT_H */
