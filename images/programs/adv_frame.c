/*
 * adv_frame.c: an adversary that tries to map frames it does not own.
 * Owned by the adversarial boot tests (tests/boot/adversarial.sh), which
 * run it as `run=adv_frame,good`.
 *
 * Boot envs are loaded one after the other.  Each one's image and stack
 * are one run of frames (EXO_SLOT_IMAGE) from the bottom of RAM; its
 * other frames (root, uenv, tables) come one at a time from the top of the
 * free list, highest first, so the frames just below this env's single
 * frames are good's: its page-table root first.  This env finds its
 * single frames through the UVPT view and its frame counts, prints
 * where good's root must be (the test compares that with what good
 * prints), and asks for those frames by name: every request must fail
 * with E_BUSY (a success would also zero the frame under good).  Then it
 * names kernel and initrd frames and impossible addresses, and sends
 * SYS_PTE_SET capability slots that are empty, of the wrong type, short
 * of rights, or indexes past a capability's range.  Every call must fail
 * with the documented error and leave its own counts as they were; it
 * exits 0 when they all did.  The end-of-RAM checks assume the 64 MiB the
 * test gives the machine.
 */
#include "t_util.h"

#define GOOD_FRAMES_TRIED 8 /* good has more single boot frames than this */
#define SCRATCH_VA 0x20000000ull

/* An op that must be refused with err and leave va unmapped. */
static void refused(const char *what, long env, uint32_t slot, uint32_t index,
		    uint32_t perm, int err)
{
	long ret;
	int32_t res = t_pte_set1(env, SCRATCH_VA, slot, index, perm, &ret);

	tap_ok(ret == 0 && res == -err && t_pte(SCRATCH_VA) == 0,
	       "pte_set %s: call %ld, op %d (want 0, -%d), nothing mapped",
	       what, ret, res, err);
}

/* SYS_PTE_SET naming as its env a slot that is not a usable ENV cap. */
static void bad_env(const char *what, long env, uint32_t slot, int err)
{
	long ret;
	int32_t res = t_pte_set1(env, SCRATCH_VA, slot, 0, EXO_MAP_READ, &ret);

	tap_ok(ret == -err && res == T_OP_UNTOUCHED && t_pte(SCRATCH_VA) == 0,
	       "pte_set into %s as the env: %ld (want -%d), op untouched", what,
	       ret, err);
}

/* A cpio "newc" header starts somewhere in the page at va. */
static bool holds_cpio_magic(uint64_t va)
{
	for (uint64_t off = 0; off + 6 <= EXO_PAGE_SIZE; off += 4)
		if (!memcmp((const void *)(va + off), "070701", 6))
			return true;
	return false;
}

static void named(const char *what, uint64_t pa, uint64_t count, int err)
{
	long r = sys_frame_alloc(pa, count, 0);

	tap_ok(r == -err, "frame_alloc(0x%lx, %lu) of %s: %ld (want -%d)",
	       (unsigned long)pa, (unsigned long)count, what, r, err);
	if (r >= 0)
		sys_frame_free(r, 0, EXO_FRAME_REST); /* give back what should never have come */
}

int main(void)
{
	struct exo_env_status st0, st1;
	struct exo_cap_info initrd, info;
	uint64_t pml4 = *EXO_UVPT_ENTRY(EXO_UVPT, 4) & EXO_PTE_ADDR;
	uint64_t low, good, busy = 0;
	uint64_t own[2], image[2];
	bool own_inside = true;
	long f, ro, env_ro, ret;
	int32_t res;
	struct exo_pte_op ops[3];

	tap_plan(47);
	ret = sys_env_status(EXO_SLOT_SELF, &st0);
	tap_ok(ret == 0 && st0.frames_used > 4,
	       "own status: %lu frames used at start",
	       (unsigned long)st0.frames_used);
	if (sys_cap_info(EXO_SLOT_IMAGE, &info) != E_OK)
		info = (struct exo_cap_info){0};
	low = pml4 - (st0.frames_used - info.count - 1) * EXO_PAGE_SIZE;
	good = low - EXO_PAGE_SIZE;
	own[0] = t_pa(EXO_UENV);
	own[1] = *EXO_UVPT_ENTRY(0x400000, 2) & EXO_PTE_ADDR;
	image[0] = t_pa(0x400000);
	image[1] = t_pa(EXO_USER_STACK_TOP - EXO_PAGE_SIZE);
	for (unsigned i = 0; i < 2; i++)
		own_inside = own_inside && own[i] >= low && own[i] <= pml4 &&
			     image[i] >= info.base &&
			     image[i] < info.base + info.count * EXO_PAGE_SIZE;
	tap_ok(own_inside,
	       "own boot frames: uenv and a table in [0x%lx, 0x%lx], text "
	       "and stack in its image run",
	       (unsigned long)low, (unsigned long)pml4);
	tap_diag("good's pml4 should be at 0x%lx", (unsigned long)good);

	/* good's boot frames, by name, one by one and as runs. */
	for (unsigned k = 0; k < GOOD_FRAMES_TRIED; k++) {
		long r = sys_frame_alloc(good - k * EXO_PAGE_SIZE, 1, 0);

		if (r == -E_BUSY)
			busy++;
		else
			tap_diag("frame_alloc of good's frame 0x%lx gave %ld",
				 (unsigned long)(good - k * EXO_PAGE_SIZE), r);
		if (r >= 0)
			sys_frame_free(r, 0, EXO_FRAME_REST);
	}
	tap_ok(busy == GOOD_FRAMES_TRIED,
	       "%lu of %u of good's frames refused with E_BUSY",
	       (unsigned long)busy, GOOD_FRAMES_TRIED);
	named("a run over good's and its own frames", good - 3 * EXO_PAGE_SIZE,
	      8, E_BUSY);
	named("a run of good's frames", good - 15 * EXO_PAGE_SIZE, 16, E_BUSY);
	named("good's root, count 2^32 + 1", good, (1ull << 32) | 1, E_INVAL);
	named("its own page-table root", pml4, 1, E_BUSY);
	named("frame 0 (the kernel's)", 0, 1, E_BUSY);
	named("the kernel image", 0x100000, 1, E_BUSY);
	tap_ok(sys_cap_info(EXO_SLOT_INITRD, &initrd) == 0 &&
		   initrd.type == EXO_CAP_INITRD,
	       "the initrd capability is there");
	named("the initrd", initrd.base, 1, E_BUSY);
	named("past the end of RAM", 64ull << 20, 1, E_INVAL);
	named("a run across the end of RAM", (64ull << 20) - EXO_PAGE_SIZE, 2,
	      E_INVAL);
	named("2^52", 1ull << 52, 1, E_INVAL);
	named("the top page of the address space", ~0ull & ~4095ull, 1,
	      E_INVAL);
	named("an unaligned address", good + 8, 1, E_INVAL);
	named("good's root, count 0", good, 0, E_INVAL);
	named("good's root, count 513", good, 513, E_INVAL);
	ret = sys_env_status(EXO_SLOT_SELF, &st1);
	tap_ok(ret == 0 && st1.frames_used == st0.frames_used,
	       "refused allocations charged nothing (%lu frames used)",
	       (unsigned long)st1.frames_used);

	/* Mapping with capabilities it does not have or cannot use. */
	f = sys_frame_alloc(EXO_FRAME_ANY, 2, 0);
	tap_ok(f > EXO_SLOT_BOOT_SLICES, "own frames: slot %ld", f);
	ro = sys_cap_derive(f, EXO_R_READ, 0, 2);
	env_ro = sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 0, 0);
	tap_ok(ro > 0 && env_ro > 0,
	       "read-only copies of its frames (%ld) and of itself (%ld)", ro,
	       env_ro);
	refused("with an empty slot", EXO_SLOT_SELF, 200, 0, EXO_MAP_READ,
		E_BADCAP);
	refused("with slot 0xffffffff", EXO_SLOT_SELF, 0xffffffffu, 0,
		EXO_MAP_READ, E_BADCAP);
	refused("with slot 256 + the frames' slot", EXO_SLOT_SELF,
		256 + (uint32_t)f, 0, EXO_MAP_READ, E_BADCAP);
	refused("with its ENV capability", EXO_SLOT_SELF, EXO_SLOT_SELF, 0,
		EXO_MAP_READ, E_BADCAP);
	refused("with its TIMESLOTS capability", EXO_SLOT_SELF,
		EXO_SLOT_BOOT_SLICES, 0, EXO_MAP_READ, E_BADCAP);
	refused("with index == count", EXO_SLOT_SELF, (uint32_t)f, 2,
		EXO_MAP_READ, E_INVAL);
	refused("with index 0xffffffff", EXO_SLOT_SELF, (uint32_t)f,
		0xffffffffu, EXO_MAP_READ, E_INVAL);
	refused("writable through a read-only copy", EXO_SLOT_SELF,
		(uint32_t)ro, 0, EXO_MAP_READ | EXO_MAP_WRITE, E_PERM);
	refused("executable through a read-only copy", EXO_SLOT_SELF,
		(uint32_t)ro, 0, EXO_MAP_READ | EXO_MAP_EXEC, E_PERM);
	refused("the initrd writable", EXO_SLOT_SELF, EXO_SLOT_INITRD, 0,
		EXO_MAP_READ | EXO_MAP_WRITE, E_PERM);
	refused("the initrd executable", EXO_SLOT_SELF, EXO_SLOT_INITRD, 0,
		EXO_MAP_READ | EXO_MAP_EXEC, E_PERM);
	refused("the initrd past its end", EXO_SLOT_SELF, EXO_SLOT_INITRD,
		(uint32_t)initrd.count, EXO_MAP_READ, E_INVAL);
	refused("with unknown permission bits", EXO_SLOT_SELF, (uint32_t)f, 0,
		EXO_MAP_READ | 0x8, E_INVAL);
	bad_env("a TIMESLOTS capability", EXO_SLOT_BOOT_SLICES, (uint32_t)f,
		E_BADCAP);
	bad_env("an empty slot", 7, (uint32_t)f, E_BADCAP);
	bad_env("a FRAME capability", f, (uint32_t)f, E_BADCAP);
	bad_env("an ENV capability without CONTROL", env_ro, (uint32_t)f,
		E_PERM);
	bad_env("slot -1", -1, (uint32_t)f, E_BADCAP);
	bad_env("slot 2^32 (slot 0 if cut to 32 bits)", 1l << 32, (uint32_t)f,
		E_BADCAP);

	/* What it may do works: the controls. */
	res = t_pte_set1(EXO_SLOT_SELF, SCRATCH_VA, (uint32_t)ro, 1,
			 EXO_MAP_READ, &ret);
	tap_ok(res == 0 && ret == 1 && t_pa(SCRATCH_VA) != 0 &&
		   !(t_pte(SCRATCH_VA) & EXO_PTE_WRITABLE),
	       "control: its own frame read-only through the copy (%ld, %d)",
	       ret, res);
	res = t_pte_set1(EXO_SLOT_SELF, SCRATCH_VA, EXO_SLOT_INITRD, 0,
			 EXO_MAP_READ, &ret);
	tap_ok(res == 0 && ret == 1 && holds_cpio_magic(SCRATCH_VA),
	       "control: the initrd read-only, a cpio archive (%ld, %d)", ret,
	       res);
	res = t_pte_set1(EXO_SLOT_SELF, SCRATCH_VA, 0, 0, 0, &ret);
	tap_ok(res == 0 && ret == 1 && t_pte(SCRATCH_VA) == 0,
	       "control: unmapped again (%ld, %d)", ret, res);

	/* A vector stops at the first refused op; later ops are untouched. */
	ops[0] = (struct exo_pte_op){SCRATCH_VA, (uint32_t)f, 0, EXO_MAP_READ,
				     T_OP_UNTOUCHED};
	ops[1] = (struct exo_pte_op){SCRATCH_VA + EXO_PAGE_SIZE, 201, 0,
				     EXO_MAP_READ, T_OP_UNTOUCHED};
	ops[2] = (struct exo_pte_op){SCRATCH_VA + 2 * EXO_PAGE_SIZE,
				     (uint32_t)f, 1, EXO_MAP_READ,
				     T_OP_UNTOUCHED};
	ret = sys_pte_set(EXO_SLOT_SELF, ops, 3);
	tap_ok(ret == 1 && ops[0].result == 0 && ops[1].result == -E_BADCAP &&
		   ops[2].result == T_OP_UNTOUCHED &&
		   t_pte(SCRATCH_VA + EXO_PAGE_SIZE) == 0 &&
		   t_pte(SCRATCH_VA + 2 * EXO_PAGE_SIZE) == 0,
	       "a vector stops at its bad op: %ld done, results %d %d %d", ret,
	       ops[0].result, ops[1].result, ops[2].result);
	tap_ok(sys_frame_free(f, 0, EXO_FRAME_REST) == 0 &&
		   t_pte(SCRATCH_VA) == 0,
	       "freeing its frames unmaps them");
	t_want("the read-only copy died with them", sys_cap_info(ro, &info),
	       -E_BADCAP);
	ret = sys_env_status(EXO_SLOT_SELF, &st1);
	tap_ok(ret == 0 && st1.frames_used >= st0.frames_used &&
		   st1.frames_used <= st0.frames_used + 1,
	       "frames used back to the start (%lu, was %lu; one new page "
	       "table at most)",
	       (unsigned long)st1.frames_used,
	       (unsigned long)st0.frames_used);
	return tap_done();
}
