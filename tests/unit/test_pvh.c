/*
 * test_pvh.c: Check tests of the PVH loader (vmm/pvh.c).
 *
 * Each test builds a small ELF64 PVH image in memory (a note segment, a
 * text segment and a data segment with bss), breaks one thing in it, and
 * pins the exact message pvh_load() gives.  Guest memory is filled with a
 * poison byte first, so the tests see exactly which bytes the loader wrote.
 */
#include <check.h>
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <exo/pvh.h>

#include "check_main.h"
#include "vmm/pvh.h"

#define MIB (UINT64_C(1) << 20)
#define MEM_SIZE (8 * MIB)
#define POISON 0xaa

#define IMAGE_MAX 0x1000
#define N_PHDRS 3
#define PH_NOTE 0
#define PH_TEXT 1
#define PH_DATA 2

#define NOTE_OFF 0x100
#define NOTE_NAME_SIZE 4 /* "Xen" and its NUL */
#define TEXT_OFF 0x200
#define TEXT_SIZE 0x40
#define TEXT_PADDR 0x100000
#define DATA_OFF 0x300
#define DATA_FILESZ 0x20
#define DATA_MEMSZ 0x1000
#define DATA_PADDR 0x101000
#define IMAGE_LEN (DATA_OFF + DATA_FILESZ)
#define IMAGE_END (DATA_PADDR + DATA_MEMSZ)
#define ENTRY (TEXT_PADDR + 0x10)

#define INITRD_LEN 5000
#define INITRD_GPA (MEM_SIZE - 2 * PVH_PAGE_SIZE) /* 5000 bytes: 2 pages */
#define CMDLINE "console=ttyS0 run=/bin/hello"

struct image {
	_Alignas(8) uint8_t buf[IMAGE_MAX];
	size_t len;
};

/* The note as the image carries it: header, owner, descriptor. */
struct pvh_note {
	Elf64_Nhdr nh;
	char owner[NOTE_NAME_SIZE];
	uint32_t desc;
};

static struct image img;
static struct guest_mem mem;
static uint8_t initrd[INITRD_LEN];
static struct pvh_boot boot;
static struct vmm_error err;

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)img.buf;
}

static Elf64_Phdr *phdr(int i)
{
	return (Elf64_Phdr *)(img.buf + sizeof(Elf64_Ehdr)) + i;
}

static struct pvh_note *note(void)
{
	return (struct pvh_note *)(img.buf + NOTE_OFF);
}

static void set_phdr(int i, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	*phdr(i) = (Elf64_Phdr){
	    .p_type = type,
	    .p_offset = off,
	    .p_vaddr = paddr,
	    .p_paddr = paddr,
	    .p_filesz = filesz,
	    .p_memsz = memsz,
	    .p_align = sizeof(uint32_t),
	};
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i);
}

static void build_image(void)
{
	memset(&img, 0, sizeof(img));
	memcpy(ehdr()->e_ident, ELFMAG, SELFMAG);
	ehdr()->e_ident[EI_CLASS] = ELFCLASS64;
	ehdr()->e_ident[EI_DATA] = ELFDATA2LSB;
	ehdr()->e_ident[EI_VERSION] = EV_CURRENT;
	ehdr()->e_type = ET_EXEC;
	ehdr()->e_machine = EM_X86_64;
	ehdr()->e_version = EV_CURRENT;
	ehdr()->e_phoff = sizeof(Elf64_Ehdr);
	ehdr()->e_ehsize = sizeof(Elf64_Ehdr);
	ehdr()->e_phentsize = sizeof(Elf64_Phdr);
	ehdr()->e_phnum = N_PHDRS;
	ehdr()->e_shentsize = sizeof(Elf64_Shdr);

	*note() = (struct pvh_note){
	    .nh = {.n_namesz = NOTE_NAME_SIZE,
		   .n_descsz = sizeof(uint32_t),
		   .n_type = PVH_NOTE_PHYS32_ENTRY},
	    .owner = PVH_NOTE_OWNER,
	    .desc = ENTRY,
	};
	set_phdr(PH_NOTE, PT_NOTE, NOTE_OFF, 0, sizeof(struct pvh_note), 0);
	set_phdr(PH_TEXT, PT_LOAD, TEXT_OFF, TEXT_PADDR, TEXT_SIZE, TEXT_SIZE);
	set_phdr(PH_DATA, PT_LOAD, DATA_OFF, DATA_PADDR, DATA_FILESZ,
		 DATA_MEMSZ);
	fill_pattern(img.buf + TEXT_OFF, TEXT_SIZE, 1);
	fill_pattern(img.buf + DATA_OFF, DATA_FILESZ, 2);
	img.len = IMAGE_LEN;
}

static void poison_memory(void)
{
	memset(mem.host, POISON, mem.size);
}

static void setup(void)
{
	build_image();
	mem.size = MEM_SIZE;
	mem.host = malloc(MEM_SIZE);
	ck_assert_ptr_nonnull(mem.host);
	poison_memory();
	fill_pattern(initrd, sizeof(initrd), 3);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	free(mem.host);
}

/*
 * Load the first len bytes of the image from a heap buffer of exactly that
 * size, so that a read past its end is caught by ASan or valgrind.
 */
static int load_cut(size_t len, const void *rd, size_t rd_len,
		    const char *cmdline)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, img.buf, len);
	rc = pvh_load(&mem, copy, len, "exo.elf", rd, rd_len, "progs.cpio",
		      cmdline, &boot, &err);
	free(copy);
	return rc;
}

static int load(void)
{
	return load_cut(img.len, initrd, sizeof(initrd), CMDLINE);
}

static void expect_error(const char *msg)
{
	ck_assert_int_eq(load(), -1);
	ck_assert_str_eq(err.msg, msg);
}

static void *gpa(uint64_t addr)
{
	return mem.host + addr;
}

static int all_bytes(uint64_t addr, uint64_t len, uint8_t value)
{
	for (uint64_t i = 0; i < len; i++) {
		if (mem.host[addr + i] != value)
			return 0;
	}
	return 1;
}

START_TEST(test_load_segments)
{
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.entry, ENTRY);
	ck_assert_uint_eq(boot.start_info, PVH_BOOT_INFO_GPA);
	ck_assert_uint_eq(boot.image_end, IMAGE_END);
	ck_assert_mem_eq(gpa(TEXT_PADDR), img.buf + TEXT_OFF, TEXT_SIZE);
	ck_assert_mem_eq(gpa(DATA_PADDR), img.buf + DATA_OFF, DATA_FILESZ);
	ck_assert(
	    all_bytes(DATA_PADDR + DATA_FILESZ, DATA_MEMSZ - DATA_FILESZ, 0));
	/* Nothing written around the segments. */
	ck_assert(all_bytes(TEXT_PADDR - 1, 1, POISON));
	ck_assert(all_bytes(TEXT_PADDR + TEXT_SIZE, 1, POISON));
	ck_assert(all_bytes(IMAGE_END, INITRD_GPA - IMAGE_END, POISON));
}
END_TEST

START_TEST(test_load_start_info)
{
	struct pvh_start_info si;
	struct pvh_module module;
	struct pvh_memmap_entry ram;

	ck_assert_int_eq(load(), 0);
	memcpy(&si, gpa(PVH_BOOT_INFO_GPA), sizeof(si));
	ck_assert_uint_eq(si.magic, PVH_START_MAGIC);
	ck_assert_uint_eq(si.version, PVH_START_VERSION);
	ck_assert_uint_eq(si.flags, 0);
	ck_assert_uint_eq(si.rsdp_paddr, 0);
	ck_assert_uint_eq(si.cmdline_paddr, PVH_CMDLINE_GPA);
	ck_assert_str_eq(gpa(PVH_CMDLINE_GPA), CMDLINE);

	ck_assert_uint_eq(si.nr_modules, 1);
	ck_assert_uint_ge(si.modlist_paddr,
			  PVH_BOOT_INFO_GPA + sizeof(struct pvh_start_info));
	memcpy(&module, gpa(si.modlist_paddr), sizeof(module));
	ck_assert_uint_eq(module.paddr, INITRD_GPA);
	ck_assert_uint_eq(module.size, INITRD_LEN);
	ck_assert_uint_eq(module.cmdline_paddr, 0);

	ck_assert_uint_eq(si.memmap_entries, 1);
	memcpy(&ram, gpa(si.memmap_paddr), sizeof(ram));
	ck_assert_uint_eq(ram.addr, 0);
	ck_assert_uint_eq(ram.size, MEM_SIZE);
	ck_assert_uint_eq(ram.type, PVH_MEMMAP_RAM);
}
END_TEST

START_TEST(test_load_initrd)
{
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.initrd_gpa, INITRD_GPA);
	ck_assert_uint_eq(boot.initrd_gpa % PVH_PAGE_SIZE, 0);
	ck_assert_uint_eq(boot.initrd_size, INITRD_LEN);
	ck_assert_mem_eq(gpa(INITRD_GPA), initrd, INITRD_LEN);
}
END_TEST

/* With memory that may be taken away above initrd_top, the initrd stays below it. */
START_TEST(test_load_initrd_below_floor)
{
	mem.initrd_top = MEM_SIZE / 2;
	ck_assert_int_eq(load(), 0);
	/* As high as a page-aligned start allows, and not above the top. */
	ck_assert_uint_le(boot.initrd_gpa + INITRD_LEN, MEM_SIZE / 2);
	ck_assert_uint_gt(boot.initrd_gpa + INITRD_LEN + PVH_PAGE_SIZE,
			  MEM_SIZE / 2);
	ck_assert_uint_eq(boot.initrd_gpa % PVH_PAGE_SIZE, 0);
	ck_assert_mem_eq(gpa(boot.initrd_gpa), initrd, INITRD_LEN);
	mem.initrd_top = 0;
}
END_TEST

START_TEST(test_load_nothing_else)
{
	struct pvh_start_info si;

	ck_assert_int_eq(load_cut(img.len, NULL, 0, NULL), 0);
	ck_assert_uint_eq(boot.initrd_gpa, 0);
	ck_assert_uint_eq(boot.initrd_size, 0);
	memcpy(&si, gpa(PVH_BOOT_INFO_GPA), sizeof(si));
	ck_assert_uint_eq(si.nr_modules, 0);
	ck_assert_uint_eq(si.modlist_paddr, 0);
	ck_assert_uint_eq(si.cmdline_paddr, 0);
	ck_assert_uint_eq(si.memmap_entries, 1);
	ck_assert(all_bytes(MEM_SIZE - PVH_PAGE_SIZE, PVH_PAGE_SIZE, POISON));
}
END_TEST

START_TEST(test_load_initrd_exact_fit)
{
	size_t len = MEM_SIZE - IMAGE_END;
	uint8_t *big = calloc(1, len + 1);

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(load_cut(img.len, big, len, NULL), 0);
	ck_assert_uint_eq(boot.initrd_gpa, IMAGE_END);
	ck_assert_int_eq(load_cut(img.len, big, len + 1, NULL), -1);
	ck_assert_str_eq(err.msg,
			 "progs.cpio: 7331841 bytes do not fit in guest memory "
			 "above the image and below memory_min (needs 1 MiB more)");
	free(big);
}
END_TEST

START_TEST(test_load_initrd_empty)
{
	uint8_t none[1] = {0};

	ck_assert_int_eq(load_cut(img.len, none, 0, NULL), -1);
	ck_assert_str_eq(err.msg,
			 "progs.cpio: empty file; an initrd holds at least a cpio trailer");
}
END_TEST

START_TEST(test_load_entry_in_bss)
{
	note()->desc = DATA_PADDR + DATA_MEMSZ - 1;
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.entry, DATA_PADDR + DATA_MEMSZ - 1);
}
END_TEST

START_TEST(test_load_cmdline_max)
{
	char cmdline[PVH_CMDLINE_MAX + 2];

	memset(cmdline, 'x', sizeof(cmdline));
	cmdline[PVH_CMDLINE_MAX] = '\0';
	ck_assert_int_eq(load_cut(img.len, NULL, 0, cmdline), 0);
	ck_assert_str_eq(gpa(PVH_CMDLINE_GPA), cmdline);
	cmdline[PVH_CMDLINE_MAX] = 'x';
	cmdline[PVH_CMDLINE_MAX + 1] = '\0';
	poison_memory();
	ck_assert_int_eq(load_cut(img.len, NULL, 0, cmdline), -1);
	ck_assert_str_eq(err.msg,
			 "command line is 4096 bytes; the limit is 4095");
	/* Checked before anything was written. */
	ck_assert(all_bytes(PVH_BOOT_INFO_GPA, sizeof(struct pvh_start_info),
			    POISON));
}
END_TEST

/* A 64-bit descriptor: the note Linux and exo emit with .quad. */
static void set_wide_entry(uint64_t entry)
{
	note()->nh.n_descsz = sizeof(uint64_t);
	memcpy(img.buf + NOTE_OFF + offsetof(struct pvh_note, desc), &entry,
	       sizeof(entry));
	phdr(PH_NOTE)->p_filesz =
	    sizeof(Elf64_Nhdr) + NOTE_NAME_SIZE + sizeof(uint64_t);
}

START_TEST(test_entry_wide)
{
	set_wide_entry(ENTRY);
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.entry, ENTRY);
}
END_TEST

START_TEST(test_entry_above_4g)
{
	set_wide_entry((UINT64_C(1) << 32) + ENTRY);
	expect_error("exo.elf: PVH entry 0x100100010 lies above 4 GiB");
}
END_TEST

START_TEST(test_entry_bad_desc_size)
{
	note()->nh.n_descsz = 2;
	expect_error("exo.elf: PVH entry note has a 2-byte descriptor "
		     "(expected 4 or 8)");
}
END_TEST

START_TEST(test_not_elf)
{
	memcpy(img.buf, "hello, world", 12);
	expect_error("exo.elf: not an ELF file");
	ck_assert_int_eq(load_cut(0, NULL, 0, NULL), -1);
	ck_assert_str_eq(err.msg, "exo.elf: not an ELF file");
}
END_TEST

START_TEST(test_elf32)
{
	ehdr()->e_ident[EI_CLASS] = ELFCLASS32;
	expect_error("exo.elf: not a 64-bit ELF file");
	/* An ELF32 header is shorter than an ELF64 one: still named so. */
	ck_assert_int_eq(load_cut(sizeof(Elf32_Ehdr), NULL, 0, NULL), -1);
	ck_assert_str_eq(err.msg, "exo.elf: not a 64-bit ELF file");
}
END_TEST

START_TEST(test_big_endian)
{
	ehdr()->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_error("exo.elf: not a little-endian ELF file");
}
END_TEST

START_TEST(test_bad_version)
{
	ehdr()->e_version = 2;
	expect_error("exo.elf: unsupported ELF version 2");
}
END_TEST

START_TEST(test_wrong_machine)
{
	ehdr()->e_machine = EM_386;
	expect_error("exo.elf: not an x86-64 ELF file (machine 3)");
}
END_TEST

START_TEST(test_not_exec)
{
	ehdr()->e_type = ET_DYN;
	expect_error("exo.elf: not an executable ELF file (type 3)");
}
END_TEST

START_TEST(test_bad_phentsize)
{
	ehdr()->e_phentsize = sizeof(Elf32_Phdr);
	expect_error("exo.elf: bad program header size 32 (expected 56)");
}
END_TEST

/* Cut points in each part of the file, and what each must say. */
static const struct {
	size_t len;
	const char *msg;
} cuts[] = {
    {2, "exo.elf: not an ELF file"},
    {EI_NIDENT - 1, "exo.elf: truncated: ELF header ends at 0x40 but the "
		    "file has 0xf bytes"},
    {0x20, "exo.elf: truncated: ELF header ends at 0x40 but the file has "
	   "0x20 bytes"},
    {0x80, "exo.elf: truncated: program headers end at 0xe8 but the file "
	   "has 0x80 bytes"},
    {NOTE_OFF + 4, "exo.elf: truncated: segment 0 ends at 0x114 but the "
		   "file has 0x104 bytes"},
    {TEXT_OFF + 1, "exo.elf: truncated: segment 1 ends at 0x240 but the "
		   "file has 0x201 bytes"},
    {IMAGE_LEN - 1, "exo.elf: truncated: segment 2 ends at 0x320 but the "
		    "file has 0x31f bytes"},
};

START_TEST(test_truncated)
{
	ck_assert_int_eq(load_cut(cuts[_i].len, NULL, 0, NULL), -1);
	ck_assert_str_eq(err.msg, cuts[_i].msg);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
	for (size_t len = 0; len < img.len; len++)
		ck_assert_int_eq(load_cut(len, NULL, 0, NULL), -1);
}
END_TEST

START_TEST(test_phdrs_outside_file)
{
	ehdr()->e_phoff = 0x10000;
	expect_error("exo.elf: truncated: program headers end at 0x100a8 but "
		     "the file has 0x320 bytes");
	ehdr()->e_phoff = UINT64_MAX - 1;
	expect_error("exo.elf: truncated: program headers end at "
		     "0xffffffffffffffff but the file has 0x320 bytes");
}
END_TEST

START_TEST(test_shdrs_outside_file)
{
	ehdr()->e_shoff = DATA_OFF;
	ehdr()->e_shnum = 1;
	expect_error("exo.elf: truncated: section headers end at 0x340 but "
		     "the file has 0x320 bytes");
}
END_TEST

START_TEST(test_no_pvh_note)
{
	phdr(PH_NOTE)->p_type = PT_NULL;
	expect_error("exo.elf: no PVH entry note (Xen, type 18); is this a "
		     "PVH kernel?");
}
END_TEST

START_TEST(test_note_wrong_owner)
{
	memcpy(note()->owner, "GNU", NOTE_NAME_SIZE);
	expect_error("exo.elf: no PVH entry note (Xen, type 18); is this a "
		     "PVH kernel?");
}
END_TEST

START_TEST(test_note_wrong_type)
{
	note()->nh.n_type = PVH_NOTE_PHYS32_ENTRY - 1;
	expect_error("exo.elf: no PVH entry note (Xen, type 18); is this a "
		     "PVH kernel?");
}
END_TEST

START_TEST(test_note_malformed)
{
	note()->nh.n_namesz = UINT32_MAX;
	expect_error("exo.elf: malformed note in segment 0 at file offset "
		     "0x100");
	build_image();
	note()->nh.n_descsz = sizeof(uint64_t); /* 4 bytes past the segment */
	expect_error("exo.elf: malformed note in segment 0 at file offset "
		     "0x100");
}
END_TEST

START_TEST(test_segment_outside_memory)
{
	phdr(PH_DATA)->p_paddr = MEM_SIZE - DATA_FILESZ;
	expect_error("exo.elf: segment 2 [0x7fffe0,0x800fe0) lies outside "
		     "guest memory [0x3000,0x800000)");
	phdr(PH_DATA)->p_paddr = UINT64_MAX - DATA_FILESZ;
	expect_error(
	    "exo.elf: segment 2 [0xffffffffffffffdf,0xffffffffffffffff) "
	    "lies outside guest memory [0x3000,0x800000)");
}
END_TEST

START_TEST(test_segment_in_boot_area)
{
	phdr(PH_TEXT)->p_paddr = PVH_CMDLINE_GPA;
	expect_error("exo.elf: segment 1 [0x2000,0x2040) lies outside guest "
		     "memory [0x3000,0x800000)");
}
END_TEST

START_TEST(test_segments_overlap)
{
	phdr(PH_DATA)->p_paddr = TEXT_PADDR + TEXT_SIZE / 2;
	expect_error("exo.elf: segments 1 and 2 overlap at 0x100020");
	phdr(PH_DATA)->p_paddr = TEXT_PADDR - DATA_MEMSZ + 1;
	expect_error("exo.elf: segments 1 and 2 overlap at 0x100000");
}
END_TEST

START_TEST(test_segments_touch)
{
	phdr(PH_DATA)->p_paddr = TEXT_PADDR + TEXT_SIZE;
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.image_end, TEXT_PADDR + TEXT_SIZE + DATA_MEMSZ);
	phdr(PH_DATA)->p_paddr = TEXT_PADDR - DATA_MEMSZ;
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(boot.image_end, TEXT_PADDR + TEXT_SIZE);
}
END_TEST

START_TEST(test_filesz_above_memsz)
{
	phdr(PH_DATA)->p_memsz = DATA_FILESZ / 2;
	expect_error("exo.elf: segment 2 has p_filesz 0x20 larger than "
		     "p_memsz 0x10");
}
END_TEST

START_TEST(test_entry_outside_segments)
{
	note()->desc = IMAGE_END;
	expect_error("exo.elf: PVH entry 0x102000 is not inside any loadable "
		     "segment");
}
END_TEST

START_TEST(test_initrd_too_big)
{
	size_t len = MEM_SIZE;
	uint8_t *big = calloc(1, len);

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(load_cut(img.len, big, len, NULL), -1);
	ck_assert_str_eq(err.msg,
			 "progs.cpio: 8388608 bytes do not fit in guest memory "
			 "above the image and below memory_min (needs 2 MiB more)");
	/* Checked before anything was written. */
	ck_assert(all_bytes(TEXT_PADDR, TEXT_SIZE, POISON));
	free(big);
}
END_TEST

static Suite *pvh_suite(void)
{
	Suite *s = suite_create("pvh");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("bad");

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, test_load_segments);
	tcase_add_test(good, test_load_start_info);
	tcase_add_test(good, test_load_initrd);
	tcase_add_test(good, test_load_initrd_below_floor);
	tcase_add_test(good, test_load_nothing_else);
	tcase_add_test(good, test_load_initrd_exact_fit);
	tcase_add_test(good, test_load_initrd_empty);
	tcase_add_test(good, test_load_entry_in_bss);
	tcase_add_test(good, test_load_cmdline_max);
	tcase_add_test(good, test_entry_wide);
	tcase_add_test(good, test_segments_touch);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, test_entry_above_4g);
	tcase_add_test(bad, test_entry_bad_desc_size);
	tcase_add_test(bad, test_not_elf);
	tcase_add_test(bad, test_elf32);
	tcase_add_test(bad, test_big_endian);
	tcase_add_test(bad, test_bad_version);
	tcase_add_test(bad, test_wrong_machine);
	tcase_add_test(bad, test_not_exec);
	tcase_add_test(bad, test_bad_phentsize);
	tcase_add_loop_test(bad, test_truncated, 0,
			    sizeof(cuts) / sizeof(cuts[0]));
	tcase_add_test(bad, test_truncated_everywhere);
	tcase_add_test(bad, test_phdrs_outside_file);
	tcase_add_test(bad, test_shdrs_outside_file);
	tcase_add_test(bad, test_no_pvh_note);
	tcase_add_test(bad, test_note_wrong_owner);
	tcase_add_test(bad, test_note_wrong_type);
	tcase_add_test(bad, test_note_malformed);
	tcase_add_test(bad, test_segment_outside_memory);
	tcase_add_test(bad, test_segment_in_boot_area);
	tcase_add_test(bad, test_segments_overlap);
	tcase_add_test(bad, test_filesz_above_memsz);
	tcase_add_test(bad, test_entry_outside_segments);
	tcase_add_test(bad, test_initrd_too_big);
	suite_add_tcase(s, bad);
	return s;
}

CHECK_MAIN(pvh_suite)
