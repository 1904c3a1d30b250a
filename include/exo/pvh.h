/*
 * exo/pvh.h: the PVH boot protocol, as both sides see it.
 *
 * exovmm's loader (vmm/pvh.c) builds these structures in guest memory; the
 * exokernel (exo/boot) reads them.  QEMU, Firecracker and Cloud Hypervisor
 * build the same ones, which is why one exo.elf boots under all of them.
 *
 * The image carries an ELF note of type PVH_NOTE_PHYS32_ENTRY (owner "Xen")
 * holding the 32-bit physical entry address.  The entry runs in 32-bit
 * protected mode, paging off, flat 4 GiB segments, with %ebx holding the
 * guest-physical address of struct pvh_start_info.
 */
#ifndef EXO_PVH_H
#define EXO_PVH_H

#include <stdint.h>

#define PVH_NOTE_OWNER "Xen"
#define PVH_NOTE_PHYS32_ENTRY 18u /* XEN_ELFNOTE_PHYS32_ENTRY */

#define PVH_START_MAGIC 0x336ec578u
#define PVH_START_VERSION 1u /* version 1 adds the memory map */

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* array of struct pvh_module */
	uint64_t cmdline_paddr; /* NUL-terminated; 0 if none */
	uint64_t rsdp_paddr;    /* ACPI RSDP; 0 if none */
	/* version >= 1 */
	uint64_t memmap_paddr; /* array of struct pvh_memmap_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* Memory map entry types (the E820 numbering). */
#define PVH_MEMMAP_RAM 1u
#define PVH_MEMMAP_RESERVED 2u
#define PVH_MEMMAP_ACPI 3u
#define PVH_MEMMAP_NVS 4u
#define PVH_MEMMAP_UNUSABLE 5u

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#endif /* EXO_PVH_H */
