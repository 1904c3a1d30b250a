/*
 * test_x86_mmu.c: Check tests of the guest's 4-level page walk
 * (vmm/x86_mmu.c) against the architecture: SDM vol. 3, 4.5 (the walk,
 * 4 KiB, 2 MiB and 1 GiB pages), 4.6 (access rights: CR0.WP, U/S, SMEP,
 * SMAP and RFLAGS.AC, NX under EFER.NXE), 4.7 (the #PF error code) and
 * 4.8 (accessed and dirty flags).
 *
 * The guest's physical memory is a byte array; x86_phys.at gives NULL
 * outside it.  Each test builds its own page tables in it.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "vmm/x86_mmu.h"

#define MEM_SIZE (1u << 20) /* 1 MiB of guest-physical memory */

/* The tables of the walk the tests build, one page each. */
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull
/* Data pages. */
#define DATA0 0x10000ull
#define DATA1 0x11000ull
#define DATA2 0x13000ull /* not next to DATA1: a copy must not assume it */

/* A linear address with a different index at every level, so that a
 * wrong shift or mask picks the wrong entry: PML4 1, PDPT 2, PD 3, PT 4. */
#define IDX_PML4 1u
#define IDX_PDPT 2u
#define IDX_PD 3u
#define IDX_PT 4u
#define VA_BASE                                                                \
	(((uint64_t)IDX_PML4 << 39) | ((uint64_t)IDX_PDPT << 30) |             \
	 ((uint64_t)IDX_PD << 21) | ((uint64_t)IDX_PT << 12))
#define VA (VA_BASE + 0x567)

#define TABLE_FLAGS (X86_PTE_P | X86_PTE_W | X86_PTE_U)

static _Alignas(4096) uint8_t mem[MEM_SIZE];

static void *mem_at(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return mem + gpa;
}

static const struct x86_phys phys = {.at = mem_at, .ctx = NULL};

static uint64_t *entry(uint64_t table, unsigned index)
{
	return (uint64_t *)(mem + table + index * sizeof(uint64_t));
}

/* The paging state: long mode with NXE, WP set, no SMEP/SMAP. */
static struct x86_paging paging(void)
{
	return (struct x86_paging){.cr0 = 0x80050033ull, /* PG WP NE ET MP PE */
				   .cr3 = PML4,
				   .cr4 = 0x20, /* PAE */
				   .efer = 0xd00 | X86_EFER_NXE,
				   .rflags = 0x2};
}

/* Map VA_BASE (and the next page) through PML4..PT to DATA0 (DATA1),
 * the table entries with TABLE_FLAGS and the leaves with leaf_flags. */
static void map_4k(uint64_t leaf_flags)
{
	memset(mem, 0, sizeof(mem));
	*entry(PML4, IDX_PML4) = PDPT | TABLE_FLAGS;
	*entry(PDPT, IDX_PDPT) = PD | TABLE_FLAGS;
	*entry(PD, IDX_PD) = PT | TABLE_FLAGS;
	*entry(PT, IDX_PT) = DATA0 | leaf_flags;
	*entry(PT, IDX_PT + 1) = DATA1 | leaf_flags;
}

/* The entries of the walk of VA, from the PML4's down to the PT's. */
static uint64_t *walk_entry(int level)
{
	switch (level) {
	case 3:
		return entry(PML4, IDX_PML4);
	case 2:
		return entry(PDPT, IDX_PDPT);
	case 1:
		return entry(PD, IDX_PD);
	default:
		return entry(PT, IDX_PT);
	}
}

/* Translate that must fault: its error code; the gpa must stay as it was. */
static uint32_t fault(const struct x86_paging *pg, uint64_t va, unsigned access)
{
	uint64_t gpa = 0x5a5a;
	uint32_t err = 0xdeadbeef;

	ck_assert_msg(!x86_translate(&phys, pg, va, access, &gpa, &err),
		      "access %#x to %#llx translated to %#llx", access,
		      (unsigned long long)va, (unsigned long long)gpa);
	return err;
}

/* Translate that must succeed: the gpa. */
static uint64_t ok(const struct x86_paging *pg, uint64_t va, unsigned access)
{
	uint64_t gpa = 0;
	uint32_t err = 0;

	ck_assert_msg(x86_translate(&phys, pg, va, access, &gpa, &err),
		      "access %#x to %#llx faulted, error %#x", access,
		      (unsigned long long)va, err);
	return gpa;
}

/* --- Translation ----------------------------------------------------- */

START_TEST(test_4k_page)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA_BASE + 0x1fff, X86_READ), DATA1 + 0xfff);
	ck_assert_uint_eq(ok(&pg, VA_BASE, X86_WRITE | X86_USER), DATA0);
	/* The next PD index is not mapped. */
	ck_assert_uint_eq(fault(&pg, VA_BASE + (1ull << 21), X86_READ), 0);
	/* CR3's low bits (PCD, PWT) are not part of the table's address. */
	pg.cr3 = PML4 | 0x18;
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
}
END_TEST

/* The top half of the address space: PML4 511, PDPT 510 (the kernel's
 * -2 GiB), with the PTE's ignored and protection-key bits set. */
START_TEST(test_4k_page_high_half)
{
	struct x86_paging pg = paging();
	const uint64_t va = 0xffffffff80000000ull + 0x5000 + 0x10;

	memset(mem, 0, sizeof(mem));
	*entry(PML4, 511) = PDPT | TABLE_FLAGS;
	*entry(PDPT, 510) = PD | TABLE_FLAGS;
	*entry(PD, 0) = PT | TABLE_FLAGS;
	*entry(PT, 5) = DATA2 | X86_PTE_P | (0x7ull << 9) | (0xfull << 59);
	ck_assert_uint_eq(ok(&pg, va, X86_READ), DATA2 + 0x10);
}
END_TEST

START_TEST(test_2m_page)
{
	struct x86_paging pg = paging();
	const uint64_t frame = 5ull << 21;

	memset(mem, 0, sizeof(mem));
	*entry(PML4, IDX_PML4) = PDPT | TABLE_FLAGS;
	*entry(PDPT, IDX_PDPT) = PD | TABLE_FLAGS;
	/* Bit 12 of a 2 MiB leaf is PAT, not an address bit. */
	*entry(PD, IDX_PD) = frame | (1ull << 12) | X86_PTE_PS | TABLE_FLAGS;
	ck_assert_uint_eq(ok(&pg, VA_BASE - (IDX_PT << 12) + 0x12345, X86_READ),
			  frame + 0x12345);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ),
			  frame + (IDX_PT << 12) + 0x567);
	ck_assert_uint_eq(
	    ok(&pg, VA_BASE - (IDX_PT << 12) + 0x1fffff, X86_READ),
	    frame + 0x1fffff);
}
END_TEST

START_TEST(test_1g_page)
{
	struct x86_paging pg = paging();
	const uint64_t frame = 3ull << 30;
	const uint64_t va =
	    ((uint64_t)IDX_PML4 << 39) | ((uint64_t)IDX_PDPT << 30) | 0x1234567;

	memset(mem, 0, sizeof(mem));
	*entry(PML4, IDX_PML4) = PDPT | TABLE_FLAGS;
	*entry(PDPT, IDX_PDPT) =
	    frame | (1ull << 12) | X86_PTE_PS | TABLE_FLAGS;
	ck_assert_uint_eq(ok(&pg, va, X86_READ), frame + 0x1234567);
	ck_assert_uint_eq(ok(&pg, va | 0x3fffffff, X86_READ),
			  frame + 0x3fffffff);
}
END_TEST

/* --- Not present ----------------------------------------------------- */

/* _i: the level whose entry is not present, 3 (PML4) .. 0 (PT). */
START_TEST(test_not_present_each_level)
{
	struct x86_paging pg = paging();
	int level = 3 - _i;

	map_4k(TABLE_FLAGS);
	*walk_entry(level) &= ~X86_PTE_P;
	/* Error codes without P: only W, U and I say what the access was. */
	ck_assert_uint_eq(fault(&pg, VA, X86_READ), 0);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE), X86_PF_W);
	ck_assert_uint_eq(fault(&pg, VA, X86_READ | X86_USER), X86_PF_U);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_USER),
			  X86_PF_W | X86_PF_U);
	ck_assert_uint_eq(fault(&pg, VA, X86_FETCH | X86_USER),
			  X86_PF_I | X86_PF_U);
}
END_TEST

/* A not-present entry's other bits are ignored, so no RSVD either. */
START_TEST(test_not_present_ignores_other_bits)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS);
	*walk_entry(1) = 0xfffffffffffffffeull;
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE), X86_PF_W);
}
END_TEST

/* --- User / supervisor, write protection ----------------------------- */

START_TEST(test_user_access_to_supervisor_page)
{
	struct x86_paging pg = paging();

	map_4k(X86_PTE_P | X86_PTE_W); /* leaf supervisor */
	ck_assert_uint_eq(fault(&pg, VA, X86_READ | X86_USER),
			  X86_PF_P | X86_PF_U);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_USER),
			  X86_PF_P | X86_PF_W | X86_PF_U);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE), DATA0 + 0x567);
}
END_TEST

/* U/S must be 1 at every level for a user-mode address (SDM 4.6). */
START_TEST(test_supervisor_at_upper_level)
{
	struct x86_paging pg = paging();
	int level = 3 - _i;

	map_4k(TABLE_FLAGS);
	*walk_entry(level) &= ~X86_PTE_U;
	ck_assert_uint_eq(fault(&pg, VA, X86_READ | X86_USER),
			  X86_PF_P | X86_PF_U);
	/* ...and a supervisor access to it is not SMAP's business. */
	pg.cr4 |= X86_CR4_SMAP | X86_CR4_SMEP;
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_FETCH), DATA0 + 0x567);
}
END_TEST

START_TEST(test_user_write_read_only)
{
	struct x86_paging pg = paging();

	map_4k(X86_PTE_P | X86_PTE_U);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_USER),
			  X86_PF_P | X86_PF_W | X86_PF_U);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ | X86_USER), DATA0 + 0x567);
	/* CR0.WP does not concern user-mode accesses. */
	pg.cr0 &= ~X86_CR0_WP;
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_USER),
			  X86_PF_P | X86_PF_W | X86_PF_U);
}
END_TEST

/* R/W must be 1 at every level for a writable address. */
START_TEST(test_read_only_upper_level)
{
	struct x86_paging pg = paging();
	int level = 3 - _i;

	map_4k(TABLE_FLAGS);
	*walk_entry(level) &= ~X86_PTE_W;
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_USER),
			  X86_PF_P | X86_PF_W | X86_PF_U);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE), X86_PF_P | X86_PF_W);
}
END_TEST

START_TEST(test_cr0_wp)
{
	struct x86_paging pg = paging();

	/* A supervisor and a user read-only page. */
	map_4k(X86_PTE_P);
	*entry(PT, IDX_PT + 1) = DATA1 | X86_PTE_P | X86_PTE_U;
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE), X86_PF_P | X86_PF_W);
	ck_assert_uint_eq(fault(&pg, VA + 0x1000, X86_WRITE),
			  X86_PF_P | X86_PF_W);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_IMPLICIT),
			  X86_PF_P | X86_PF_W);
	pg.cr0 &= ~X86_CR0_WP;
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA + 0x1000, X86_WRITE), DATA1 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE | X86_IMPLICIT), DATA0 + 0x567);
}
END_TEST

/* --- SMEP, SMAP, NX -------------------------------------------------- */

START_TEST(test_smep)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS); /* a user page */
	pg.efer &= ~X86_EFER_NXE;
	ck_assert_uint_eq(ok(&pg, VA, X86_FETCH), DATA0 + 0x567);
	pg.cr4 |= X86_CR4_SMEP;
	/* I is set with SMEP even when NXE is clear (SDM 4.7). */
	ck_assert_uint_eq(fault(&pg, VA, X86_FETCH), X86_PF_P | X86_PF_I);
	pg.efer |= X86_EFER_NXE;
	ck_assert_uint_eq(fault(&pg, VA, X86_FETCH), X86_PF_P | X86_PF_I);
	/* User fetches, and supervisor reads, are not SMEP's business. */
	ck_assert_uint_eq(ok(&pg, VA, X86_FETCH | X86_USER), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	/* A supervisor page stays executable for the supervisor. */
	*entry(PT, IDX_PT) &= ~X86_PTE_U;
	ck_assert_uint_eq(ok(&pg, VA, X86_FETCH), DATA0 + 0x567);
}
END_TEST

START_TEST(test_smap)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS); /* a user page */
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_READ | X86_IMPLICIT), DATA0 + 0x567);
	pg.cr4 |= X86_CR4_SMAP;
	/* AC clear: no supervisor data access to a user page. */
	ck_assert_uint_eq(fault(&pg, VA, X86_READ), X86_PF_P);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE), X86_PF_P | X86_PF_W);
	/* AC set allows explicit accesses... */
	pg.rflags |= X86_RFLAGS_AC;
	ck_assert_uint_eq(ok(&pg, VA, X86_READ), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE), DATA0 + 0x567);
	/* ...but never implicit ones. */
	ck_assert_uint_eq(fault(&pg, VA, X86_READ | X86_IMPLICIT), X86_PF_P);
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE | X86_IMPLICIT),
			  X86_PF_P | X86_PF_W);
	/* User-mode accesses are not SMAP's business, AC or not. */
	pg.rflags &= ~X86_RFLAGS_AC;
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE | X86_USER), DATA0 + 0x567);
	/* Nor are supervisor pages. */
	*entry(PT, IDX_PT) &= ~X86_PTE_U;
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE | X86_IMPLICIT), DATA0 + 0x567);
}
END_TEST

START_TEST(test_nx)
{
	struct x86_paging pg = paging();
	int level = 3 - _i; /* where the NX bit is */

	map_4k(TABLE_FLAGS);
	*walk_entry(level) |= X86_PTE_NX;
	ck_assert_uint_eq(fault(&pg, VA, X86_FETCH), X86_PF_P | X86_PF_I);
	ck_assert_uint_eq(fault(&pg, VA, X86_FETCH | X86_USER),
			  X86_PF_P | X86_PF_U | X86_PF_I);
	/* Data accesses do not care. */
	ck_assert_uint_eq(ok(&pg, VA, X86_READ | X86_USER), DATA0 + 0x567);
	ck_assert_uint_eq(ok(&pg, VA, X86_WRITE), DATA0 + 0x567);
	/* The next page, its leaf without NX, under the same tables. */
	if (level > 0)
		ck_assert_uint_eq(fault(&pg, VA + 0x1000, X86_FETCH),
				  X86_PF_P | X86_PF_I);
	else
		ck_assert_uint_eq(ok(&pg, VA + 0x1000, X86_FETCH),
				  DATA1 + 0x567);
}
END_TEST

/* With EFER.NXE clear, bit 63 of a present entry is reserved (SDM 4.5). */
START_TEST(test_nx_reserved_without_nxe)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS);
	pg.efer &= ~X86_EFER_NXE;
	*entry(PT, IDX_PT + 1) |= X86_PTE_NX;
	ck_assert_uint_eq(ok(&pg, VA, X86_FETCH), DATA0 + 0x567);
	ck_assert_uint_eq(fault(&pg, VA + 0x1000, X86_READ),
			  X86_PF_P | X86_PF_RSVD);
	/* No I without NXE or SMEP, W and U as the access was. */
	ck_assert_uint_eq(fault(&pg, VA + 0x1000, X86_FETCH),
			  X86_PF_P | X86_PF_RSVD);
	ck_assert_uint_eq(fault(&pg, VA + 0x1000, X86_WRITE | X86_USER),
			  X86_PF_P | X86_PF_W | X86_PF_U | X86_PF_RSVD);
}
END_TEST

/* The header: a table outside guest memory is a reserved-bit fault. */
START_TEST(test_table_outside_memory)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS);
	*entry(PD, IDX_PD) = (2ull << 30) | TABLE_FLAGS;
	ck_assert_uint_eq(fault(&pg, VA, X86_WRITE),
			  X86_PF_P | X86_PF_W | X86_PF_RSVD);
}
END_TEST

/* --- Accessed and dirty ---------------------------------------------- */

START_TEST(test_accessed_dirty_4k)
{
	struct x86_paging pg = paging();

	map_4k(TABLE_FLAGS);
	ok(&pg, VA, X86_READ);
	for (int l = 3; l >= 0; l--)
		ck_assert_msg((*walk_entry(l) & (X86_PTE_A | X86_PTE_D)) ==
				  X86_PTE_A,
			      "level %d after a read: %#llx", l,
			      (unsigned long long)*walk_entry(l));
	/* Only the entries of this walk. */
	ck_assert_uint_eq(*entry(PT, IDX_PT + 1), DATA1 | TABLE_FLAGS);

	ok(&pg, VA + 0x1000, X86_WRITE);
	ck_assert_uint_eq(*entry(PT, IDX_PT + 1),
			  DATA1 | TABLE_FLAGS | X86_PTE_A | X86_PTE_D);
	/* D only on the leaf; the upper levels keep D clear. */
	for (int l = 3; l >= 1; l--)
		ck_assert_uint_eq(*walk_entry(l) & X86_PTE_D, 0);
	ck_assert_uint_eq(*entry(PT, IDX_PT) & X86_PTE_D, 0);
	ck_assert_uint_eq(*entry(PML4, IDX_PML4),
			  PDPT | TABLE_FLAGS | X86_PTE_A);
	ck_assert_uint_eq(*entry(PDPT, IDX_PDPT), PD | TABLE_FLAGS | X86_PTE_A);
	ck_assert_uint_eq(*entry(PD, IDX_PD), PT | TABLE_FLAGS | X86_PTE_A);

	/* A fetch does not dirty. */
	ok(&pg, VA, X86_FETCH);
	ck_assert_uint_eq(*entry(PT, IDX_PT), DATA0 | TABLE_FLAGS | X86_PTE_A);
}
END_TEST

START_TEST(test_accessed_dirty_2m)
{
	struct x86_paging pg = paging();
	const uint64_t leaf = (5ull << 21) | X86_PTE_PS | TABLE_FLAGS;

	memset(mem, 0, sizeof(mem));
	*entry(PML4, IDX_PML4) = PDPT | TABLE_FLAGS;
	*entry(PDPT, IDX_PDPT) = PD | TABLE_FLAGS;
	*entry(PD, IDX_PD) = leaf;
	ok(&pg, VA, X86_READ | X86_USER);
	ck_assert_uint_eq(*entry(PD, IDX_PD), leaf | X86_PTE_A);
	ok(&pg, VA, X86_WRITE | X86_USER);
	ck_assert_uint_eq(*entry(PD, IDX_PD), leaf | X86_PTE_A | X86_PTE_D);
	ck_assert_uint_eq(*entry(PDPT, IDX_PDPT), PD | TABLE_FLAGS | X86_PTE_A);
	ck_assert_uint_eq(*entry(PML4, IDX_PML4),
			  PDPT | TABLE_FLAGS | X86_PTE_A);
}
END_TEST

/* A write that faults for protection dirties nothing. */
START_TEST(test_no_dirty_on_fault)
{
	struct x86_paging pg = paging();

	map_4k(X86_PTE_P | X86_PTE_U);
	fault(&pg, VA, X86_WRITE | X86_USER);
	ck_assert_uint_eq(*entry(PT, IDX_PT) & X86_PTE_D, 0);
}
END_TEST

/* --- x86_linear_copy ------------------------------------------------- */

START_TEST(test_copy_across_pages)
{
	struct x86_paging pg = paging();
	const uint64_t va = VA_BASE + 0x1000 - 8;
	uint8_t in[16], out[16];
	uint64_t fault_va = 0;
	uint32_t err = 0;

	map_4k(TABLE_FLAGS);
	*entry(PT, IDX_PT + 1) = DATA2 | TABLE_FLAGS; /* not contiguous */
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xa0 + i);
	ck_assert(x86_linear_copy(&phys, &pg, va, in, sizeof(in), X86_WRITE,
				  &fault_va, &err));
	ck_assert_mem_eq(mem + DATA0 + 0xff8, in, 8);
	ck_assert_mem_eq(mem + DATA2, in + 8, 8);
	ck_assert_uint_eq(mem[DATA1], 0); /* not the next frame */

	memset(out, 0, sizeof(out));
	ck_assert(x86_linear_copy(&phys, &pg, va, out, sizeof(out),
				  X86_READ | X86_USER, &fault_va, &err));
	ck_assert_mem_eq(out, in, sizeof(in));
}
END_TEST

START_TEST(test_copy_second_page_faults)
{
	struct x86_paging pg = paging();
	const uint64_t va = VA_BASE + 0x1000 - 8;
	uint8_t in[16], zero[16] = {0};
	uint64_t fault_va = 0;
	uint32_t err = 0;

	map_4k(TABLE_FLAGS);
	*entry(PT, IDX_PT + 1) = 0; /* the second page not present */
	memset(in, 0xcc, sizeof(in));
	ck_assert(!x86_linear_copy(&phys, &pg, va, in, sizeof(in),
				   X86_WRITE | X86_USER, &fault_va, &err));
	ck_assert_uint_eq(fault_va, VA_BASE + 0x1000);
	ck_assert_uint_eq(err, X86_PF_W | X86_PF_U);
	ck_assert_mem_eq(mem + DATA0 + 0xff8, zero, 8);

	/* Second page read-only: a protection fault, still nothing written. */
	*entry(PT, IDX_PT + 1) = DATA1 | X86_PTE_P | X86_PTE_U;
	ck_assert(!x86_linear_copy(&phys, &pg, va, in, sizeof(in),
				   X86_WRITE | X86_USER, &fault_va, &err));
	ck_assert_uint_eq(fault_va, VA_BASE + 0x1000);
	ck_assert_uint_eq(err, X86_PF_P | X86_PF_W | X86_PF_U);
	ck_assert_mem_eq(mem + DATA0 + 0xff8, zero, 8);
	ck_assert_mem_eq(mem + DATA1, zero, 8);

	/* The first page faulting is reported at va. */
	*entry(PT, IDX_PT) = 0;
	ck_assert(!x86_linear_copy(&phys, &pg, va, in, sizeof(in), X86_READ,
				   &fault_va, &err));
	ck_assert_uint_eq(fault_va, va);
	ck_assert_uint_eq(err, 0);
}
END_TEST

START_TEST(test_copy_within_page)
{
	struct x86_paging pg = paging();
	uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint64_t fault_va = 0;
	uint32_t err = 0;

	map_4k(TABLE_FLAGS);
	*entry(PT, IDX_PT + 1) = 0;
	/* Ends exactly at the page's end: the next page is not touched. */
	ck_assert(x86_linear_copy(&phys, &pg, VA_BASE + 0xff8, in, sizeof(in),
				  X86_WRITE, &fault_va, &err));
	ck_assert_mem_eq(mem + DATA0 + 0xff8, in, sizeof(in));
}
END_TEST

static Suite *x86_mmu_suite(void)
{
	Suite *s = suite_create("x86_mmu");
	TCase *walk = tcase_create("walk");
	TCase *rights = tcase_create("rights");
	TCase *ad = tcase_create("accessed_dirty");
	TCase *copy = tcase_create("copy");

	tcase_add_test(walk, test_4k_page);
	tcase_add_test(walk, test_4k_page_high_half);
	tcase_add_test(walk, test_2m_page);
	tcase_add_test(walk, test_1g_page);
	tcase_add_loop_test(walk, test_not_present_each_level, 0, 4);
	tcase_add_test(walk, test_not_present_ignores_other_bits);
	tcase_add_test(walk, test_table_outside_memory);
	suite_add_tcase(s, walk);

	tcase_add_test(rights, test_user_access_to_supervisor_page);
	tcase_add_loop_test(rights, test_supervisor_at_upper_level, 0, 4);
	tcase_add_test(rights, test_user_write_read_only);
	tcase_add_loop_test(rights, test_read_only_upper_level, 0, 4);
	tcase_add_test(rights, test_cr0_wp);
	tcase_add_test(rights, test_smep);
	tcase_add_test(rights, test_smap);
	tcase_add_loop_test(rights, test_nx, 0, 4);
	tcase_add_test(rights, test_nx_reserved_without_nxe);
	suite_add_tcase(s, rights);

	tcase_add_test(ad, test_accessed_dirty_4k);
	tcase_add_test(ad, test_accessed_dirty_2m);
	tcase_add_test(ad, test_no_dirty_on_fault);
	suite_add_tcase(s, ad);

	tcase_add_test(copy, test_copy_across_pages);
	tcase_add_test(copy, test_copy_second_page_faults);
	tcase_add_test(copy, test_copy_within_page);
	suite_add_tcase(s, copy);
	return s;
}

CHECK_MAIN(x86_mmu_suite)
