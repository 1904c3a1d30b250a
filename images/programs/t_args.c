/*
 * t_args.c: guest tests of the kernel's argument checking: every call
 * that takes a pointer given NULL, unmapped, kernel, direct-map,
 * non-canonical and wrapping addresses (and, for the calls that write,
 * our read-only text and the UVPT) returns -E_FAULT; buffers straddling
 * a mapped and an unmapped page; huge lengths and counts; call numbers
 * and slots with high bits set; every call given junk in every register
 * fails cleanly.  Through all of it the kernel keeps serving us and no
 * frame goes missing.
 */
#include "t_util.h"

#define RW (EXO_MAP_READ | EXO_MAP_WRITE)
#define RAW_QUOTA 16
#define EXIT_CODE 42
#define OTHER_CODE 9
#define CONS_LINE 16 /* "# straddle ...\n" */
#define CONS_TAIL 256 /* bytes at the end of the page printed */
#define TEXT_VA 0x400000ull /* our own text: mapped, read-only */
#define USER_TOP 0x00007ffffffff000ull /* the last user page (unmapped) */

/* Addresses no call may read from or write to. */
static const uint64_t bad_ptrs[] = {
    0,
    T_UNMAPPED_VA,
    EXO_USER_MAP_LIMIT - T_PAGE, /* mappable, never mapped here */
    USER_TOP,
    T_KERNEL_VA,
    T_KERNEL_TEXT_VA,
    T_DIRECT_MAP_VA,
    T_NONCANONICAL,
    ~0ull - 7,
};
#define NBAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))

/* And these no call may write to. */
static const uint64_t read_only_ptrs[] = {TEXT_VA, EXO_UVPT};
#define NRO (sizeof(read_only_ptrs) / sizeof(read_only_ptrs[0]))

static long child;

static long sc(long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return libos_syscall(nr, (long)a0, (long)a1, (long)a2, 0, 0, 0);
}

/* Each pointer-taking call with p in its pointer argument. */
static bool all_fault(uint64_t p, bool writes_only)
{
	bool ok = sc(SYS_SYSINFO, p, 0, 0) == -E_FAULT &&
		  sc(SYS_CAP_INFO, EXO_SLOT_SELF, p, 0) == -E_FAULT &&
		  sc(SYS_ENV_STATUS, EXO_SLOT_SELF, p, 0) == -E_FAULT &&
		  sc(SYS_BATCH, p, 1, 0) == -E_FAULT &&
		  sc(SYS_PTE_SET, EXO_SLOT_SELF, p, 1) == -E_FAULT;

	if (writes_only) /* BATCH and PTE_SET write results back */
		return ok;
	return ok && sc(SYS_CONS_WRITE, p, CONS_LINE, 0) == -E_FAULT &&
	       sc(SYS_ENV_SET_REGS, child, p, 0) == -E_FAULT;
}

static void pointers(void)
{
	bool ok = true;

	for (unsigned i = 0; i < NBAD; i++) {
		bool f = all_fault(bad_ptrs[i], false);

		if (!f)
			tap_diag("not -E_FAULT everywhere: %lx", bad_ptrs[i]);
		ok = ok && f;
	}
	tap_ok(ok, "cons_write, batch, sysinfo, cap_info, pte_set, set_regs, "
		   "env_status at NULL, unmapped, kernel, direct-map, "
		   "non-canonical, wrapping addresses: -E_FAULT");
	ok = true;
	for (unsigned i = 0; i < NRO; i++)
		ok = ok && all_fault(read_only_ptrs[i], true);
	tap_ok(ok, "the calls that write, into our read-only text or the "
		   "UVPT: -E_FAULT");
	tap_ok(*(volatile uint32_t *)TEXT_VA != 0,
	       "(our text is still there)");
}

static void lengths(void)
{
	uint64_t page = T_VA(1);
	char *tail = (char *)(page + T_PAGE - CONS_TAIL);
	long f = libos_map_new(page, 1, RW, 0);

	/* The page's last bytes: comment lines, so TAP ignores them. */
	for (unsigned i = 0; i < CONS_TAIL; i += CONS_LINE)
		memcpy(tail + i, "# straddle ....\n", CONS_LINE);
	tap_ok(sys_cons_write(tail, CONS_TAIL) == CONS_TAIL,
	       "cons_write of the page's last bytes: all of them");
	tap_ok(sys_cons_write(tail, CONS_TAIL + 1) == -E_FAULT &&
		   sys_cons_write((const char *)page + T_PAGE - 1, 2) ==
		       -E_FAULT,
	       "cons_write of a buffer running off its page: -E_FAULT "
	       "(and nothing printed)");
	tap_ok(sys_cons_write(tail, EXO_CONS_WRITE_MAX + 1) == -E_INVAL &&
		   sys_cons_write(tail, ~0ull) == -E_INVAL &&
		   sys_cons_write(tail, 1ull << 63) == -E_INVAL,
	       "cons_write of more than EXO_CONS_WRITE_MAX bytes: -E_INVAL");
	tap_ok(sys_cons_write((const void *)(USER_TOP + T_PAGE - CONS_LINE),
			      2 * CONS_LINE) == -E_FAULT &&
		   sys_cons_write((const void *)(~0ull - 7), CONS_LINE) ==
		       -E_FAULT,
	       "cons_write past the user half or wrapping: -E_FAULT");
	tap_ok(sys_cons_write(NULL, 0) == 0 &&
		   sys_cons_write((const void *)T_UNMAPPED_VA, 0) == 0,
	       "cons_write of nothing, even from unmapped memory: 0");
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

/* Structures the kernel reads or writes, ending past a mapped page. */
static void straddles(void)
{
	uint64_t page = T_VA(2), end = page + T_PAGE;
	long f = libos_map_new(page, 1, RW, 0);
	struct exo_regs regs = {.rip = T_RAW_TEXT, .rdi = OTHER_CODE};
	struct exo_regs *r = (struct exo_regs *)(end - sizeof(regs) / 2);

	memcpy(r, &regs, sizeof(regs) / 2);
	tap_ok(sys_sysinfo((struct exo_sysinfo *)(end - 8)) == -E_FAULT &&
		   sys_cap_info(EXO_SLOT_SELF,
				(struct exo_cap_info *)(end - 8)) == -E_FAULT &&
		   sys_env_status(EXO_SLOT_SELF,
				  (struct exo_env_status *)(end - 8)) ==
		       -E_FAULT,
	       "sysinfo, cap_info, env_status into a straddling buffer: "
	       "-E_FAULT");
	tap_ok(sys_env_set_regs(child, r) == -E_FAULT,
	       "set_regs from straddling registers: -E_FAULT");
	tap_ok(sys_env_start(child) == E_OK && t_wait(child) == EXIT_CODE,
	       "and the child's registers did not change (it exits %d)",
	       EXIT_CODE);
	sys_frame_free(f, 0, EXO_FRAME_REST);
}

/* Numbers with high bits set must not be cut down to valid ones. */
static void wide_numbers(void)
{
	struct exo_cap_info ci;
	const uint64_t high = 1ull << 32;

	tap_ok(sc(SYS_SYSINFO | high, (uint64_t)&ci, 0, 0) == -E_NOSYS &&
		   sc(SYS_NCALLS, 0, 0, 0) == -E_NOSYS &&
		   sc(~0ull, 0, 0, 0) == -E_NOSYS &&
		   sc(-(long)SYS_NCALLS, 0, 0, 0) == -E_NOSYS,
	       "call numbers past the table, or with high bits: -E_NOSYS");
	tap_ok(sc(SYS_CAP_INFO, high | EXO_SLOT_SELF, (uint64_t)&ci, 0) ==
			   -E_BADCAP &&
		   sc(SYS_CAP_DROP, high | EXO_SLOT_SELF, 0, 0) == -E_BADCAP &&
		   sc(SYS_ENV_STATUS, high, (uint64_t)&ci, 0) == -E_BADCAP &&
		   sys_cap_info(EXO_SLOT_SELF, &ci) == E_OK,
	       "slots with high bits: -E_BADCAP (slot 0 untouched)");
	tap_ok(sys_frame_alloc(EXO_FRAME_ANY, high | 1, 0) == -E_INVAL &&
		   sys_slot_alloc(EXO_SLOT_SELF, high | 1, 0) == -E_INVAL &&
		   sys_env_create(RAW_QUOTA, high | 1) == -E_INVAL &&
		   sc(SYS_FRAME_VITAL, EXO_SLOT_SELF, high | 1, 0) == -E_BADCAP &&
		   sys_pte_set(EXO_SLOT_SELF, NULL, high | 1) == -E_INVAL &&
		   sys_batch(NULL, high | 1) == -E_INVAL,
	       "counts with high bits: -E_INVAL");
}

/* Every call, every register full of junk: an error, never a crash. */
static void junk(void)
{
	static const uint64_t patterns[] = {~0ull, T_KERNEL_VA, T_NONCANONICAL,
					    0x4141414141414141ull};
	bool ok = true;

	for (unsigned p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++)
		for (long nr = 0; nr < SYS_NCALLS; nr++) {
			long j = (long)patterns[p], r;

			if (nr == SYS_ENV_EXIT)
				continue; /* would end us (t_env tests it) */
			r = libos_syscall(nr, j, j, j, j, j, j);
			if (nr == SYS_PCT_CREATE && r > 0) {
				sys_cap_drop(r); /* any badge is a badge */
				continue;
			}
			if (r >= 0 || r <= -E_NERRORS) {
				tap_diag("call %ld with %lx: %ld", nr,
					 patterns[p], r);
				ok = false;
			}
		}
	tap_ok(ok, "every call with junk in every register: a -E_* code");
}

int main(void)
{
	struct exo_sysinfo before, after;
	long code = -1;

	tap_plan(17);
	t_warm(T_VA(0));
	t_warm(T_VA(1));
	t_warm(T_VA(2));
	sys_sysinfo(&before);
	child = t_raw_child(t_code_exit_rdi, sizeof(t_code_exit_rdi),
			    RAW_QUOTA, EXIT_CODE, &code);
	pointers();
	lengths();
	wide_numbers();
	junk();
	straddles();
	sys_cap_drop(child);
	sys_frame_free(code, 0, EXO_FRAME_REST);
	tap_ok(sys_sysinfo(&after) == E_OK && after.self == before.self,
	       "the kernel still serves us");
	tap_ok(after.frames_free == before.frames_free,
	       "and not a frame went missing (%lu free)", after.frames_free);
	return tap_done();
}
