/*
 * t_mem.c: guest tests of physical memory and its secure bindings:
 * SYS_FRAME_ALLOC (any and named frames, count limits, zeroed frames,
 * quota exhaustion), SYS_FRAME_FREE (unmaps every mapping first; a range
 * of a capability's pages, each freed page dead while the others and
 * their derived capabilities live on, the slot emptied with the last
 * page), vital frames (allocated below memory_min; SYS_FRAME_VITAL
 * refused above it), the image and stack frames the kernel gives a
 * boot env in EXO_SLOT_IMAGE, SYS_PTE_SET (map, unmap, remap,
 * permissions enforced by the MMU: writing a read-only page and running a
 * no-execute one fault; bad addresses, permissions, indices and slots
 * refused; a partial vector; page tables charged to the env whose space
 * they build; the reverse-map allowance), and the read-only UVPT view of
 * our own page tables, with the accessed and dirty bits.  Expects to run
 * as the only boot env.
 */
#include "t_util.h"

#define RW (EXO_MAP_READ | EXO_MAP_WRITE)
#define PATTERN 0x0123456789abcdefull
#define PATTERN2 0xfedcba9876543210ull
#define RET_OPCODE 0xc3
#define MULTI 8		   /* frames in one contiguous allocation */
#define ALLOC_QUOTA 40	   /* frames of the child that exhausts its quota */
#define CHILD_QUOTA 64	   /* frames for t_child */
#define TABLE_QUOTA 64	   /* frames of the child we map into */
#define RMAP_QUOTA 10	   /* frames of the child whose mappings run out */
#define KERNEL_IMAGE_PA 0x100000ull /* where exovmm loads the kernel */
#define SENTINEL 0x5a5a
#define VA_LOW_TABLE 0x400000ull	    /* a new PML4 slot-0 subtree */
#define VA_NEW_PD 0x40000000ull		    /* a new PD under slot 0 */
#define PARTIAL 4 /* pages of the capability freed a range at a time */
#define HOLE 2	  /* the one of them freed first */

/* crt0's entry: the first thing in our text (guestlib/user.ld). */
extern const char _start[];

static uint64_t pte(uint64_t va)
{
	return *EXO_UVPT_ENTRY(va, 1);
}

static long map1(long env, uint64_t va, long slot, uint32_t index,
		 uint32_t perm)
{
	struct exo_pte_op op = {.va = va, .slot = (uint32_t)slot,
				.index = index, .perm = perm,
				.result = SENTINEL};
	long done = sys_pte_set(env, &op, 1);

	/* 1 done: result 0; 0 done: the op's error (SENTINEL if unwritten). */
	return done < 0 ? done : op.result;
}

static struct exo_cap_info info(long slot)
{
	struct exo_cap_info i = {0};

	sys_cap_info(slot, &i);
	return i;
}

static void alloc_calls(void)
{
	long f, g, m;
	uint64_t pa, v = 1;
	bool zero = true;

	tap_ok(sys_frame_alloc(EXO_FRAME_ANY, 0, 0) == -E_INVAL &&
		   sys_frame_alloc(EXO_FRAME_ANY, EXO_FRAME_ALLOC_MAX + 1, 0) ==
		       -E_INVAL &&
		   sys_frame_alloc(EXO_FRAME_ANY, 1ull << 40, 0) == -E_INVAL,
	       "frame_alloc of 0 or more than EXO_FRAME_ALLOC_MAX: -E_INVAL");
	f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	pa = info(f).base;
	tap_ok(f > 0 && sys_frame_free(f, 0, EXO_FRAME_REST) == E_OK &&
		   (f = sys_frame_alloc(pa, 1, 0)) > 0 && info(f).base == pa,
	       "a named frame: the one just freed, by its address");
	tap_ok(sys_frame_alloc(pa, 1, 0) == -E_BUSY,
	       "naming an allocated frame: -E_BUSY");
	tap_ok(sys_frame_alloc(KERNEL_IMAGE_PA, 1, 0) == -E_BUSY &&
		   sys_frame_alloc(info(EXO_SLOT_INITRD).base, 1, 0) == -E_BUSY,
	       "naming a kernel or initrd frame: -E_BUSY");
	tap_ok(sys_frame_alloc(pa + 1, 1, 0) == -E_INVAL &&
		   sys_frame_alloc(1ull << 40, 1, 0) == -E_INVAL &&
		   sys_frame_alloc(~0ull - EXO_PAGE_SIZE + 1, 1, 0) == -E_INVAL,
	       "an unaligned address or one past RAM: -E_INVAL");
	/* Dirty the frame, free it, take it again: zeroed. */
	libos_map(EXO_SLOT_SELF, T_VA(1), f, 0, 1, RW);
	*(volatile uint64_t *)T_VA(1) = PATTERN;
	sys_frame_free(f, 0, EXO_FRAME_REST);
	f = sys_frame_alloc(pa, 1, 0);
	libos_map(EXO_SLOT_SELF, T_VA(1), f, 0, 1, EXO_MAP_READ);
	for (uint64_t off = 0; off < EXO_PAGE_SIZE; off += sizeof(uint64_t))
		zero = zero && *(volatile uint64_t *)(T_VA(1) + off) == 0;
	tap_ok(zero, "a frame is zero when it is allocated again");
	sys_frame_free(f, 0, EXO_FRAME_REST);

	m = sys_frame_alloc(EXO_FRAME_ANY, MULTI, 0);
	tap_ok(m > 0 && info(m).count == MULTI &&
		   libos_map(EXO_SLOT_SELF, T_VA(2), m, 0, MULTI, RW) == E_OK,
	       "%u frames at once, mapped", MULTI);
	for (unsigned i = 0; i < MULTI; i++)
		v = v && (pte(T_VA(2) + i * T_PAGE) & EXO_PTE_ADDR) ==
			     info(m).base + i * EXO_PAGE_SIZE;
	tap_ok(v, "they are physically contiguous (UVPT)");
	g = sys_frame_alloc(info(m).base + EXO_PAGE_SIZE, 2, 0);
	tap_ok(g == -E_BUSY, "naming a run that overlaps them: -E_BUSY");
	sys_frame_free(m, 0, EXO_FRAME_REST);

	f = t_child(CHILD_ALLOC_ALL, 0, ALLOC_QUOTA, 0, 0, -1, 0);
	tap_ok(f > 0 && t_wait(f) == 0,
	       "a child allocating until -E_NOMEM stops exactly at its quota");
	libos_spawn_free(f);
	sys_cap_drop(f);
}

static void free_unmaps(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0), c;
	uint64_t pa = info(f).base, v;

	libos_map(EXO_SLOT_SELF, T_VA(3), f, 0, 1, RW);
	libos_map(EXO_SLOT_SELF, T_VA(4), f, 0, 1, EXO_MAP_READ);
	*(volatile uint64_t *)T_VA(3) = PATTERN;
	tap_ok(*(volatile uint64_t *)T_VA(4) == PATTERN &&
		   (pte(T_VA(3)) & EXO_PTE_ADDR) == pa &&
		   (pte(T_VA(4)) & EXO_PTE_ADDR) == pa,
	       "one frame at two addresses: the same bytes");
	c = sys_env_create(TABLE_QUOTA, 0);
	tap_ok(c > 0 && map1(c, VA_LOW_TABLE, f, 0, RW) == E_OK,
	       "and mapped into a child too");
	tap_ok(sys_frame_free(f, 0, EXO_FRAME_REST) == E_OK && pte(T_VA(3)) == 0 &&
		   pte(T_VA(4)) == 0,
	       "frame_free removes both our mappings");
	t_fault.count = 0;
	tap_ok(!t_load(T_VA(3), &v) && t_fault.trapno == T_VEC_PF &&
		   t_fault.addr == T_VA(3) && t_fault.error == T_PF_USER,
	       "reading there faults: #PF not-present, user read, cr2");
	tap_ok(map1(c, VA_LOW_TABLE, f, 0, RW) == -E_BADCAP &&
		   map1(c, VA_LOW_TABLE, 0, 0, 0) == -E_NOENT,
	       "the child's mapping is gone too (unmapping it: -E_NOENT)");
	sys_env_kill(c);
	sys_cap_drop(c);
}

/* envs.sh gives us a memory_min below our memory: two zones. */
static void vital(void)
{
	struct exo_sysinfo si = {0};
	long f = sys_frame_alloc(EXO_FRAME_ANY, 2, EXO_FRAME_VITAL);
	long high = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);

	sys_sysinfo(&si);
	tap_ok(f >= 0 && info(f).base + 2 * T_PAGE <= si.vital_below,
	       "frame_alloc with EXO_FRAME_VITAL: below memory_min (0x%lx, "
	       "below 0x%lx)",
	       info(f).base, si.vital_below);
	tap_ok(sys_frame_vital(f, 0) == E_OK && sys_frame_vital(f, 1) == E_OK,
	       "frame_vital off and on there");
	tap_ok(info(high).base >= si.vital_below &&
		       sys_frame_vital(high, 1) == -E_INVAL &&
		       sys_frame_vital(high, 0) == E_OK,
	       "a frame above memory_min (0x%lx) can not be made vital",
	       info(high).base);
	tap_ok(sys_frame_alloc(EXO_FRAME_ANY, 1, EXO_FRAME_VITAL << 1) ==
		       -E_INVAL,
	       "frame_alloc with an unknown flag: -E_INVAL");
	sys_frame_free(high, 0, EXO_FRAME_REST);
	tap_ok(libos_syscall(SYS_FRAME_VITAL, f, 2, 0, 0, 0, 0) == -E_INVAL &&
		   libos_syscall(SYS_FRAME_VITAL, f, -1, 0, 0, 0, 0) == -E_INVAL,
	       "frame_vital with a value other than 0 or 1: -E_INVAL");
	tap_ok(sys_frame_vital(EXO_SLOT_INITRD, 1) == -E_BADCAP &&
		   sys_frame_vital(EXO_SLOT_SELF, 1) == -E_BADCAP &&
		   sys_frame_vital(-1, 1) == -E_BADCAP,
	       "frame_vital on a non-FRAME slot: -E_BADCAP");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void map_unmap_remap(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	long f2 = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	uint64_t va = T_VA(5), v, e;

	tap_ok(map1(EXO_SLOT_SELF, va, f, 0, RW) == E_OK && t_store(va, PATTERN) &&
		   t_load(va, &v) && v == PATTERN,
	       "map read-write: write and read back");
	e = pte(va);
	tap_ok((e & EXO_PTE_PRESENT) && (e & EXO_PTE_WRITABLE) &&
		   (e & EXO_PTE_NX) && (e & EXO_PTE_ADDR) == info(f).base,
	       "its UVPT entry: present, writable, no-execute, the frame");
	tap_ok(map1(EXO_SLOT_SELF, va, 0, 0, 0) == E_OK && pte(va) == 0 &&
		   !t_load(va, &v),
	       "unmap (perm 0): the entry is gone and reading faults");
	tap_ok(map1(EXO_SLOT_SELF, va, 0, 0, 0) == -E_NOENT,
	       "unmapping an unmapped page: -E_NOENT");
	tap_ok(map1(EXO_SLOT_SELF, va, f, 0, EXO_MAP_READ) == E_OK &&
		   t_load(va, &v) && v == PATTERN && !(pte(va) & EXO_PTE_WRITABLE),
	       "remap read-only: the data is still there");
	t_fault.count = 0;
	tap_ok(!t_store(va, PATTERN2) && t_fault.addr == va &&
		   t_fault.error == (T_PF_PRESENT | T_PF_WRITE | T_PF_USER),
	       "writing a read-only page faults: #PF present|write|user");
	t_fault.map_slot = f;
	t_fault.count = 0;
	tap_ok(t_store_fix(va, PATTERN2, T_FIX_MAP) == false &&
		   t_fault.count == 1 && t_load(va, &v) && v == PATTERN2,
	       "a handler that maps it writable lets the write retry");
	tap_ok(map1(EXO_SLOT_SELF, va, f2, 0, RW) == E_OK && t_load(va, &v) &&
		   v == 0 && (pte(va) & EXO_PTE_ADDR) == info(f2).base,
	       "remap to another frame replaces the mapping");
	sys_frame_free(f2, 0, EXO_FRAME_REST);
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void exec_perm(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0), d;
	uint64_t code = T_VA(7), alias = T_VA(8);

	map1(EXO_SLOT_SELF, alias, f, 0, RW);
	*(volatile uint8_t *)alias = RET_OPCODE;
	tap_ok(map1(EXO_SLOT_SELF, code, f, 0, EXO_MAP_READ | EXO_MAP_EXEC) ==
			   E_OK &&
		   !(pte(code) & EXO_PTE_NX) && t_call(code),
	       "a page mapped read-execute runs (a lone ret)");
	t_fault.count = 0;
	tap_ok(map1(EXO_SLOT_SELF, code, f, 0, EXO_MAP_READ) == E_OK &&
		   (pte(code) & EXO_PTE_NX) && !t_call(code) &&
		   t_fault.rip == code && t_fault.addr == code &&
		   t_fault.error ==
		       (T_PF_PRESENT | T_PF_USER | T_PF_FETCH),
	       "running a no-execute page faults: #PF present|user|fetch");
	d = sys_cap_derive(f, EXO_R_READ | EXO_R_WRITE, 0, 1);
	tap_ok(map1(EXO_SLOT_SELF, code, d, 0, EXO_MAP_READ | EXO_MAP_EXEC) ==
			   -E_PERM &&
		   map1(EXO_SLOT_SELF, code, d, 0, RW) == E_OK,
	       "exec needs EXEC on the cap: -E_PERM without");
	sys_cap_drop(d);
	d = sys_cap_derive(f, EXO_R_READ, 0, 1);
	tap_ok(map1(EXO_SLOT_SELF, code, d, 0, RW) == -E_PERM &&
		   map1(EXO_SLOT_SELF, code, d, 0, EXO_MAP_READ) == E_OK,
	       "write needs WRITE on the cap: -E_PERM without");
	sys_cap_drop(d);
	d = sys_cap_derive(f, EXO_R_WRITE, 0, 1);
	tap_ok(map1(EXO_SLOT_SELF, code, d, 0, EXO_MAP_WRITE) == -E_PERM,
	       "every mapping needs READ: -E_PERM without");
	sys_cap_drop(d);
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void bad_ops(void)
{
	static const uint64_t bad_vas[] = {
	    T_VA(9) + 1,	 EXO_USER_MAP_LIMIT, EXO_UENV,
	    EXO_UVPT,		 T_KERNEL_VA,	     T_DIRECT_MAP_VA,
	    T_NONCANONICAL, ~0ull & ~(T_PAGE - 1),
	};
	long f = sys_frame_alloc(EXO_FRAME_ANY, 2, 0);
	struct exo_pte_op ops[3];
	bool all = true;
	uint64_t v;

	for (unsigned i = 0; i < sizeof(bad_vas) / sizeof(bad_vas[0]); i++)
		all = all && map1(EXO_SLOT_SELF, bad_vas[i], f, 0, RW) == -E_INVAL &&
		      map1(EXO_SLOT_SELF, bad_vas[i], 0, 0, 0) == -E_INVAL;
	tap_ok(all, "map or unmap at an unaligned, uenv, UVPT, kernel or "
		    "non-canonical address: -E_INVAL");
	tap_ok(map1(EXO_SLOT_SELF, T_VA(9), f, 0, EXO_MAP_READ | 0x8) ==
		       -E_INVAL &&
		   map1(EXO_SLOT_SELF, T_VA(9), f, 0, 0x80000000u) == -E_INVAL,
	       "unknown permission bits: -E_INVAL");
	tap_ok(map1(EXO_SLOT_SELF, T_VA(9), f, 2, RW) == -E_INVAL &&
		   map1(EXO_SLOT_SELF, T_VA(9), f, ~0u, RW) == -E_INVAL,
	       "a page index past the cap's range: -E_INVAL");
	tap_ok(map1(EXO_SLOT_SELF, T_VA(9), ~0u, 0, RW) == -E_BADCAP &&
		   map1(EXO_SLOT_SELF, T_VA(9), EXO_CAP_SLOTS, 0, RW) ==
		       -E_BADCAP &&
		   map1(EXO_SLOT_SELF, T_VA(9), EXO_SLOT_SELF, 0, RW) ==
		       -E_BADCAP,
	       "a bad slot or a non-FRAME cap: -E_BADCAP");
	tap_ok(map1(EXO_SLOT_SELF, T_VA(9), EXO_SLOT_INITRD, 0, RW) == -E_PERM &&
		   map1(EXO_SLOT_SELF, T_VA(9), EXO_SLOT_INITRD, 0,
			EXO_MAP_READ | EXO_MAP_EXEC) == -E_PERM,
	       "the initrd cannot be mapped writable or executable");
	tap_ok(map1(EXO_SLOT_SELF, T_VA(9), EXO_SLOT_INITRD, 0,
		    EXO_MAP_READ) == E_OK &&
		   !memcmp((const void *)T_VA(9), "070701", 6),
	       "the initrd mapped read-only: a cpio archive");
	map1(EXO_SLOT_SELF, T_VA(9), 0, 0, 0);

	tap_ok(sys_pte_set(EXO_SLOT_SELF, ops, EXO_PTE_OPS_MAX + 1) == -E_INVAL &&
		   sys_pte_set(EXO_SLOT_SELF, ops, ~0ul) == -E_INVAL,
	       "more than EXO_PTE_OPS_MAX ops: -E_INVAL");
	tap_ok(sys_pte_set(EXO_SLOT_SELF, NULL, 0) == 0 &&
		   sys_pte_set(EXO_SLOT_SELF, NULL, 1) == -E_FAULT &&
		   sys_pte_set(EXO_SLOT_SELF, (struct exo_pte_op *)T_KERNEL_VA,
			       1) == -E_FAULT,
	       "no ops: 0; ops at NULL or in the kernel: -E_FAULT");
	tap_ok(sys_pte_set(EXO_SLOT_INITRD, ops, 0) == -E_BADCAP &&
		   sys_pte_set(-1, ops, 0) == -E_BADCAP,
	       "pte_set on a non-ENV slot: -E_BADCAP");

	ops[0] = (struct exo_pte_op){.va = T_VA(9), .slot = (uint32_t)f,
				     .perm = RW, .result = SENTINEL};
	ops[1] = (struct exo_pte_op){.va = T_VA(9) + 1, .slot = (uint32_t)f,
				     .perm = RW, .result = SENTINEL};
	ops[2] = (struct exo_pte_op){.va = T_VA(9) + T_PAGE,
				     .slot = (uint32_t)f, .index = 1,
				     .perm = RW, .result = SENTINEL};
	tap_ok(sys_pte_set(EXO_SLOT_SELF, ops, 3) == 1 &&
		   ops[0].result == 0 && ops[1].result == -E_INVAL &&
		   ops[2].result == SENTINEL && pte(T_VA(9)) != 0 &&
		   pte(T_VA(9) + T_PAGE) == 0,
	       "a vector stops at its first bad op: 1 done, the rest untouched");

	/* The ops in a read-only page: the kernel cannot write a result. */
	map1(EXO_SLOT_SELF, T_VA(10), f, 1, RW);
	ops[0].va = T_VA(9) + T_PAGE;
	ops[0].index = 1;
	memcpy((void *)T_VA(10), ops, sizeof(ops[0]));
	map1(EXO_SLOT_SELF, T_VA(10), f, 1, EXO_MAP_READ);
	tap_ok(sys_pte_set(EXO_SLOT_SELF, (struct exo_pte_op *)T_VA(10), 1) ==
			   -E_FAULT &&
		   pte(T_VA(9) + T_PAGE) == 0 && !t_load(T_VA(9) + T_PAGE, &v),
	       "ops whose results cannot be written: -E_FAULT, nothing mapped");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

/* Page tables are charged to the env whose space they build. */
static void table_charges(void)
{
	long c = sys_env_create(TABLE_QUOTA, 0), f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	struct exo_env_status s0, s1, s2, s3;
	struct exo_env_status me0, me1;

	sys_env_status(EXO_SLOT_SELF, &me0);
	sys_env_status(c, &s0);
	map1(c, EXO_USER_MAP_LIMIT - T_PAGE, f, 0, RW);
	sys_env_status(c, &s1);
	tap_ok(s1.frames_used == s0.frames_used + 1,
	       "a mapping beside the uenv's costs the child one table");
	map1(c, VA_LOW_TABLE, f, 0, RW);
	sys_env_status(c, &s2);
	sys_env_status(EXO_SLOT_SELF, &me1);
	tap_ok(s2.frames_used == s1.frames_used + 3 &&
		   me1.frames_used == me0.frames_used,
	       "one in a fresh PML4 slot costs it three; nothing of ours");
	tap_ok(sys_env_set_quota(c, s2.frames_used, 0) == E_OK &&
		   map1(c, VA_NEW_PD, f, 0, RW) == -E_NOMEM &&
		   sys_env_status(c, &s3) == E_OK &&
		   s3.frames_used == s2.frames_used,
	       "with its quota used up, a mapping needing a table: -E_NOMEM");
	tap_ok(map1(c, VA_LOW_TABLE + T_PAGE, f, 0, RW) == E_OK,
	       "while one under an existing table still works");
	sys_env_kill(c);
	sys_cap_drop(c);
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

/* An env may hold only so many mappings per frame of its quota. */
static void rmap_allowance(void)
{
	long c = sys_env_create(RMAP_QUOTA, 0), f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	unsigned n = 0;
	long err = E_OK;

	for (; n < EXO_PTE_OPS_MAX && err == E_OK; n++)
		err = map1(c, VA_LOW_TABLE + n * T_PAGE, f, 0, EXO_MAP_READ);
	tap_ok(err == -E_NOMEM && n - 1 > RMAP_QUOTA,
	       "a child with %u frames may map a frame %u times, then "
	       "-E_NOMEM",
	       RMAP_QUOTA, n - 1);
	tap_ok(sys_env_set_quota(c, 2 * RMAP_QUOTA, 0) == E_OK &&
		   map1(c, VA_LOW_TABLE + n * T_PAGE, f, 0, EXO_MAP_READ) == E_OK,
	       "a bigger quota allows more");
	tap_ok(sys_frame_free(f, 0, EXO_FRAME_REST) == E_OK, "frame_free unmaps all of them");
	sys_env_kill(c);
	sys_cap_drop(c);
}

static void uvpt(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	uint64_t va = T_VA(11), v;
	const volatile uint64_t *top = EXO_UVPT_ENTRY(EXO_UVPT, 4);

	map1(EXO_SLOT_SELF, va, f, 0, RW);
	tap_ok(!(pte(va) & (EXO_PTE_ACCESSED | EXO_PTE_DIRTY)),
	       "a fresh mapping: neither accessed nor dirty");
	(void)*(volatile uint64_t *)va;
	tap_ok((pte(va) & EXO_PTE_ACCESSED) && !(pte(va) & EXO_PTE_DIRTY),
	       "after a read: accessed, not dirty");
	*(volatile uint64_t *)va = 1;
	tap_ok((pte(va) & EXO_PTE_ACCESSED) && (pte(va) & EXO_PTE_DIRTY),
	       "after a write: accessed and dirty");
	tap_ok((*EXO_UVPT_ENTRY(va, 2) & (EXO_PTE_PRESENT | EXO_PTE_WRITABLE)) ==
			   (EXO_PTE_PRESENT | EXO_PTE_WRITABLE) &&
		   (*EXO_UVPT_ENTRY(va, 3) & EXO_PTE_PRESENT) &&
		   (*EXO_UVPT_ENTRY(va, 4) & EXO_PTE_PRESENT),
	       "the PD, PDPT and PML4 entries above it are present");
	tap_ok((*top & EXO_PTE_PRESENT) && !(*top & EXO_PTE_WRITABLE) &&
		   (*top & EXO_PTE_NX),
	       "the recursive PML4 entry: present, read-only, no-execute");
	t_fault.count = 0;
	tap_ok(!t_store((uint64_t)EXO_UVPT_ENTRY(va, 1), 0) &&
		   t_fault.error == (T_PF_PRESENT | T_PF_WRITE | T_PF_USER) &&
		   pte(va) != 0,
	       "writing our page tables through the UVPT faults");
	t_fault.count = 0;
	tap_ok(!t_load((uint64_t)EXO_UVPT_ENTRY(T_KERNEL_VA, 3), &v) &&
		   (t_fault.error & ~T_PF_HOST_BITS) == T_PF_USER,
	       "the kernel half's tables are hidden from the UVPT view");
	tap_ok(!t_load((uint64_t)EXO_UVPT_ENTRY(1ull << 45, 1), &v),
	       "the UVPT view of a subtree with no tables faults");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static struct exo_env_status me(void)
{
	struct exo_env_status st = {0};

	sys_env_status(EXO_SLOT_SELF, &st);
	return st;
}

static uint64_t frames_free(void)
{
	struct exo_sysinfo si = {0};

	sys_sysinfo(&si);
	return si.frames_free;
}

/* Whether va + i pages maps frame i of the run at physical base. */
static bool maps_page(uint64_t va, uint64_t base, unsigned i)
{
	return (pte(va + i * T_PAGE) & EXO_PTE_ADDR) == base + i * T_PAGE;
}

/*
 * SYS_FRAME_FREE of a range: liveness is per page, so a capability with a
 * freed page still names (and maps) its others, until the last one goes.
 */
static void partial_free(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, PARTIAL, 0);
	long c = sys_env_create(TABLE_QUOTA, 0), dead, live;
	uint64_t va = T_VA(12), alias = T_VA(13), other = T_VA(14);
	uint64_t base = info(f).base, used0, free0, v;
	uint64_t hole_va = va + HOLE * T_PAGE;
	struct exo_cap_info ci;
	bool kept = true;

	libos_map(EXO_SLOT_SELF, va, f, 0, PARTIAL, RW);
	t_warm(other); /* its table must not show in the counts below */
	for (unsigned i = 0; i < PARTIAL; i++)
		*(volatile uint64_t *)(va + i * T_PAGE) = PATTERN + i;
	dead = sys_cap_derive(f, RW, HOLE, 1);
	live = sys_cap_derive(f, RW, HOLE + 1, 1);
	tap_ok(f > 0 && c > 0 && dead > 0 && live > 0 &&
		   map1(EXO_SLOT_SELF, alias, f, HOLE, RW) == E_OK &&
		   map1(c, VA_LOW_TABLE, f, HOLE, RW) == E_OK,
	       "%u pages mapped, page %u also elsewhere and in a child; a "
	       "one-page cap derived of it and of the next",
	       PARTIAL, HOLE);
	used0 = me().frames_used;
	free0 = frames_free();
	tap_ok(sys_frame_free(f, HOLE, 1) == E_OK && pte(hole_va) == 0 &&
		   pte(alias) == 0 && map1(c, VA_LOW_TABLE, 0, 0, 0) == -E_NOENT,
	       "frame_free of page %u alone unmaps it everywhere (both our "
	       "mappings, the child's)",
	       HOLE);
	t_fault.count = 0;
	tap_ok(!t_load(hole_va, &v) && t_fault.addr == hole_va,
	       "reading where it was faults");
	tap_ok(me().frames_used == used0 - 1 && frames_free() == free0 + 1,
	       "exactly one frame comes back: our frames_used and the free "
	       "count move by one");
	tap_ok(map1(EXO_SLOT_SELF, hole_va, f, HOLE, RW) == -E_BADCAP,
	       "pte_set of the freed page: -E_BADCAP");
	for (unsigned i = 0; i < PARTIAL; i++)
		if (i != HOLE)
			kept = kept && maps_page(va, base, i) &&
			       *(volatile uint64_t *)(va + i * T_PAGE) ==
				   PATTERN + i &&
			       map1(EXO_SLOT_SELF, alias, f, i, RW) == E_OK;
	tap_ok(kept, "its other pages stay mapped with their data, and map "
		     "again");
	tap_ok(sys_cap_info(f, &ci) == E_OK && ci.type == EXO_CAP_FRAME &&
		   ci.base == base && ci.count == PARTIAL,
	       "cap_info of the capability still works: its whole range");
	tap_ok(sys_frame_free(f, HOLE, 1) == E_OK &&
		   me().frames_used == used0 - 1,
	       "freeing the freed page again: 0, and nothing more is freed");
	tap_ok(sys_frame_free(f, PARTIAL, 1) == -E_INVAL &&
		   sys_frame_free(f, PARTIAL, EXO_FRAME_REST) == -E_INVAL &&
		   sys_frame_free(f, ~0ull, 1) == -E_INVAL,
	       "a first page past the end: -E_INVAL");
	tap_ok(sys_frame_free(f, 1, PARTIAL) == -E_INVAL &&
		   sys_frame_free(f, 0, PARTIAL + 1) == -E_INVAL &&
		   sys_frame_free(f, 1, ~0ull) == -E_INVAL &&
		   me().frames_used == used0 - 1,
	       "a count past the end: -E_INVAL, nothing freed");
	tap_ok(map1(EXO_SLOT_SELF, other, dead, 0, RW) == -E_BADCAP &&
		   sys_cap_info(dead, &ci) == -E_BADCAP,
	       "the cap derived of the freed page is dead");
	tap_ok(map1(EXO_SLOT_SELF, other, live, 0, RW) == E_OK &&
		   *(volatile uint64_t *)other == PATTERN + HOLE + 1,
	       "the one derived of a live page still maps it");

	tap_ok(sys_frame_free(f, 0, HOLE) == E_OK && pte(va) == 0 &&
		   maps_page(va, base, PARTIAL - 1) && info(f).count == PARTIAL,
	       "freeing the pages before the hole: the last one lives on");
	tap_ok(sys_frame_free(f, HOLE + 1, EXO_FRAME_REST) == E_OK &&
		   pte(va + (PARTIAL - 1) * T_PAGE) == 0 && pte(other) == 0 &&
		   me().frames_used == used0 - PARTIAL,
	       "freeing the rest (EXO_FRAME_REST) frees the last page");
	tap_ok(sys_cap_info(f, &ci) == -E_BADCAP &&
		   sys_cap_info(live, &ci) == -E_BADCAP &&
		   sys_frame_free(f, 0, EXO_FRAME_REST) == -E_BADCAP &&
		   sys_cap_drop(f) == -E_BADCAP,
	       "with every page freed the slot is empty (drop: -E_BADCAP), "
	       "and the derived caps are dead");
	sys_cap_drop(dead);
	sys_cap_drop(live);
	sys_env_kill(c);
	sys_cap_drop(c);
}

/* Whether the frame mapped at va is one of the image capability's. */
static bool in_image(const struct exo_cap_info *im, uint64_t va)
{
	uint64_t pa = pte(va) & EXO_PTE_ADDR;

	return (pte(va) & EXO_PTE_PRESENT) && pa >= im->base &&
	       pa - im->base < im->count * EXO_PAGE_SIZE;
}

/* A boot env holds the frames of its image and stack, to name them. */
static void image_cap(void)
{
	struct exo_cap_info im = info(EXO_SLOT_IMAGE);
	uint64_t text = (uint64_t)(uintptr_t)_start & ~(T_PAGE - 1);
	uint64_t data = (uint64_t)(uintptr_t)&t_fault;
	uint64_t index = ((pte(text) & EXO_PTE_ADDR) - im.base) / T_PAGE;
	uint64_t va = T_VA(15);
	bool stack = true;

	tap_ok(im.type == EXO_CAP_FRAME &&
		   (im.rights & (EXO_R_READ | EXO_R_WRITE | EXO_R_EXEC)) ==
		       (EXO_R_READ | EXO_R_WRITE | EXO_R_EXEC) &&
		   im.count > EXO_USER_STACK_PAGES,
	       "EXO_SLOT_IMAGE: a FRAME cap of %lu pages, readable, "
	       "writable, executable",
	       im.count);
	tap_ok(in_image(&im, text) && in_image(&im, data),
	       "the frames at our text (%p) and data (%p) are its pages",
	       (void *)text, (void *)data);
	for (unsigned i = 1; i <= EXO_USER_STACK_PAGES; i++)
		stack = stack && in_image(&im, EXO_USER_STACK_TOP - i * T_PAGE);
	tap_ok(stack, "so are the %u stack pages below EXO_USER_STACK_TOP",
	       EXO_USER_STACK_PAGES);
	tap_ok(map1(EXO_SLOT_SELF, va, EXO_SLOT_IMAGE, (uint32_t)index,
		    EXO_MAP_READ) == E_OK &&
		   !memcmp((const void *)va, (const void *)text, T_PAGE),
	       "mapped through the cap, its page %lu reads as our text",
	       index);
	map1(EXO_SLOT_SELF, va, 0, 0, 0);
}

int main(void)
{
	tap_plan(79);
	libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_fault);
	alloc_calls();
	free_unmaps();
	vital();
	map_unmap_remap();
	exec_perm();
	bad_ops();
	table_charges();
	rmap_allowance();
	uvpt();
	partial_free();
	image_cap();
	return tap_done();
}
