/*
 * t_cap.c: guest tests of the capability calls: SYS_CAP_INFO on every
 * kind of capability a boot env holds, SYS_CAP_DERIVE (sub-ranges and
 * sub-rights only: nothing widens a capability, whatever the numbers),
 * SYS_CAP_GRANT (into our own table and a child's: the lowest free slot,
 * or a chosen one if it is free and in range), SYS_CAP_DROP, bad
 * slots (-1, EXO_CAP_SLOTS, huge), dead capabilities once their frames
 * are freed or their env is gone (even when the same frames come back),
 * and a full capability table.  Expects to run as the only boot env.
 */
#include "t_util.h"

#define FRAMES 4	      /* pages of the test's frame capability */
#define BADGE 0x5eed0000cafeull /* any 64-bit badge */
#define CHILD_QUOTA 16
#define CHOSEN_SLOT 9 /* well above a new child's lowest free slot */
#define LAST_SLOT (EXO_CAP_SLOTS - 1)
#define FRAME_RIGHTS                                                           \
	(EXO_R_READ | EXO_R_WRITE | EXO_R_EXEC | EXO_R_GRANT | EXO_R_FREE |    \
	 EXO_R_CONTROL)

static const long bad_slots[] = {-1, EXO_CAP_SLOTS, EXO_CAP_SLOTS + 1,
				 (long)1 << 40, (long)(~0ull >> 1),
				 (long)0x80000000ull};
#define NBAD (sizeof(bad_slots) / sizeof(bad_slots[0]))

static struct exo_cap_info info(long slot)
{
	struct exo_cap_info i = {0};

	sys_cap_info(slot, &i);
	return i;
}

static void boot_caps(void)
{
	struct exo_sysinfo si;
	struct exo_cap_info self, rd, ts;

	sys_sysinfo(&si);
	self = info(EXO_SLOT_SELF);
	tap_ok(self.type == EXO_CAP_ENV && self.rights == EXO_R_ALL &&
		   self.object == si.self && si.self == libos_uenv->id,
	       "slot 0: an ENV cap to ourselves with every right");
	rd = info(EXO_SLOT_INITRD);
	tap_ok(rd.type == EXO_CAP_INITRD &&
		   rd.rights == (EXO_R_READ | EXO_R_GRANT) &&
		   rd.base % EXO_PAGE_SIZE == 0 &&
		   rd.count == (si.initrd_size + EXO_PAGE_SIZE - 1) /
				   EXO_PAGE_SIZE,
	       "slot 1: the initrd, read and grant only, %lu pages", rd.count);
	ts = info(EXO_SLOT_BOOT_SLICES);
	tap_ok(ts.type == EXO_CAP_TIMESLOTS && ts.object == si.self &&
		   ts.base == libos_uenv->slice.slots_mask && ts.base != 0,
	       "slot 2: our slices (mask %lx)", ts.base);
}

static void bad_slot_numbers(void)
{
	struct exo_cap_info i;
	bool all = true;

	for (unsigned k = 0; k < NBAD; k++) {
		long s = bad_slots[k];

		all = all && sys_cap_info(s, &i) == -E_BADCAP &&
		      sys_cap_derive(s, 0, 0, 0) == -E_BADCAP &&
		      sys_cap_grant(s, EXO_SLOT_SELF, 0, EXO_SLOT_ANY) == -E_BADCAP &&
		      sys_cap_grant(EXO_SLOT_INITRD, s, 0, EXO_SLOT_ANY) == -E_BADCAP &&
		      sys_cap_drop(s) == -E_BADCAP;
	}
	tap_ok(all, "info, derive, grant (both slots), drop on slots -1, "
		    "256, 2^40, ...: -E_BADCAP");
	tap_ok(sys_cap_info(EXO_CAP_SLOTS - 1, &i) == -E_BADCAP &&
		   sys_cap_drop(EXO_CAP_SLOTS - 1) == -E_BADCAP,
	       "an empty slot holds nothing: -E_BADCAP");
	tap_ok(sys_cap_info(EXO_SLOT_SELF, NULL) == -E_FAULT &&
		   sys_cap_info(EXO_SLOT_SELF,
				(struct exo_cap_info *)T_KERNEL_VA) == -E_FAULT &&
		   sys_cap_info(EXO_SLOT_SELF,
				(struct exo_cap_info *)EXO_UVPT) == -E_FAULT,
	       "cap_info into NULL, the kernel or the read-only UVPT: -E_FAULT");
}

static void derive_frames(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, FRAMES, 0), d, dd;
	struct exo_cap_info fi, di;

	if (!tap_ok(f > 0, "frame_alloc: a capability to %u frames", FRAMES))
		return;
	fi = info(f);
	tap_ok(fi.type == EXO_CAP_FRAME && fi.rights == FRAME_RIGHTS &&
		   fi.count == FRAMES && fi.base % EXO_PAGE_SIZE == 0,
	       "its info: FRAME, every frame right, %lu pages at %lx",
	       fi.count, fi.base);
	d = sys_cap_derive(f, EXO_R_READ | EXO_R_GRANT, 1, 2);
	di = info(d);
	tap_ok(d > 0 && di.type == EXO_CAP_FRAME &&
		   di.rights == (EXO_R_READ | EXO_R_GRANT) &&
		   di.base == fi.base + EXO_PAGE_SIZE && di.count == 2,
	       "derive pages 1..2 read+grant: base moves a page, count 2");
	tap_ok(sys_cap_derive(f, EXO_R_READ, FRAMES - 1, 2) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, FRAMES, 1) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, 0, 0) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, 0, FRAMES + 1) == -E_INVAL,
	       "derive past the end, or empty: -E_INVAL");
	tap_ok(sys_cap_derive(f, EXO_R_READ, 1ull << 63, 1) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, 1, ~0ull) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, ~0ull, 2) == -E_INVAL &&
		   sys_cap_derive(f, EXO_R_READ, ~0ull / EXO_PAGE_SIZE, 1) ==
		       -E_INVAL,
	       "derive with offsets and counts that would wrap: -E_INVAL");
	tap_ok(sys_cap_derive(d, EXO_R_READ | EXO_R_WRITE, 0, 1) == -E_PERM &&
		   sys_cap_derive(d, EXO_R_CALL, 0, 1) == -E_PERM,
	       "derive cannot add rights: -E_PERM");
	tap_ok(sys_cap_derive(d, EXO_R_READ, 0, 3) == -E_INVAL &&
		   sys_cap_derive(d, EXO_R_READ, 2, 1) == -E_INVAL,
	       "derive cannot widen the range of a derived cap: -E_INVAL");
	tap_ok(sys_cap_derive(f, EXO_R_ALL + 1, 0, 1) == -E_INVAL &&
		   sys_cap_derive(f, 1ull << 32, 0, 1) == -E_INVAL,
	       "derive with rights outside EXO_R_ALL: -E_INVAL");
	dd = sys_cap_derive(d, EXO_R_READ, 1, 1);
	tap_ok(dd > 0 && info(dd).base == fi.base + 2 * EXO_PAGE_SIZE &&
		   info(dd).count == 1 && info(dd).rights == EXO_R_READ,
	       "a derived cap derives further: page 2 read-only");
	tap_ok(sys_frame_free(d, 0, EXO_FRAME_REST) == -E_PERM && sys_frame_vital(d, 1) == -E_PERM,
	       "without FREE or CONTROL: frame_free, frame_vital -E_PERM");
	sys_cap_drop(dd);
	sys_cap_drop(d);
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

static void derive_others(void)
{
	struct exo_cap_info ts = info(EXO_SLOT_BOOT_SLICES), e;
	uint64_t low = ts.base & -ts.base; /* its lowest slice */
	long s, p, d;

	s = sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_GRANT, low, 0);
	tap_ok(s > 0 && info(s).base == low && info(s).rights == EXO_R_GRANT &&
		   info(s).type == EXO_CAP_TIMESLOTS,
	       "derive a TIMESLOTS cap to one of its slices");
	tap_ok(sys_cap_derive(s, EXO_R_GRANT, ts.base, 0) == -E_INVAL &&
		   sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_GRANT, 0, 0) ==
		       -E_INVAL,
	       "TIMESLOTS: a wider or empty mask is -E_INVAL");
	tap_ok(sys_slot_free(s) == -E_PERM,
	       "slot_free without FREE is -E_PERM");
	sys_cap_drop(s);

	d = sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 0, 0);
	e = info(d);
	tap_ok(d > 0 && e.type == EXO_CAP_ENV && e.rights == EXO_R_READ &&
		   e.object == libos_uenv->id,
	       "derive an ENV cap to ourselves with fewer rights");
	tap_ok(sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 1, 0) == -E_INVAL &&
		   sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 0, 1) == -E_INVAL,
	       "ENV: a non-zero offset or count is -E_INVAL");
	tap_ok(sys_pte_set(d, NULL, 0) == -E_PERM &&
		   sys_slot_alloc(d, 1, 0) == -E_PERM,
	       "an ENV cap without CONTROL cannot map or give slices");
	sys_cap_drop(d);

	p = sys_pct_create(BADGE);
	e = info(p);
	tap_ok(p > 0 && e.type == EXO_CAP_PCT &&
		   e.rights == (EXO_R_CALL | EXO_R_GRANT) && e.base == BADGE &&
		   e.object == libos_uenv->id,
	       "pct_create: a PCT cap to us with our badge");
	d = sys_cap_derive(p, EXO_R_CALL, 0, 0);
	tap_ok(d > 0 && info(d).base == BADGE && info(d).rights == EXO_R_CALL,
	       "a derived PCT cap keeps the badge");
	tap_ok(sys_cap_derive(p, EXO_R_CALL, BADGE + 1, 0) == -E_INVAL,
	       "PCT: no new badge through derive");
	sys_cap_drop(d);
	sys_cap_drop(p);

	d = sys_cap_derive(EXO_SLOT_INITRD, EXO_R_READ, 0, 1);
	tap_ok(d > 0 && info(d).count == 1 &&
		   sys_cap_derive(EXO_SLOT_INITRD, EXO_R_READ | EXO_R_WRITE, 0,
				  1) == -E_PERM,
	       "INITRD: a one-page read cap, but never a writable one");
	sys_cap_drop(d);
}

/*
 * Grants into a slot the granter chooses (a library OS that forks puts
 * each capability where the child's copy of its memory expects it).  c is
 * a child whose slots 0..filled-1 are taken.
 */
static void grant_chosen(long f, long c, long filled)
{
	long s;
	struct exo_cap_info gi;

	tap_ok(sys_cap_grant(f, c, EXO_R_READ, CHOSEN_SLOT) == CHOSEN_SLOT &&
		   sys_cap_grant(EXO_SLOT_INITRD, c, EXO_R_READ, LAST_SLOT) ==
		       LAST_SLOT,
	       "grant into a chosen slot of a child (%d, and the last): "
	       "exactly there",
	       CHOSEN_SLOT);
	tap_ok(sys_cap_grant(f, c, EXO_R_READ, CHOSEN_SLOT) == -E_INVAL &&
		   sys_cap_grant(f, c, EXO_R_READ, LAST_SLOT) == -E_INVAL &&
		   sys_cap_grant(f, c, EXO_R_READ, EXO_SLOT_SELF) == -E_INVAL &&
		   sys_cap_grant(f, c, EXO_R_READ, filled - 1) == -E_INVAL,
	       "into a taken slot (those two, its self, an earlier grant): "
	       "-E_INVAL");
	tap_ok(sys_cap_grant(f, c, EXO_R_READ, EXO_CAP_SLOTS) == -E_INVAL &&
		   sys_cap_grant(f, c, EXO_R_READ, EXO_SLOT_ANY - 1) ==
		       -E_INVAL &&
		   sys_cap_grant(f, c, EXO_R_READ, (long)1 << 40) == -E_INVAL,
	       "into a slot out of range (256, -2, 2^40): -E_INVAL");
	tap_ok(sys_cap_grant(f, c, EXO_R_READ, EXO_SLOT_ANY) == filled,
	       "EXO_SLOT_ANY still takes the lowest free slot (%ld), not one "
	       "after the chosen",
	       filled);
	s = sys_cap_grant(f, EXO_SLOT_SELF, EXO_R_READ, LAST_SLOT);
	gi = info(LAST_SLOT);
	tap_ok(s == LAST_SLOT && gi.type == EXO_CAP_FRAME &&
		   gi.base == info(f).base && gi.rights == EXO_R_READ,
	       "into a chosen slot of our own table: cap_info finds it there");
	sys_cap_drop(LAST_SLOT);
}

static void grants(void)
{
	long f = sys_frame_alloc(EXO_FRAME_ANY, FRAMES, 0), g, weak, w, c;
	uint64_t base = info(f).base;
	struct exo_cap_info gi;

	g = sys_cap_grant(f, EXO_SLOT_SELF, EXO_R_READ | EXO_R_WRITE, EXO_SLOT_ANY);
	gi = info(g);
	tap_ok(g > 0 && gi.type == EXO_CAP_FRAME &&
		   gi.rights == (EXO_R_READ | EXO_R_WRITE) &&
		   gi.count == FRAMES && gi.base == info(f).base,
	       "grant into our own table: the whole range, the rights asked");
	tap_ok(sys_cap_grant(g, EXO_SLOT_SELF, EXO_R_READ, EXO_SLOT_ANY) == -E_PERM,
	       "a cap without GRANT cannot be granted: -E_PERM");
	tap_ok(sys_cap_grant(f, EXO_SLOT_SELF, EXO_R_CALL, EXO_SLOT_ANY) == -E_PERM &&
		   sys_cap_grant(f, EXO_SLOT_SELF, EXO_R_ALL + 1, EXO_SLOT_ANY) == -E_INVAL,
	       "grant cannot add rights (-E_PERM) or pass EXO_R_ALL (-E_INVAL)");
	tap_ok(sys_cap_grant(f, f, EXO_R_READ, EXO_SLOT_ANY) == -E_BADCAP &&
		   sys_cap_grant(f, EXO_SLOT_INITRD, EXO_R_READ, EXO_SLOT_ANY) == -E_BADCAP,
	       "grant to a slot holding no ENV cap: -E_BADCAP");
	weak = sys_cap_derive(EXO_SLOT_SELF, 0, 0, 0);
	w = weak > 0 ? sys_cap_grant(f, weak, EXO_R_READ, EXO_SLOT_ANY) : -1;
	tap_ok(w > 0 && info(w).rights == EXO_R_READ,
	       "granting needs no right on the ENV cap of the receiver");

	c = sys_env_create(CHILD_QUOTA, 0);
	tap_ok(c > 0 && sys_cap_grant(f, c, EXO_R_READ, EXO_SLOT_ANY) == 1 &&
		   sys_cap_grant(EXO_SLOT_INITRD, c, EXO_R_READ, EXO_SLOT_ANY) == 2,
	       "grants into a child fill its table from slot 1");
	grant_chosen(f, c, 3); /* self and those two */
	sys_env_kill(c);
	tap_ok(sys_cap_grant(f, c, EXO_R_READ, EXO_SLOT_ANY) == -E_NOENT,
	       "grant to a dead env: -E_NOENT");
	tap_ok(sys_cap_info(c, &gi) == -E_BADCAP &&
		   sys_cap_drop(c) == E_OK,
	       "an ENV cap to a dead env is dead to cap_info, yet droppable");

	/* Everything derived from or granted of freed frames dies. */
	sys_frame_free(f, 0, EXO_FRAME_REST);
	tap_ok(sys_cap_info(f, &gi) == -E_BADCAP,
	       "frame_free empties the slot it was given");
	tap_ok(sys_cap_info(g, &gi) == -E_BADCAP &&
		   sys_cap_derive(g, EXO_R_READ, 0, 1) == -E_BADCAP &&
		   sys_cap_grant(g, EXO_SLOT_SELF, 0, EXO_SLOT_ANY) == -E_BADCAP &&
		   sys_frame_free(g, 0, EXO_FRAME_REST) == -E_BADCAP &&
		   sys_frame_vital(g, 1) == -E_BADCAP,
	       "a granted copy of freed frames is dead: -E_BADCAP everywhere");
	/* The same frames, allocated again by name: still dead. */
	f = sys_frame_alloc(base, FRAMES, 0);
	tap_ok(f > 0 && sys_cap_info(g, &gi) == -E_BADCAP,
	       "the same frames allocated again do not revive the old cap");
	tap_ok(sys_cap_drop(g) == E_OK && sys_cap_drop(g) == -E_BADCAP,
	       "drop a dead cap, then the slot is empty");
	tap_ok(f > 0 && info(f).base == base, "named allocation: same base");
	sys_frame_free(f, 0, EXO_FRAME_REST);
	sys_cap_drop(weak);
	sys_cap_drop(w);
}

/* Fill our table with derived copies; then nothing more fits. */
static void full_table(void)
{
	struct exo_sysinfo before, after;
	long last = 0, s, n = 0;

	while ((s = sys_cap_derive(EXO_SLOT_SELF, 0, 0, 0)) > 0) {
		last = s;
		n++;
	}
	tap_ok(s == -E_NOMEM && last == EXO_CAP_SLOTS - 1,
	       "derive until the table is full (%ld copies): -E_NOMEM", n);
	sys_sysinfo(&before);
	tap_ok(sys_frame_alloc(EXO_FRAME_ANY, 1, 0) == -E_NOMEM &&
		   sys_pct_create(0) == -E_NOMEM &&
		   sys_cap_grant(EXO_SLOT_SELF, EXO_SLOT_SELF, 0, EXO_SLOT_ANY) == -E_NOMEM &&
		   sys_env_create(CHILD_QUOTA, 0) == -E_NOMEM,
	       "a full table refuses frame_alloc, pct_create, grant, "
	       "env_create");
	sys_sysinfo(&after);
	tap_ok(after.frames_free == before.frames_free,
	       "and the refused calls keep no frame");
	for (s = last; n > 0; s--, n--)
		sys_cap_drop(s);
	tap_ok(sys_cap_info(last, &(struct exo_cap_info){0}) == -E_BADCAP,
	       "dropped again");
}

int main(void)
{
	tap_plan(48);
	boot_caps();
	bad_slot_numbers();
	derive_frames();
	derive_others();
	grants();
	full_table();
	return tap_done();
}
