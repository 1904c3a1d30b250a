/*
 * mmu.h: x86-64 4-level paging: page sizes, entry bits and index helpers.
 * Shared by the early tables in entry.S and pmap.c.
 */
#ifndef EXO_MMU_H
#define EXO_MMU_H

#include "layout.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (EXO_U64(1) << PAGE_SHIFT)
#define LARGE_PAGE_SHIFT 21 /* a PD entry with PTE_PS maps 2 MiB */
#define LARGE_PAGE_SIZE (EXO_U64(1) << LARGE_PAGE_SHIFT)
#define PT_ENTRIES 512 /* entries per table at every level */
#define PT_INDEX_BITS 9

/* Shift of the virtual-address index for level 4 (PML4) .. 1 (PT). */
#define PT_SHIFT(level) (PAGE_SHIFT + PT_INDEX_BITS * ((level)-1))

#define PTE_P EXO_U64(0x001)	  /* present */
#define PTE_W EXO_U64(0x002)	  /* writable */
#define PTE_U EXO_U64(0x004)	  /* user */
#define PTE_PWT EXO_U64(0x008)	  /* write-through */
#define PTE_PCD EXO_U64(0x010)	  /* cache disable */
#define PTE_PS EXO_U64(0x080)	  /* large page (in a PD or PDPT entry) */
#define PTE_G EXO_U64(0x100)	  /* global: kept across CR3 loads */
#define PTE_NX (EXO_U64(1) << 63) /* no execute (needs EFER.NXE) */
#define PTE_ADDR_MASK EXO_U64(0x000ffffffffff000)

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef uint64_t pte_t;

static inline unsigned pt_index(uint64_t va, int level)
{
	return (va >> PT_SHIFT(level)) & (PT_ENTRIES - 1);
}
#endif

#endif /* EXO_MMU_H */
