/*
 * pvh.c: the PVH loader.  Owns the checks on an ELF64 exokernel image and
 * the guest-physical layout of everything the vCPU finds at its entry: the
 * loaded segments, the initrd and the boot information.
 *
 * The image is untrusted input: every offset and size read from it is
 * checked against the file or guest memory by subtraction, so no sum can
 * wrap, and headers are copied out with memcpy because the buffer need not
 * be aligned.  Everything is checked before the first byte is written.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <exo/pvh.h>

#include "pvh.h"

#define MIB (UINT64_C(1) << 20)
/* The entry runs in 32-bit mode, paging off. */
#define PVH_ENTRY_LIMIT (UINT64_C(1) << 32)
#define PVH_MAX_MODULES 1    /* the initrd */
#define PVH_MEMMAP_ENTRIES 1 /* all of RAM, for now */
#define NOTE_ALIGN_DEFAULT 4
#define NOTE_ALIGN_WIDE 8 /* notes in a segment with p_align 8 */

/* The boot area: start info, then the module list, then the memory map. */
#define PVH_MODLIST_GPA (PVH_BOOT_INFO_GPA + sizeof(struct pvh_start_info))
#define PVH_MEMMAP_GPA                                                         \
	(PVH_MODLIST_GPA + PVH_MAX_MODULES * sizeof(struct pvh_module))
#define PVH_MEMMAP_END                                                         \
	(PVH_MEMMAP_GPA + PVH_MEMMAP_ENTRIES * sizeof(struct pvh_memmap_entry))

_Static_assert(PVH_MEMMAP_END <= PVH_CMDLINE_GPA,
	       "boot structures overlap the command line");
_Static_assert(PVH_CMDLINE_GPA + PVH_CMDLINE_MAX + 1 <= PVH_BOOT_AREA_END,
	       "command line overlaps the loadable area");
_Static_assert(PVH_MODLIST_GPA % sizeof(uint64_t) == 0,
	       "module list misaligned");

/* The image being loaded, and what has been learnt about it. */
struct image {
	const uint8_t *data;
	size_t len;
	const char *name;
	Elf64_Ehdr ehdr;
	uint32_t entry;	    /* from the PVH note */
	uint64_t image_end; /* first byte above the highest segment */
};

/* Is [off, off + size) inside [0, limit)?  Without overflow. */
static bool range_inside(uint64_t off, uint64_t size, uint64_t limit)
{
	return off <= limit && size <= limit - off;
}

/* off + size, saturated, for messages about ranges that may wrap. */
static uint64_t range_end(uint64_t off, uint64_t size)
{
	return size > UINT64_MAX - off ? UINT64_MAX : off + size;
}

static uint64_t align_up(uint64_t x, uint64_t align)
{
	return range_end(x, align - 1) / align * align;
}

static int truncated(const struct image *img, const char *what, uint64_t end,
		     struct vmm_error *err)
{
	return vmm_errorf(err,
			  "%s: truncated: %s at 0x%" PRIx64
			  " but the file has 0x%zx bytes",
			  img->name, what, end, img->len);
}

/* Is [off, off + size) of the file present?  Reports what when not. */
static int check_file_range(const struct image *img, uint64_t off,
			    uint64_t size, const char *what,
			    struct vmm_error *err)
{
	if (range_inside(off, size, img->len))
		return 0;
	return truncated(img, what, range_end(off, size), err);
}

static int check_ident(const struct image *img, struct vmm_error *err)
{
	const uint8_t *ident = img->data;

	if (img->len < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return vmm_errorf(err, "%s: not an ELF file", img->name);
	/* Only the identification, so an ELF32 file reads as one. */
	if (img->len < EI_NIDENT)
		return truncated(img, "ELF header ends", sizeof(Elf64_Ehdr),
				 err);
	if (ident[EI_CLASS] != ELFCLASS64)
		return vmm_errorf(err, "%s: not a 64-bit ELF file", img->name);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return vmm_errorf(err, "%s: not a little-endian ELF file",
				  img->name);
	if (ident[EI_VERSION] != EV_CURRENT)
		return vmm_errorf(err, "%s: unsupported ELF version %u",
				  img->name, ident[EI_VERSION]);
	return 0;
}

static int check_header_size(const struct image *img, const char *what,
			     unsigned size, size_t expected,
			     struct vmm_error *err)
{
	if (size == expected)
		return 0;
	return vmm_errorf(err, "%s: bad %s size %u (expected %zu)", img->name,
			  what, size, expected);
}

/* The ELF header, and that the header tables lie inside the file. */
static int check_ehdr(struct image *img, struct vmm_error *err)
{
	const Elf64_Ehdr *eh = &img->ehdr;

	if (check_ident(img, err) < 0 ||
	    check_file_range(img, 0, sizeof(Elf64_Ehdr), "ELF header ends",
			     err) < 0)
		return -1;
	memcpy(&img->ehdr, img->data, sizeof(img->ehdr));
	if (eh->e_version != EV_CURRENT)
		return vmm_errorf(err, "%s: unsupported ELF version %u",
				  img->name, eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return vmm_errorf(err,
				  "%s: not an x86-64 ELF file (machine %u)",
				  img->name, eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return vmm_errorf(err,
				  "%s: not an executable ELF file (type %u)",
				  img->name, eh->e_type);
	if (check_header_size(img, "ELF header", eh->e_ehsize,
			      sizeof(Elf64_Ehdr), err) < 0 ||
	    check_header_size(img, "program header", eh->e_phentsize,
			      sizeof(Elf64_Phdr), err) < 0 ||
	    check_file_range(img, eh->e_phoff,
			     (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
			     "program headers end", err) < 0)
		return -1;
	/* No section is used, but a table that is there must be sound. */
	if (eh->e_shnum == 0)
		return 0;
	if (check_header_size(img, "section header", eh->e_shentsize,
			      sizeof(Elf64_Shdr), err) < 0 ||
	    check_file_range(img, eh->e_shoff,
			     (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr),
			     "section headers end", err) < 0)
		return -1;
	return 0;
}

static void read_phdr(const struct image *img, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, img->data + img->ehdr.e_phoff + i * sizeof(*ph),
	       sizeof(*ph));
}

/* A segment's bytes in the file must be there. */
static int check_segment_file(const struct image *img, unsigned i,
			      const Elf64_Phdr *ph, struct vmm_error *err)
{
	char what[sizeof("segment 4294967295 ends")]; /* any unsigned */

	snprintf(what, sizeof(what), "segment %u ends", i);
	return check_file_range(img, ph->p_offset, ph->p_filesz, what, err);
}

/* The entry address from a PVH note's descriptor (4 or 8 bytes, LE). */
static int read_pvh_entry(struct image *img, const uint8_t *desc,
			  uint32_t descsz, struct vmm_error *err)
{
	uint64_t entry = 0;

	if (descsz != sizeof(uint32_t) && descsz != sizeof(uint64_t))
		return vmm_errorf(err,
				  "%s: PVH entry note has a %" PRIu32
				  "-byte descriptor (expected 4 or 8)",
				  img->name, descsz);
	memcpy(&entry, desc, descsz); /* x86-64 is little-endian */
	if (entry >= PVH_ENTRY_LIMIT)
		return vmm_errorf(
		    err, "%s: PVH entry 0x%" PRIx64 " lies above 4 GiB",
		    img->name, entry);
	img->entry = (uint32_t)entry;
	return 0;
}

static bool is_pvh_note(const Elf64_Nhdr *nh, const uint8_t *name)
{
	return nh->n_type == PVH_NOTE_PHYS32_ENTRY &&
	       nh->n_namesz == sizeof(PVH_NOTE_OWNER) &&
	       memcmp(name, PVH_NOTE_OWNER, sizeof(PVH_NOTE_OWNER)) == 0;
}

/*
 * Walk the notes of PT_NOTE segment i.  Returns 1 and sets img->entry when
 * the PVH note is among them, 0 when it is not, -1 on a malformed note.
 */
static int scan_notes(struct image *img, unsigned i, const Elf64_Phdr *ph,
		      struct vmm_error *err)
{
	const uint8_t *notes = img->data + ph->p_offset;
	uint64_t align = ph->p_align == NOTE_ALIGN_WIDE ? NOTE_ALIGN_WIDE
							: NOTE_ALIGN_DEFAULT;
	uint64_t pos = 0, name_room, desc_off;
	Elf64_Nhdr nh;

	while (pos < ph->p_filesz) {
		if (!range_inside(pos, sizeof(nh), ph->p_filesz))
			goto malformed;
		memcpy(&nh, notes + pos, sizeof(nh));
		name_room = align_up(nh.n_namesz, align);
		desc_off = pos + sizeof(nh) + name_room;
		if (!range_inside(pos + sizeof(nh), name_room, ph->p_filesz) ||
		    !range_inside(desc_off, nh.n_descsz, ph->p_filesz))
			goto malformed;
		if (is_pvh_note(&nh, notes + pos + sizeof(nh)))
			return read_pvh_entry(img, notes + desc_off,
					      nh.n_descsz, err) < 0
				   ? -1
				   : 1;
		pos = range_end(desc_off, align_up(nh.n_descsz, align));
	}
	return 0;
malformed:
	return vmm_errorf(
	    err, "%s: malformed note in segment %u at file offset 0x%" PRIx64,
	    img->name, i, ph->p_offset + pos);
}

static int find_pvh_entry(struct image *img, struct vmm_error *err)
{
	Elf64_Phdr ph;

	for (unsigned i = 0; i < img->ehdr.e_phnum; i++) {
		int found;

		read_phdr(img, i, &ph);
		if (ph.p_type != PT_NOTE)
			continue;
		if (check_segment_file(img, i, &ph, err) < 0)
			return -1;
		found = scan_notes(img, i, &ph, err);
		if (found != 0)
			return found < 0 ? -1 : 0;
	}
	return vmm_errorf(err,
			  "%s: no PVH entry note (%s, type %u); is this a PVH "
			  "kernel?",
			  img->name, PVH_NOTE_OWNER, PVH_NOTE_PHYS32_ENTRY);
}

/* One PT_LOAD segment on its own: sizes, file range, memory range. */
static int check_load(const struct image *img, const struct guest_mem *mem,
		      unsigned i, const Elf64_Phdr *ph, struct vmm_error *err)
{
	if (ph->p_filesz > ph->p_memsz)
		return vmm_errorf(err,
				  "%s: segment %u has p_filesz 0x%" PRIx64
				  " larger than p_memsz 0x%" PRIx64,
				  img->name, i, ph->p_filesz, ph->p_memsz);
	if (check_segment_file(img, i, ph, err) < 0)
		return -1;
	if (ph->p_paddr < PVH_BOOT_AREA_END ||
	    !range_inside(ph->p_paddr, ph->p_memsz, mem->size))
		return vmm_errorf(
		    err,
		    "%s: segment %u [0x%" PRIx64 ",0x%" PRIx64
		    ") lies outside guest memory [0x%llx,0x%" PRIx64 ")",
		    img->name, i, ph->p_paddr,
		    range_end(ph->p_paddr, ph->p_memsz), PVH_BOOT_AREA_END,
		    mem->size);
	return 0;
}

/* PT_LOAD segment i against every earlier one: no byte loaded twice. */
static int check_overlap(const struct image *img, unsigned i,
			 const Elf64_Phdr *ph, struct vmm_error *err)
{
	uint64_t end = ph->p_paddr + ph->p_memsz; /* checked: no wrap */
	Elf64_Phdr other;

	for (unsigned j = 0; j < i; j++) {
		read_phdr(img, j, &other);
		if (other.p_type != PT_LOAD || other.p_paddr >= end ||
		    ph->p_paddr >= other.p_paddr + other.p_memsz)
			continue;
		return vmm_errorf(
		    err, "%s: segments %u and %u overlap at 0x%" PRIx64,
		    img->name, j, i,
		    other.p_paddr > ph->p_paddr ? other.p_paddr : ph->p_paddr);
	}
	return 0;
}

/* Every PT_LOAD segment, and that the entry lies in one of them. */
static int check_segments(struct image *img, const struct guest_mem *mem,
			  struct vmm_error *err)
{
	bool entry_loaded = false;
	Elf64_Phdr ph;

	img->image_end = PVH_BOOT_AREA_END;
	for (unsigned i = 0; i < img->ehdr.e_phnum; i++) {
		read_phdr(img, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (check_load(img, mem, i, &ph, err) < 0 ||
		    check_overlap(img, i, &ph, err) < 0)
			return -1;
		if (img->entry >= ph.p_paddr &&
		    img->entry - ph.p_paddr < ph.p_memsz)
			entry_loaded = true;
		if (ph.p_paddr + ph.p_memsz > img->image_end)
			img->image_end = ph.p_paddr + ph.p_memsz;
	}
	if (!entry_loaded)
		return vmm_errorf(err,
				  "%s: PVH entry 0x%" PRIx32
				  " is not inside any loadable segment",
				  img->name, img->entry);
	return 0;
}

/*
 * Page-aligned, at the top of the memory that is never taken away
 * (memory_min: mem->initrd_top), above the image: the exokernel keeps the
 * initrd for its whole life.  Both bounds are multiples of the page size,
 * so the initrd fits exactly when its page-rounded size fits between
 * image_end and the top.
 */
static int place_initrd(const struct image *img, const struct guest_mem *mem,
			size_t initrd_len, const char *initrd_name,
			uint64_t *gpa, struct vmm_error *err)
{
	uint64_t top = mem->initrd_top ? mem->initrd_top : mem->size;
	uint64_t room = align_up(initrd_len, PVH_PAGE_SIZE);
	uint64_t needed = range_end(img->image_end, room);

	if (needed > top)
		return vmm_errorf(err,
				  "%s: %zu bytes do not fit in guest memory "
				  "above the image and below memory_min "
				  "(needs %" PRIu64 " MiB more)",
				  initrd_name, initrd_len,
				  align_up(needed - top, MIB) / MIB);
	*gpa = (top - initrd_len) / PVH_PAGE_SIZE * PVH_PAGE_SIZE;
	return 0;
}

/*
 * Write len bytes at gpa: src_len bytes from src, then zeroes.  Goes
 * through guest_ptr(), whose refusal means memory that is not granted.
 */
static int guest_fill(const struct guest_mem *mem, uint64_t gpa,
		      const void *src, uint64_t src_len, uint64_t len,
		      struct vmm_error *err)
{
	uint8_t *dst = guest_ptr(mem, gpa, len);

	if (!dst)
		return vmm_errorf(err,
				  "guest memory [0x%" PRIx64 ",0x%" PRIx64
				  ") is not granted",
				  gpa, range_end(gpa, len));
	if (src_len)
		memcpy(dst, src, src_len);
	memset(dst + src_len, 0, len - src_len);
	return 0;
}

static int guest_write(const struct guest_mem *mem, uint64_t gpa,
		       const void *src, uint64_t len, struct vmm_error *err)
{
	return guest_fill(mem, gpa, src, len, len, err);
}

static int load_segments(const struct image *img, const struct guest_mem *mem,
			 struct vmm_error *err)
{
	Elf64_Phdr ph;

	for (unsigned i = 0; i < img->ehdr.e_phnum; i++) {
		read_phdr(img, i, &ph);
		if (ph.p_type == PT_LOAD &&
		    guest_fill(mem, ph.p_paddr, img->data + ph.p_offset,
			       ph.p_filesz, ph.p_memsz, err) < 0)
			return -1;
	}
	return 0;
}

/* Start info, module list, memory map and command line. */
static int write_boot_info(const struct guest_mem *mem,
			   const struct pvh_boot *boot, const char *cmdline,
			   size_t cmdline_len, struct vmm_error *err)
{
	struct pvh_start_info si = {
	    .magic = PVH_START_MAGIC,
	    .version = PVH_START_VERSION,
	    .memmap_paddr = PVH_MEMMAP_GPA,
	    .memmap_entries = PVH_MEMMAP_ENTRIES,
	};
	struct pvh_module module = {
	    .paddr = boot->initrd_gpa,
	    .size = boot->initrd_size,
	};
	struct pvh_memmap_entry ram = {
	    .addr = 0,
	    .size = mem->size,
	    .type = PVH_MEMMAP_RAM,
	};

	if (boot->initrd_gpa) {
		si.nr_modules = PVH_MAX_MODULES;
		si.modlist_paddr = PVH_MODLIST_GPA;
	}
	if (cmdline)
		si.cmdline_paddr = PVH_CMDLINE_GPA;
	/* Clear the whole area so reserved fields and gaps read as zero. */
	if (guest_fill(mem, PVH_BOOT_INFO_GPA, NULL, 0,
		       PVH_BOOT_AREA_END - PVH_BOOT_INFO_GPA, err) < 0 ||
	    guest_write(mem, PVH_BOOT_INFO_GPA, &si, sizeof(si), err) < 0 ||
	    guest_write(mem, PVH_MEMMAP_GPA, &ram, sizeof(ram), err) < 0)
		return -1;
	if (si.nr_modules &&
	    guest_write(mem, PVH_MODLIST_GPA, &module, sizeof(module), err) < 0)
		return -1;
	if (cmdline && guest_write(mem, PVH_CMDLINE_GPA, cmdline,
				   cmdline_len + 1, err) < 0)
		return -1;
	return 0;
}

/* Everything pvh_load() checks, with what it learns in *img and *b. */
static int check_boot(struct image *img, const struct guest_mem *mem,
		      const void *initrd, size_t initrd_len,
		      const char *initrd_name, size_t cmdline_len,
		      struct pvh_boot *b, struct vmm_error *err)
{
	if (check_ehdr(img, err) < 0 || find_pvh_entry(img, err) < 0 ||
	    check_segments(img, mem, err) < 0)
		return -1;
	if (initrd && initrd_len == 0)
		return vmm_errorf(err, "%s: empty file; an initrd holds at least a cpio trailer",
				  initrd_name);
	if (initrd && place_initrd(img, mem, initrd_len, initrd_name,
				   &b->initrd_gpa, err) < 0)
		return -1;
	if (cmdline_len > PVH_CMDLINE_MAX)
		return vmm_errorf(
		    err, "command line is %zu bytes; the limit is %llu",
		    cmdline_len, PVH_CMDLINE_MAX);
	b->start_info = PVH_BOOT_INFO_GPA;
	b->entry = img->entry;
	b->image_end = img->image_end;
	b->initrd_size = initrd ? initrd_len : 0;
	return 0;
}

int pvh_check(const struct guest_mem *mem, const void *image, size_t image_len,
	      const char *image_name, const void *initrd, size_t initrd_len,
	      const char *initrd_name, const char *cmdline,
	      struct vmm_error *err)
{
	struct image img = {
	    .data = image, .len = image_len, .name = image_name};
	struct pvh_boot b;

	return check_boot(&img, mem, initrd, initrd_len, initrd_name,
			  cmdline ? strlen(cmdline) : 0, &b, err);
}

int pvh_load(struct guest_mem *mem, const void *image, size_t image_len,
	     const char *image_name, const void *initrd, size_t initrd_len,
	     const char *initrd_name, const char *cmdline,
	     struct pvh_boot *boot, struct vmm_error *err)
{
	struct image img = {
	    .data = image, .len = image_len, .name = image_name};
	struct pvh_boot b = {0};
	size_t cmdline_len = cmdline ? strlen(cmdline) : 0;

	if (check_boot(&img, mem, initrd, initrd_len, initrd_name, cmdline_len,
		       &b, err) < 0)
		return -1;
	if (load_segments(&img, mem, err) < 0 ||
	    (initrd &&
	     guest_write(mem, b.initrd_gpa, initrd, initrd_len, err) < 0) ||
	    write_boot_info(mem, &b, cmdline, cmdline_len, err) < 0)
		return -1;
	*boot = b;
	return 0;
}
