/*
 * t_sched.c: guest tests of the time-slice vector: SYS_SLOT_FREE and
 * SYS_SLOT_ALLOC (contiguous and spread, quota, bad arguments, the uenv's
 * slots_mask), SYS_YIELD (to no one, donation to a named env that has no
 * slices of its own, bad envids), a child running on a slice given to
 * it, and the prologue and epilogue upcalls: observed by handlers and the
 * uenv's slice counters, an epilogue answered by yielding, and one
 * ignored past its bound (preempted, charged, slices forfeited); an env
 * owning contiguous slots runs them as one slice with no upcalls between,
 * unless it sets EXO_UENV_SLICE_EACH, which gets it an upcall pair per
 * slice.  Expects to run as the only boot env (it starts with every
 * slice).
 */
#include "t_util.h"

#define RW (EXO_MAP_READ | EXO_MAP_WRITE)
#define RAW_QUOTA 16
#define YIELDS 5
#define DONATIONS 5
#define DONATION_TRIES (4 * DONATIONS)
#define SPREAD 4	   /* slices of the spread allocation */
#define SPREAD_MIN_GAP 8   /* of 64: spread means far apart */
#define RUN 4		   /* slices of the contiguous allocation */
#define UPCALLS_WANTED 3   /* prologues and epilogues to see */
#define WAIT_MS 5000	   /* longest wait for upcalls, in TSC time */
#define OWN_SLICE_YIELDS 200 /* our yields until a child's slice comes */
#define BOGUS_ENVID 0x7fffff00u
#define ENV_TABLE_SIZE 64 /* the kernel's env table (NENV) */
#define SLICES_WATCHED 3  /* slices of a contiguous run to watch */

static uint64_t tsc_khz;

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

static unsigned bits(uint64_t m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

static struct exo_env_status me(void)
{
	struct exo_env_status st = {0};

	sys_env_status(EXO_SLOT_SELF, &st);
	return st;
}

static void boot_state(void)
{
	struct exo_sysinfo si;
	struct exo_cap_info ts;

	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	sys_cap_info(EXO_SLOT_BOOT_SLICES, &ts);
	tap_ok(si.nslots == EXO_NSLOTS && si.slice_us > 0 && si.tsc_khz > 0,
	       "sysinfo: %u slots of %lu us", si.nslots, si.slice_us);
	tap_ok(libos_uenv->slice.slots_mask == ~0ull && ts.base == ~0ull &&
		   me().slots_used == EXO_NSLOTS &&
		   me().slot_quota == EXO_NSLOTS,
	       "a lone boot env holds all %u slices", EXO_NSLOTS);
}

static void free_slices(void)
{
	long d = sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_FREE, ~1ull, 0);
	long weak = sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_GRANT, 2, 0);
	struct exo_cap_info ci;

	tap_ok(sys_slot_free(-1) == -E_BADCAP &&
		   sys_slot_free(EXO_SLOT_SELF) == -E_BADCAP &&
		   sys_slot_free(EXO_SLOT_INITRD) == -E_BADCAP &&
		   sys_slot_free(EXO_CAP_SLOTS) == -E_BADCAP,
	       "slot_free on a slot without a TIMESLOTS cap: -E_BADCAP");
	tap_ok(sys_slot_free(weak) == -E_PERM, "slot_free without FREE: -E_PERM");
	sys_cap_drop(weak);
	tap_ok(d > 0 && sys_slot_free(d) == E_OK &&
		   sys_cap_info(d, &ci) == -E_BADCAP,
	       "slot_free of all but slice 0: done, the cap used up");
	tap_ok(libos_uenv->slice.slots_mask == 1 && me().slots_used == 1,
	       "the uenv and our status show one slice left");
}

/* Whether every two bits of m are at least gap apart round the vector. */
static bool spread_out(uint64_t m, unsigned gap)
{
	for (unsigned i = 0; i < EXO_NSLOTS; i++)
		for (unsigned d = 1; d < gap; d++)
			if ((m >> i & 1) && (m >> ((i + d) % EXO_NSLOTS) & 1))
				return false;
	return true;
}

static void alloc_slices(void)
{
	long s = sys_slot_alloc(EXO_SLOT_SELF, SPREAD, 0), r, weak;
	struct exo_cap_info si = {0}, ri = {0};
	uint64_t low;

	sys_cap_info(s, &si);
	tap_ok(s > 0 && si.type == EXO_CAP_TIMESLOTS &&
		   si.object == libos_uenv->id && bits(si.base) == SPREAD &&
		   !(si.base & 1) && spread_out(si.base, SPREAD_MIN_GAP),
	       "slot_alloc of %u: spread over the vector (%lx)", SPREAD,
	       si.base);
	r = sys_slot_alloc(EXO_SLOT_SELF, RUN, EXO_SLOT_CONTIGUOUS);
	sys_cap_info(r, &ri);
	low = ri.base & -ri.base;
	tap_ok(r > 0 && bits(ri.base) == RUN &&
		   ri.base == low * ((1ull << RUN) - 1) &&
		   !(ri.base & (si.base | 1)),
	       "slot_alloc of %u contiguous: adjacent free slices (%lx)", RUN,
	       ri.base);
	tap_ok(libos_uenv->slice.slots_mask == (1 | si.base | ri.base) &&
		   me().slots_used == 1 + SPREAD + RUN,
	       "the uenv mask and our status follow");
	tap_ok(sys_slot_alloc(EXO_SLOT_SELF, 0, 0) == -E_INVAL &&
		   sys_slot_alloc(EXO_SLOT_SELF, EXO_NSLOTS + 1, 0) == -E_INVAL &&
		   sys_slot_alloc(EXO_SLOT_SELF, 1, 2) == -E_INVAL &&
		   sys_slot_alloc(EXO_SLOT_SELF, 1, ~0ull) == -E_INVAL,
	       "slot_alloc of 0, of more than EXO_NSLOTS, unknown flags: "
	       "-E_INVAL");
	weak = sys_cap_derive(EXO_SLOT_SELF, EXO_R_READ, 0, 0);
	tap_ok(sys_slot_alloc(-1, 1, 0) == -E_BADCAP &&
		   sys_slot_alloc(EXO_SLOT_INITRD, 1, 0) == -E_BADCAP &&
		   sys_slot_alloc(weak, 1, 0) == -E_PERM,
	       "slot_alloc for a bad slot -E_BADCAP, without CONTROL -E_PERM");
	sys_cap_drop(weak);
	tap_ok(sys_slot_alloc(EXO_SLOT_SELF,
			      EXO_NSLOTS - 1 - SPREAD - RUN + 1, 0) ==
			   -E_NOMEM &&
		   sys_slot_alloc(EXO_SLOT_SELF, EXO_NSLOTS / 2,
				  EXO_SLOT_CONTIGUOUS) == -E_NOMEM &&
		   me().slots_used == 1 + SPREAD + RUN,
	       "beyond the quota, or no run that long: -E_NOMEM, no charge");
	tap_ok(sys_slot_free(s) == E_OK && sys_slot_free(r) == E_OK &&
		   libos_uenv->slice.slots_mask == 1 && me().slots_used == 1,
	       "both given back");
}

static void yields(void)
{
	uint64_t before = libos_uenv->slice.slices;
	bool all = true;

	for (unsigned i = 0; i < YIELDS; i++)
		all = all && sys_yield(EXO_ENV_NONE) == E_OK;
	tap_ok(all && libos_uenv->slice.slices >= before + YIELDS,
	       "yield to no one: 0, and each starts a new slice of ours");
	tap_ok(sys_yield(BOGUS_ENVID) == -E_NOENT &&
		   sys_yield(libos_uenv->id + (1u << 8)) == -E_NOENT,
	       "yield to an envid no env has: -E_NOENT");
	tap_ok(sys_yield(ENV_TABLE_SIZE) == -E_NOENT &&
		   sys_yield(0xff) == -E_NOENT && sys_yield(~0u) == -E_NOENT,
	       "yield to an envid whose index is past the env table: "
	       "-E_NOENT");
	tap_ok(sys_yield(libos_uenv->id) == E_OK,
	       "yield to ourselves: just a yield");
}

/* A hand-built child that counts in a page we share, then yields. */
static void donation(void)
{
	volatile uint64_t *count = (volatile uint64_t *)T_VA(2);
	long page = libos_map_new(T_VA(2), 1, RW, 0), code = -1, c, s;
	exo_envid_t id;
	bool ran = false, once = true;
	unsigned donated;

	c = t_raw_child(t_code_count_yield, sizeof(t_code_count_yield),
			RAW_QUOTA, 0, &code);
	id = c > 0 ? t_env_id(c) : EXO_ENV_NONE;
	tap_ok(c > 0 && libos_map(c, T_RAW_COUNTER, page, 0, 1, RW) == E_OK &&
		   sys_env_start(c) == E_OK,
	       "a child with no slices that counts and yields");
	for (unsigned i = 0; i < YIELDS; i++)
		sys_yield(EXO_ENV_NONE);
	tap_ok(*count == 0, "with no slices of its own it never runs");
	/*
	 * A slice may end before the donee runs (a loaded host), so donate
	 * until it has run DONATIONS times: never more than once a donation.
	 */
	for (donated = 0; *count < DONATIONS && donated < DONATION_TRIES;) {
		sys_yield(id);
		once = once && *count <= ++donated;
	}
	tap_ok(*count == DONATIONS && once,
	       "each donation runs it at most once, then we run again "
	       "(%u donations)",
	       donated);
	/* A slice of its own: it runs while we only yield. */
	s = sys_env_set_quota(c, RAW_QUOTA, 1) == E_OK
		? sys_slot_alloc(c, 1, 0)
		: -1;
	for (unsigned i = 0; s > 0 && i < OWN_SLICE_YIELDS && !ran; i++) {
		sys_yield(EXO_ENV_NONE);
		ran = *count > DONATIONS;
	}
	tap_ok(s > 0 && ran, "given a slice, it runs in its turn");
	sys_env_kill(c);
	sys_cap_drop(c);
	sys_cap_drop(s);
	sys_frame_free(code, 0, EXO_FRAME_REST);
	sys_frame_free(page, 0, EXO_FRAME_REST);
}

/* ---- Prologue and epilogue upcalls ---------------------------------------- */

static volatile uint64_t prologues, epilogues;
static volatile bool epilogue_yields;

static void on_prologue(struct exo_upcall_frame *f)
{
	(void)f;
	prologues++;
}

static void on_epilogue(struct exo_upcall_frame *f)
{
	(void)f;
	epilogues++;
	if (epilogue_yields)
		sys_yield(EXO_ENV_NONE);
}

/* Wait (in TSC time) until cond holds, entering the kernel as we go. */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		uint64_t t0_ = rdtsc();                                        \
		struct exo_sysinfo si_;                                        \
		while (!(cond) && rdtsc() - t0_ < WAIT_MS * tsc_khz)           \
			sys_sysinfo(&si_);                                     \
	} while (0)

static void upcalls(void)
{
	volatile struct exo_uenv *u = libos_uenv;
	uint64_t slices0 = u->slice.slices, forced0 = u->slice.forced;
	uint64_t start0 = u->slice.slice_start_tsc;

	/* One slice (slot 0), followed by free ones: every slice ends. */
	epilogue_yields = true;
	libos_set_handler(EXO_UPCALL_PROLOGUE, on_prologue);
	libos_set_handler(EXO_UPCALL_EPILOGUE, on_epilogue);
	WAIT_FOR(prologues >= UPCALLS_WANTED && epilogues >= UPCALLS_WANTED);
	tap_ok(prologues >= UPCALLS_WANTED,
	       "prologue upcalls at slice starts (%lu)", prologues);
	tap_ok(epilogues >= UPCALLS_WANTED,
	       "epilogue upcalls at slice ends (%lu)", epilogues);
	tap_ok(u->slice.slices >= slices0 + UPCALLS_WANTED &&
		   u->slice.slice_start_tsc > start0 &&
		   u->slice.forced == forced0,
	       "uenv: %lu slices more, none forced (epilogues yielded)",
	       u->slice.slices - slices0);

	/* An epilogue ignored: preempted at the bound, charged. */
	epilogue_yields = false;
	forced0 = u->slice.forced;
	{
		uint64_t t0 = rdtsc();

		while (u->slice.forced == forced0 &&
		       rdtsc() - t0 < WAIT_MS * tsc_khz)
			; /* no system call: we never yield */
	}
	tap_ok(u->slice.forced > forced0,
	       "an epilogue not answered: preempted by force (forced %lu)",
	       u->slice.forced);
	WAIT_FOR(u->slice.slices_forfeited > 0);
	tap_ok(u->slice.slices_forfeited > 0,
	       "and charged: slices forfeited (%lu)",
	       u->slice.slices_forfeited);
	libos_set_handler(EXO_UPCALL_EPILOGUE, NULL);
	libos_set_handler(EXO_UPCALL_PROLOGUE, NULL);
}

/*
 * Every slot ours: one contiguous run round the whole vector.  Without
 * EXO_UENV_SLICE_EACH that is one endless slice: the slice count grows
 * and no upcall comes at all, an exact count however slow the host.  With
 * it each slice ends with an epilogue (answered by yielding) and the next
 * starts with a prologue.
 */
static void slice_each(void)
{
	volatile struct exo_uenv *u = libos_uenv;
	long all = sys_slot_alloc(EXO_SLOT_SELF, EXO_NSLOTS - 1,
				  EXO_SLOT_CONTIGUOUS);
	uint64_t slices0, forced0, slices;

	tap_ok(all > 0 && u->slice.slots_mask == ~0ull,
	       "every slot ours again: one run round the vector");
	/*
	 * A fresh slice, begun before the handlers are in: nothing left
	 * pending (or in its grace period) from the last test's epilogues.
	 */
	sys_yield(EXO_ENV_NONE);
	prologues = epilogues = 0;
	epilogue_yields = true;
	libos_set_handler(EXO_UPCALL_PROLOGUE, on_prologue);
	libos_set_handler(EXO_UPCALL_EPILOGUE, on_epilogue);
	slices0 = u->slice.slices;
	WAIT_FOR(u->slice.slices >= slices0 + SLICES_WATCHED);
	slices = u->slice.slices - slices0;
	tap_ok(slices >= SLICES_WATCHED && epilogues == 0 && prologues == 0,
	       "without EXO_UENV_SLICE_EACH: %lu slices in a row, no upcall "
	       "between them",
	       slices);

	forced0 = u->slice.forced;
	slices0 = u->slice.slices;
	u->flags |= EXO_UENV_SLICE_EACH;
	WAIT_FOR(epilogues >= SLICES_WATCHED && prologues >= SLICES_WATCHED);
	slices = u->slice.slices - slices0;
	/* One more slice may have begun while we read the counters. */
	tap_ok(epilogues >= SLICES_WATCHED && prologues >= SLICES_WATCHED &&
		   slices <= epilogues + 1 && u->slice.forced == forced0,
	       "with it: an epilogue and a prologue at each slice (%lu and "
	       "%lu in %lu slices), none forced",
	       epilogues, prologues, slices);
	u->flags &= ~EXO_UENV_SLICE_EACH;
	libos_set_handler(EXO_UPCALL_EPILOGUE, NULL);
	libos_set_handler(EXO_UPCALL_PROLOGUE, NULL);
	tap_ok(sys_slot_free(all) == E_OK && u->slice.slots_mask == 1,
	       "given back: slice 0 alone again");
}

int main(void)
{
	tap_plan(30);
	boot_state();
	free_slices();
	alloc_slices();
	yields();
	donation();
	upcalls();
	slice_each();
	return tap_done();
}
