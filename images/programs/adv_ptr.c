/*
 * adv_ptr.c: an adversary that hands the kernel bad pointers and sizes:
 * kernel addresses (the kernel image, the direct map), non-canonical
 * ones, unmapped and read-only user memory, the read-only UVPT view,
 * buffers that run off the end of what is mapped, and lengths and counts
 * that wrap or exceed their limits, to every call that takes a pointer
 * (cons_write, sysinfo, cap_info, pte_set, batch, env_set_regs,
 * env_status), plus call numbers that do not exist.  Owned by the
 * adversarial boot tests (tests/boot/adversarial.sh), which run it as
 * `run=adv_ptr,good`.  Each call must return its documented error
 * (E_FAULT for memory, E_INVAL for counts, E_NOSYS for numbers) and the
 * kernel must stay up; it exits 0 when all did.
 */
#include "libos.h"

#define KERNEL_TEXT 0xffffffff80100000ull /* EXO_KERNBASE + load address */
#define DIRECT_MAP 0xffff800000000000ull  /* physical 0 in the direct map */
#define DIRECT_MAP_KERNEL (DIRECT_MAP + 0x100000)
#define NONCANON_LOW 0x0000800000000000ull /* first non-canonical address */
#define NONCANON_HIGH 0xdead00000000beefull
#define USER_HALF_END 0x0000800000000000ull
#define TEXT 0x400000ull /* this program's code: mapped, not writable */
#define PAGE_VA 0x20000000ull /* one page mapped here, nothing above */
#define SENTINEL (-1000)

static const uint64_t bad_ptrs[] = {
	KERNEL_TEXT,
	DIRECT_MAP,
	DIRECT_MAP_KERNEL,
	0xfffffffffffff000ull,
	NONCANON_LOW,
	NONCANON_HIGH,
	0x8000000000000000ull,
	0,	       /* NULL: the first 4 MiB are never mapped */
	0x1000,
	EXO_USER_MAP_LIMIT, /* nothing is mapped between it and the uenv */
	USER_HALF_END - 8,  /* straddles the end of the user half */
};
#define NBAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))

/* A read-only batch in .rodata: allocate a frame. */
static const struct exo_syscall ro_batch[1] = {
	{SYS_FRAME_ALLOC, {EXO_FRAME_ANY, 1, 0, 0, 0, 0}, SENTINEL}};

/* A read-only ops vector in .rodata: map a page of the initrd. */
static const struct exo_pte_op ro_ops[1] = {
	{PAGE_VA + 3 * EXO_PAGE_SIZE, EXO_SLOT_INITRD, 0, EXO_MAP_READ,
	 SENTINEL}};

static void want(const char *what, long got, long expect)
{
	tap_ok(got == expect, "%s: %ld (want %ld)", what, got, expect);
}

/* Run fn on every bad pointer; each must give E_FAULT. */
static void all_fault(const char *what, long (*fn)(uint64_t p))
{
	unsigned bad = 0;

	for (unsigned i = 0; i < NBAD; i++) {
		long r = fn(bad_ptrs[i]);

		if (r != -E_FAULT) {
			tap_diag("%s(0x%lx): %ld", what,
				 (unsigned long)bad_ptrs[i], r);
			bad++;
		}
	}
	tap_ok(bad == 0, "%s: all %u bad pointers E_FAULT", what,
	       (unsigned)NBAD);
}

static long child; /* an ENV slot of a child, for env_set_regs */

static long try_cons(uint64_t p) { return sys_cons_write((void *)p, 16); }
static long try_sysinfo(uint64_t p)
{
	return sys_sysinfo((struct exo_sysinfo *)p);
}
static long try_cap_info(uint64_t p)
{
	return sys_cap_info(EXO_SLOT_SELF, (struct exo_cap_info *)p);
}
static long try_pte_set(uint64_t p)
{
	return sys_pte_set(EXO_SLOT_SELF, (struct exo_pte_op *)p, 1);
}
static long try_batch(uint64_t p)
{
	return sys_batch((struct exo_syscall *)p, 1);
}
static long try_set_regs(uint64_t p)
{
	return sys_env_set_regs(child, (const struct exo_regs *)p);
}
static long try_status(uint64_t p)
{
	return sys_env_status(EXO_SLOT_SELF, (struct exo_env_status *)p);
}
static long try_status_child(uint64_t p)
{
	return sys_env_status(child, (struct exo_env_status *)p);
}

/* One op of a batch, run alone: the batch's return and the op's result. */
static long batch1(uint64_t nr, uint64_t a0, uint64_t a1, int64_t *result)
{
	struct exo_syscall op = {nr, {a0, a1, 0, 0, 0, 0}, SENTINEL};
	long r = sys_batch(&op, 1);

	*result = op.result;
	return r;
}

static uint64_t pte_of(uint64_t va)
{
	for (int level = 4; level > 1; level--)
		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return 0;
	return *EXO_UVPT_ENTRY(va, 1);
}

int main(void)
{
	struct exo_sysinfo info0, info1;
	struct exo_env_status st;
	struct exo_regs regs = {0};
	struct exo_syscall ops[EXO_BATCH_MAX + 1];
	struct exo_pte_op pops[2];
	char *page = (char *)PAGE_VA;
	char *line = page + EXO_PAGE_SIZE - 256;
	uint64_t regs_va, used;
	int64_t res;
	long r, r2, slot;
	bool applied;

	tap_plan(50);
	r = sys_sysinfo(&info0);
	want("sysinfo into its own stack", r, 0);
	slot = libos_map_new(PAGE_VA, 1, EXO_MAP_READ | EXO_MAP_WRITE, 0);
	tap_ok(slot > 0, "one page at 0x%lx, nothing mapped above it: slot %ld",
	       (unsigned long)PAGE_VA, slot);
	child = sys_env_create(16, 0);
	tap_ok(child > 0, "a child env, never started: slot %ld", child);

	/* Every pointer-taking call with every bad pointer. */
	all_fault("cons_write", try_cons);
	all_fault("sysinfo", try_sysinfo);
	all_fault("cap_info", try_cap_info);
	all_fault("pte_set", try_pte_set);
	all_fault("batch", try_batch);
	all_fault("env_set_regs", try_set_regs);
	all_fault("env_status", try_status);
	all_fault("env_status of the child", try_status_child);

	/* Memory it has, but not writable where the kernel must write. */
	want("sysinfo into its code", sys_sysinfo((void *)TEXT), -E_FAULT);
	want("sysinfo into the UVPT view", sys_sysinfo((void *)EXO_UVPT),
	     -E_FAULT);
	want("cap_info into its code",
	     sys_cap_info(EXO_SLOT_SELF, (void *)TEXT), -E_FAULT);
	want("env_status into the UVPT view",
	     sys_env_status(EXO_SLOT_SELF, (void *)EXO_UVPT), -E_FAULT);
	want("sysinfo across the end of its page",
	     sys_sysinfo((void *)(PAGE_VA + EXO_PAGE_SIZE - 8)), -E_FAULT);

	/*
	 * Lengths.  The buffer is the page's last 256 bytes, one printable
	 * line, so that a kernel that prints before it checks shows one line.
	 * A length above EXO_CONS_WRITE_MAX is refused (E_INVAL), nothing
	 * printed; a buffer is checked whole before anything is printed, so
	 * one that runs into unmapped memory is E_FAULT.
	 */
	memset(line, '.', 255);
	memcpy(line, "# partial write: ", 17);
	line[255] = '\n';
	want("cons_write of 2^64 - 1 bytes", sys_cons_write(line, ~0ull),
	     -E_INVAL);
	want("cons_write of 2^63 bytes", sys_cons_write(line, 1ull << 63),
	     -E_INVAL);
	want("cons_write of 2^47 bytes", sys_cons_write(line, 1ull << 47),
	     -E_INVAL);
	want("cons_write of 0 bytes at a kernel address",
	     sys_cons_write((void *)KERNEL_TEXT, 0), -E_FAULT);
	r = sys_cons_write(line, 1000);
	tap_ok(r == -E_FAULT, "cons_write running 744 bytes off its page: %ld",
	       r);
	want("cons_write starting 16 bytes before the end of its page",
	     sys_cons_write(page + EXO_PAGE_SIZE - 16, 32), -E_FAULT);

	/* pte_set counts and vectors. */
	want("pte_set with 513 ops",
	     sys_pte_set(EXO_SLOT_SELF, pops, EXO_PTE_OPS_MAX + 1), -E_INVAL);
	want("pte_set with 2^64 - 1 ops", sys_pte_set(EXO_SLOT_SELF, pops, ~0ul),
	     -E_INVAL);
	want("pte_set with 0 ops at a kernel address",
	     sys_pte_set(EXO_SLOT_SELF, (void *)KERNEL_TEXT, 0), -E_FAULT);
	/* Two ops whose second lies past the end of the page. */
	memcpy(page + EXO_PAGE_SIZE - sizeof(pops[0]),
	       &(struct exo_pte_op){PAGE_VA + 2 * EXO_PAGE_SIZE, (uint32_t)slot,
				    0, EXO_MAP_READ, SENTINEL},
	       sizeof(pops[0]));
	r = sys_pte_set(EXO_SLOT_SELF,
			(void *)(page + EXO_PAGE_SIZE - sizeof(pops[0])), 2);
	tap_ok(r == -E_FAULT && pte_of(PAGE_VA + 2 * EXO_PAGE_SIZE) == 0,
	       "pte_set whose second op is unmapped: %ld, nothing applied",
	       r);
	/*
	 * A read-only vector: the op can be read but its result not
	 * written.  Either the call says the op was done, or it says
	 * E_FAULT and the op did not happen: never E_FAULT for an op that
	 * took effect.
	 */
	r = sys_pte_set(EXO_SLOT_SELF, (struct exo_pte_op *)ro_ops, 1);
	applied = pte_of(ro_ops[0].va) != 0;
	tap_ok((r == -E_FAULT && !applied) || (r == 1 && applied),
	       "pte_set with a read-only vector: %ld, the op %s", r,
	       applied ? "applied" : "not applied");

	/* batch. */
	want("batch of 65 ops", sys_batch(ops, EXO_BATCH_MAX + 1), -E_INVAL);
	want("batch of 2^64 - 1 ops", sys_batch(ops, ~0ul), -E_INVAL);
	r = batch1(SYS_CONS_WRITE, KERNEL_TEXT, 16, &res);
	tap_ok(r == 0 && res == -E_FAULT,
	       "batch: cons_write of kernel memory: %ld done, result %ld", r,
	       (long)res);
	r = batch1(SYS_SYSINFO, DIRECT_MAP, 0, &res);
	tap_ok(r == 0 && res == -E_FAULT,
	       "batch: sysinfo into the direct map: %ld done, result %ld", r,
	       (long)res);
	r = batch1(SYS_BATCH, (uint64_t)ops, 1, &res);
	tap_ok(r == 0 && res == -E_INVAL, "batch: a nested batch: %ld, %ld", r,
	       (long)res);
	r = batch1(SYS_ENV_EXIT, 0, 0, &res);
	tap_ok(r == 0 && res == -E_INVAL, "batch: env_exit refused: %ld, %ld",
	       r, (long)res);
	r = batch1(SYS_YIELD, 0, 0, &res);
	tap_ok(r == 0 && res == -E_INVAL, "batch: yield refused: %ld, %ld", r,
	       (long)res);
	r = batch1(SYS_PCT_RETURN, 0, 0, &res);
	tap_ok(r == 0 && res == -E_INVAL, "batch: pct_return refused: %ld, %ld",
	       r, (long)res);
	r = batch1(SYS_NCALLS, 0, 0, &res);
	tap_ok(r == 0 && res == -E_NOSYS, "batch: call %d: %ld, %ld",
	       SYS_NCALLS, r, (long)res);
	r = batch1(~0ull, 0, 0, &res);
	tap_ok(r == 0 && res == -E_NOSYS, "batch: call 2^64 - 1: %ld, %ld", r,
	       (long)res);
	/* A read-only batch: the same rule as for pte_set. */
	r = sys_env_status(EXO_SLOT_SELF, &st);
	used = st.frames_used;
	r = sys_batch((struct exo_syscall *)ro_batch, 1);
	r2 = sys_env_status(EXO_SLOT_SELF, &st);
	tap_ok(r2 == 0 && ((r == -E_FAULT && st.frames_used == used) ||
			   (r == 1 && st.frames_used == used + 1)),
	       "batch of a frame_alloc with a read-only vector: %ld, frames "
	       "used %lu -> %lu",
	       r, (unsigned long)used, (unsigned long)st.frames_used);
	/* A vector whose second op lies past the end of the page. */
	memcpy(page + EXO_PAGE_SIZE - sizeof(ops[0]),
	       &(struct exo_syscall){SYS_SYSINFO, {(uint64_t)&info1}, SENTINEL},
	       sizeof(ops[0]));
	r = sys_batch((void *)(page + EXO_PAGE_SIZE - sizeof(ops[0])), 2);
	tap_ok(r == -E_FAULT, "batch whose second op is unmapped: %ld", r);

	/* Raw call numbers. */
	want("call number SYS_NCALLS",
	     libos_syscall(SYS_NCALLS, 0, 0, 0, 0, 0, 0), -E_NOSYS);
	want("call number -1", libos_syscall(-1, 0, 0, 0, 0, 0, 0), -E_NOSYS);
	want("call number 2^32", libos_syscall(1l << 32, 0, 0, 0, 0, 0, 0),
	     -E_NOSYS);

	/* env_set_regs: where the child would start. */
	regs.rip = KERNEL_TEXT;
	want("child rip in the kernel", sys_env_set_regs(child, &regs),
	     -E_INVAL);
	regs.rip = NONCANON_LOW;
	want("child rip non-canonical", sys_env_set_regs(child, &regs),
	     -E_INVAL);
	regs.rip = EXO_UVPT;
	want("child rip in the UVPT view", sys_env_set_regs(child, &regs),
	     -E_INVAL);
	regs.rip = TEXT;
	want("its own registers (it is running)",
	     sys_env_set_regs(EXO_SLOT_SELF, &regs), -E_BUSY);
	/* A regs struct straddling the end of its page. */
	regs_va = PAGE_VA + EXO_PAGE_SIZE - 16;
	want("regs running off its page",
	     sys_env_set_regs(child, (void *)regs_va), -E_FAULT);
	r = sys_env_status(child, &st);
	tap_ok(r == 0 && st.state == EXO_ENV_STATE_CREATED,
	       "the child is untouched: state %u", st.state);

	/* The kernel is alive and sane. */
	r = sys_sysinfo(&info1);
	tap_ok(r == 0 && info1.self == info0.self &&
		   info1.frames_total == info0.frames_total &&
		   info1.tsc_khz == info0.tsc_khz,
	       "sysinfo still answers the same");
	want("kill the child", sys_env_kill(child), 0);
	return tap_done();
}
