/*
 * elf.c: recognising x86-64 ELF executables (see elf.h).
 */
#include <string.h>

#include "elf.h"

#define ELF_MAGIC "\177ELF"
#define ELF_MAGIC_LEN 4

bool elf64_x86_64_exec(const void *image, size_t len, uint64_t *entry)
{
	struct elf64_ehdr eh;

	if (len < sizeof(eh))
		return false;
	memcpy(&eh, image, sizeof(eh)); /* cpio data is only 4-byte aligned */
	if (memcmp(eh.ident, ELF_MAGIC, ELF_MAGIC_LEN) ||
	    eh.ident[ELF_CLASS] != ELF_CLASS64 ||
	    eh.ident[ELF_DATA] != ELF_DATA_LSB || eh.type != ELF_TYPE_EXEC ||
	    eh.machine != ELF_MACHINE_X86_64)
		return false;
	*entry = eh.entry;
	return true;
}
