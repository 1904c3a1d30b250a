/*
 * elf.c: recognising x86-64 ELF executables and reading their program
 * headers (see elf.h).
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

unsigned elf64_phnum(const void *image)
{
	struct elf64_ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	return eh.phnum;
}

bool elf64_phdr(const void *image, size_t len, unsigned i,
		struct elf64_phdr *out)
{
	struct elf64_ehdr eh;
	uint64_t at;

	memcpy(&eh, image, sizeof(eh));
	if (i >= eh.phnum || eh.phentsize != sizeof(*out) ||
	    eh.phoff > len || (len - eh.phoff) / sizeof(*out) <= i)
		return false;
	at = eh.phoff + (uint64_t)i * sizeof(*out);
	memcpy(out, (const char *)image + at, sizeof(*out));
	return out->offset <= len && out->filesz <= len - out->offset &&
	       out->filesz <= out->memsz;
}
