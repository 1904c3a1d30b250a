/*
 * initrd.c: listing the programs in the initrd and finding one by name
 * (the kernel starts the programs the command line names; envs load the
 * others themselves through their initrd capability).
 */
#include <string.h>

#include "initrd.h"
#include "boot.h"
#include "cpio.h"
#include "elf.h"
#include "printf.h"

int initrd_scan(const void *archive, size_t len, size_t *entries,
		size_t *offset)
{
	struct cpio_entry e;
	int st;

	*entries = 0;
	*offset = 0;
	for (;;) {
		size_t at = *offset;

		st = cpio_next(archive, len, offset, &e);
		if (st != CPIO_OK) {
			*offset = at;
			return st;
		}
		++*entries;
	}
}

static void print_entry(const struct cpio_entry *e)
{
	uint64_t entry;

	kprintf("exo: initrd:   %s %zu bytes", e->name, e->size);
	if (elf64_x86_64_exec(e->data, e->size, &entry))
		kprintf(" ELF64 x86-64 entry 0x%lx", entry);
	kprintf("\n");
}

bool initrd_list(void)
{
	size_t n, offset = 0, bad_at;
	struct cpio_entry e;
	int st;

	if (!boot_info.initrd) {
		kprintf("exo: initrd: none\n");
		return true;
	}
	st = initrd_scan(boot_info.initrd, boot_info.initrd_size, &n, &bad_at);
	kprintf("exo: initrd: %zu entries, %lu bytes\n", n,
		boot_info.initrd_size);
	while (cpio_next(boot_info.initrd, boot_info.initrd_size, &offset,
			 &e) == CPIO_OK)
		print_entry(&e);
	if (st == CPIO_END)
		return true;
	kprintf("exo: initrd: bad archive at byte %zu: %s\n", bad_at,
		cpio_strerror(st));
	return false;
}

bool initrd_find(const char *name, size_t len, struct cpio_entry *out)
{
	size_t offset = 0;

	if (!boot_info.initrd)
		return false;
	while (cpio_next(boot_info.initrd, boot_info.initrd_size, &offset,
			 out) == CPIO_OK)
		if (out->name_len == len && !memcmp(out->name, name, len))
			return true;
	return false;
}
