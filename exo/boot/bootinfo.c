/*
 * bootinfo.c: reading the PVH start info.  Every address the loader gave
 * is checked against the direct map before it is followed; anything wrong
 * ends the run with EXO_EXIT_BAD_BOOT.
 */
#include <string.h>

#include <exo/hvc.h>

#include "boot.h"
#include "kern.h"
#include "layout.h"

#define KIB_SHIFT 10

struct boot_info boot_info;

static const char *const memmap_type_names[] = {
    [PVH_MEMMAP_RAM] = "ram",		[PVH_MEMMAP_RESERVED] = "reserved",
    [PVH_MEMMAP_ACPI] = "acpi",		[PVH_MEMMAP_NVS] = "nvs",
    [PVH_MEMMAP_UNUSABLE] = "unusable",
};

static _Noreturn void bad_boot(const char *fmt, ...) EXO_PRINTF(1, 2);

static _Noreturn void bad_boot(const char *fmt, ...)
{
	va_list ap;

	kprintf("exo: boot: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	exo_exit(EXO_EXIT_BAD_BOOT);
}

/* The direct-map view of what the loader placed at [pa, pa + len). */
static const void *loader_area(uint64_t pa, uint64_t len, const char *what)
{
	if (!exo_in_direct_map(pa, len))
		bad_boot("%s at 0x%lx (%lu bytes) lies outside the direct map",
			 what, pa, len);
	return exo_p2v(pa);
}

static const char *read_cmdline(uint64_t pa)
{
	const char *s;

	if (!pa)
		return "";
	s = loader_area(pa, 1, "command line");
	/* NUL-terminated inside the direct map, or it is not a string. */
	if (strnlen(s, EXO_DIRECT_MAP_SIZE - pa) == EXO_DIRECT_MAP_SIZE - pa)
		bad_boot("command line at 0x%lx is not terminated", pa);
	return s;
}

static void read_initrd(const struct pvh_start_info *si)
{
	const struct pvh_module *mod;

	if (!si->nr_modules)
		return;
	mod = loader_area(si->modlist_paddr, sizeof(*mod), "module list");
	boot_info.initrd = loader_area(mod->paddr, mod->size, "initrd");
	boot_info.initrd_size = mod->size;
}

static void read_memmap(const struct pvh_start_info *si)
{
	boot_info.memmap_entries = si->memmap_entries;
	boot_info.memmap = loader_area(si->memmap_paddr,
				       (uint64_t)si->memmap_entries *
					   sizeof(struct pvh_memmap_entry),
				       "memory map");
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		if (boot_info.memmap[i].type == PVH_MEMMAP_RAM)
			boot_info.ram_bytes += boot_info.memmap[i].size;
}

void boot_info_init(uint64_t start_pa)
{
	const struct pvh_start_info *si =
	    loader_area(start_pa, sizeof(*si), "start info");

	if (si->magic != PVH_START_MAGIC)
		bad_boot("start info magic 0x%x, expected 0x%x", si->magic,
			 PVH_START_MAGIC);
	if (si->version < PVH_START_VERSION)
		bad_boot("start info version %u has no memory map",
			 si->version);
	boot_info.start_pa = start_pa;
	boot_info.start = si;
	boot_info.cmdline = read_cmdline(si->cmdline_paddr);
	read_memmap(si);
	read_initrd(si);
}

static const char *memmap_type_name(uint32_t type, char *buf, size_t len)
{
	if (type < sizeof(memmap_type_names) / sizeof(memmap_type_names[0]) &&
	    memmap_type_names[type])
		return memmap_type_names[type];
	fmt_snprintf(buf, len, "type %u", type);
	return buf;
}

void boot_print_memmap(void)
{
	char buf[sizeof("type 4294967295")];

	kprintf("exo: memory map: %u entries\n", boot_info.memmap_entries);
	for (uint32_t i = 0; i < boot_info.memmap_entries; i++) {
		const struct pvh_memmap_entry *e = &boot_info.memmap[i];

		kprintf("exo:   [0x%016lx-0x%016lx) %s\n", e->addr,
			e->addr + e->size,
			memmap_type_name(e->type, buf, sizeof(buf)));
	}
	kprintf("exo: memory: %lu KiB RAM\n", boot_info.ram_bytes >> KIB_SHIFT);
}

bool boot_ram_contains(uint64_t pa, uint64_t len)
{
	for (uint32_t i = 0; i < boot_info.memmap_entries; i++) {
		const struct pvh_memmap_entry *e = &boot_info.memmap[i];

		if (e->type == PVH_MEMMAP_RAM && pa >= e->addr &&
		    pa - e->addr <= e->size && len <= e->size - (pa - e->addr))
			return true;
	}
	return false;
}
