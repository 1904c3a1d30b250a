/*
 * pmap.c: the kernel's final page tables, built once at boot in the image's
 * own .bss.  Text is mapped read-only and executable, read-only data
 * read-only, data and bss writable; everything but text is no-execute when
 * the CPU supports it.  The direct map uses 1 GiB pages where the CPU has
 * them, else 2 MiB pages: few entries to write matters at boot, because
 * some hosts' KVM emulates a non-paravirtual guest kernel instruction by
 * instruction.
 */
#include "pmap.h"
#include "boot.h"
#include "kern.h"
#include "layout.h"
#include "mmu.h"
#include "x86.h"

#define DIRECT_PDS (EXO_DIRECT_MAP_SIZE >> PT_SHIFT(3))
#define KERN_PTS (EXO_KERN_WINDOW_SIZE >> PT_SHIFT(2))
#define TABLE_FLAGS (PTE_P | PTE_W)

typedef pte_t table_t[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

static table_t pml4, direct_pdpt, direct_pd[DIRECT_PDS];
static table_t kern_pdpt, kern_pd, kern_pt[KERN_PTS];
static pte_t nx; /* PTE_NX when usable, else 0 */

_Static_assert(EXO_DIRECT_MAP_SIZE <= PT_ENTRIES * (EXO_U64(1) << PT_SHIFT(3)),
	       "the direct map must fit one PDPT");
/* entry.S builds the boot tables with these slot numbers. */
#define TOP_INDEX(va, level) (((va) >> PT_SHIFT(level)) & (PT_ENTRIES - 1))
_Static_assert(TOP_INDEX(EXO_DIRECT_MAP_BASE, 4) == EXO_DIRECT_MAP_PML4_INDEX &&
		   TOP_INDEX(EXO_KERNBASE, 4) == EXO_KERN_PML4_INDEX &&
		   TOP_INDEX(EXO_KERNBASE, 3) == EXO_KERN_PDPT_INDEX,
	       "layout.h's slot numbers disagree with its addresses");
_Static_assert(EXO_KERN_WINDOW_SIZE <= (EXO_U64(1) << PT_SHIFT(3)) &&
		   EXO_KERNBASE % (EXO_U64(1) << PT_SHIFT(3)) == 0,
	       "the kernel window must fit one PD, from its start");

static pte_t table_entry(table_t *t)
{
	return KERN_V2P(t) | TABLE_FLAGS;
}

/* Caching of the direct-map page at pa: MMIO above the RAM limit is uncached. */
static pte_t direct_cache(uint64_t pa)
{
	return pa >= EXO_MMIO_HOLE_START ? PTE_PCD | PTE_PWT : 0;
}

static void map_direct_2m(void)
{
	for (uint64_t i = 0; i < DIRECT_PDS * PT_ENTRIES; i++) {
		uint64_t pa = i << LARGE_PAGE_SHIFT;

		direct_pd[i / PT_ENTRIES][i % PT_ENTRIES] =
		    pa | PTE_P | PTE_W | PTE_PS | PTE_G | nx | direct_cache(pa);
	}
	for (unsigned i = 0; i < DIRECT_PDS; i++)
		direct_pdpt[i] = table_entry(&direct_pd[i]);
}

static void map_direct_1g(void)
{
	for (unsigned i = 0; i < DIRECT_PDS; i++) {
		uint64_t pa = (uint64_t)i << PT_SHIFT(3);

		direct_pdpt[i] =
		    pa | PTE_P | PTE_W | PTE_PS | PTE_G | nx | direct_cache(pa);
	}
}

static void map_direct(void)
{
	if (cpuid(CPUID_EXT_FEATURES).edx & CPUID_EXT_EDX_PAGE1GB)
		map_direct_1g();
	else
		map_direct_2m();
	pml4[pt_index(EXO_DIRECT_MAP_BASE, 4)] = table_entry(&direct_pdpt);
}

/* Permissions of the image page at va, by the section it lies in. */
static pte_t image_perm(uintptr_t va)
{
	if (va < (uintptr_t)_text_end)
		return 0;
	if (va < (uintptr_t)_rodata_end)
		return nx;
	return PTE_W | nx;
}

static void map_image(void)
{
	uintptr_t va;

	for (va = (uintptr_t)_kernel_start; va < (uintptr_t)_kernel_end;
	     va += PAGE_SIZE) {
		uint64_t pa = KERN_V2P(va);

		kern_pt[pa >> PT_SHIFT(2)][pt_index(va, 1)] =
		    pa | PTE_P | PTE_G | image_perm(va);
	}
	for (unsigned i = 0; i < KERN_PTS; i++)
		kern_pd[pt_index(EXO_KERNBASE, 2) + i] =
		    table_entry(&kern_pt[i]);
	kern_pdpt[pt_index(EXO_KERNBASE, 3)] = table_entry(&kern_pd);
	pml4[pt_index(EXO_KERNBASE, 4)] = table_entry(&kern_pdpt);
}

static void enable_nx(void)
{
	if (!(cpuid(CPUID_EXT_FEATURES).edx & CPUID_EXT_EDX_NX))
		return;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	nx = PTE_NX;
}

void pmap_init(void)
{
	enable_nx();
	map_direct();
	map_image();
	write_cr4(read_cr4() | CR4_PGE);
	write_cr3(pmap_kernel_root());
}

uint64_t pmap_kernel_root(void)
{
	return KERN_V2P(pml4);
}
