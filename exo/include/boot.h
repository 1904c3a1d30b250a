/*
 * boot.h: what the kernel learned from the PVH start info, checked once at
 * boot and then read by everyone through the direct map.
 */
#ifndef EXO_BOOT_H
#define EXO_BOOT_H

/* ELF note type of the PVH entry; entry.S cannot include exo/pvh.h. */
#define BOOT_PVH_NOTE_TYPE 18

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <exo/pvh.h>

_Static_assert(BOOT_PVH_NOTE_TYPE == PVH_NOTE_PHYS32_ENTRY,
	       "entry.S's PVH note type disagrees with exo/pvh.h");

struct boot_info {
	uint64_t start_pa; /* physical address of the start info */
	const struct pvh_start_info *start;
	const char *cmdline; /* "" when the loader gave none */
	const struct pvh_memmap_entry *memmap;
	uint32_t memmap_entries;
	uint64_t ram_bytes; /* sum of the RAM entries */
	const void *initrd; /* module 0; NULL when there is none */
	uint64_t initrd_size;
};

extern struct boot_info boot_info;

/* Check and record the start info at start_pa; exits EXO_EXIT_BAD_BOOT. */
void boot_info_init(uint64_t start_pa);
void boot_print_memmap(void);
/* Whether physical [pa, pa + len) lies inside one RAM entry. */
bool boot_ram_contains(uint64_t pa, uint64_t len);

/* The C entry point, called by entry.S on the boot stack. */
_Noreturn void exo_main(uint64_t start_pa);

/* The early page tables, kept so a self-test can compare the views. */
extern uint64_t boot_pml4[];
#endif

#endif /* EXO_BOOT_H */
