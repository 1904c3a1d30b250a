/*
 * elf.h: just enough of the ELF64 format to recognise an x86-64
 * executable and find its entry point.  Portable C, no hardware: the
 * kernel uses it on initrd entries and host tests can compile it.
 */
#ifndef EXO_ELF_H
#define EXO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_IDENT_SIZE 16
#define ELF_CLASS 4 /* index of the class byte in the ident */
#define ELF_DATA 5  /* index of the byte order */
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_TYPE_EXEC 2
#define ELF_MACHINE_X86_64 62

struct elf64_ehdr {
	unsigned char ident[ELF_IDENT_SIZE];
	uint16_t type;
	uint16_t machine;
	uint32_t version;
	uint64_t entry;
	uint64_t phoff;
	uint64_t shoff;
	uint32_t flags;
	uint16_t ehsize;
	uint16_t phentsize;
	uint16_t phnum;
	uint16_t shentsize;
	uint16_t shnum;
	uint16_t shstrndx;
};

#define ELF_PT_LOAD 1
#define ELF_PF_X 0x1
#define ELF_PF_W 0x2
#define ELF_PF_R 0x4

struct elf64_phdr {
	uint32_t type;
	uint32_t flags;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

/*
 * Program header i of an image elf64_x86_64_exec accepted: true and *out
 * if the header lies inside the image and its file bytes do too.
 */
bool elf64_phdr(const void *image, size_t len, unsigned i,
		struct elf64_phdr *out);
/* How many program headers the image has. */
unsigned elf64_phnum(const void *image);

/*
 * Whether the len bytes at image start an ELF64 little-endian x86-64
 * executable; if so *entry gets its entry point.  image need not be
 * aligned.
 */
bool elf64_x86_64_exec(const void *image, size_t len, uint64_t *entry);

#endif /* EXO_ELF_H */
