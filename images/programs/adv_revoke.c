/*
 * adv_revoke.c: a child env that ignores a revocation request, and the
 * parent that makes the request and watches the kernel take the frames
 * back by force.  Owned by the adversarial boot tests
 * (tests/boot/adversarial.sh), which run it as `run=adv_revoke,good` with
 * a short revocation grace (revoke=20ms).
 *
 * The parent (this boot env) makes the child with a small loader of its
 * own: it copies every page of its own image (found through the UVPT
 * view) into fresh frames mapped at the same addresses in the child,
 * gives it a stack and a shared "mailbox" page, one of its own time
 * slots, and starts it at child_main.  The child installs a revocation
 * handler that only notes the request (and ignores it) and a
 * repossession handler, marks its upcall stack vital, allocates
 * CHILD_DATA frames, maps and fills them, and reports ready.  The parent
 * then lowers the child's frame quota by GIVE_BACK.  After the deadline
 * the kernel must take GIVE_BACK of the child's non-vital data frames
 * itself: the child's uenv repossession vector (reposs.seq, nframes,
 * frames[]) must name exactly the lowest GIVE_BACK of them, those pages
 * must be unmapped, its capability dead for them (and alive for the
 * rest: liveness is per page), the vital upcall stack
 * spared (the repossession upcall still runs on it) and the kernel must
 * log "deadline passed, repossessed 5 frames and 0 slots".  The child
 * copies what it saw into the mailbox, where the parent checks it.
 *
 * Everyone keeps yielding while waiting, as a library OS would; if the
 * kernel repossesses only when a slice runs out, the first wait sees
 * nothing, and the parent spins for a few slices (phase B) so the
 * rest of the protocol can still be checked.
 */
#include "libos.h"

#define CHILD_FRAME_QUOTA 48
#define CHILD_DATA 8 /* frames the child allocates and maps */
#define GIVE_BACK 5  /* how far the parent lowers the child's quota */
#define IMAGE_LO 0x400000ull
#define IMAGE_HI 0x600000ull /* one page table's worth */
#define IMAGE_MAX 32
#define COPY_VA 0x28000000ull	 /* the parent's window onto the copies */
#define MAILBOX_VA 0x30000000ull /* the shared page, in both */
#define DATA_VA 0x38000000ull	 /* the child's data frames */
#define CHILD_STACK_PAGES 2
#define WAIT_MS 1500	    /* for the child at each step */
#define PHASE_B_SPIN_MS 60  /* several whole slices without a yield */
#define STAGE_READY 1
#define STAGE_DONE 2
#define STAGE_FAILED 99

struct mailbox {
	volatile uint64_t stage, why;
	uint64_t data_base, data_slot, stack_slot;
	uint64_t revoke_upcalls, revoke_seq, revoke_frames_over;
	uint64_t revoke_frame_quota, revoke_deadline_tsc, revoke_tsc;
	uint64_t reposs_upcalls, reposs_tsc;
	uint64_t reposs_seq, reposs_nframes, reposs_frames_total;
	uint64_t reposs_slots_mask;
	uint64_t reposs_frames[EXO_REPOSS_MAX];
	uint64_t data_mapped_after;
	int64_t data_cap_after;	 /* remapping a taken page through it */
	int64_t data_kept_after; /* remapping a kept page through it */
	uint64_t frames_used_after, frame_quota_after;
};

_Static_assert(sizeof(struct mailbox) <= EXO_PAGE_SIZE, "one page");

static uint64_t pte_of(uint64_t va)
{
	for (int level = 4; level > 1; level--)
		if (!(*EXO_UVPT_ENTRY(va, level) & EXO_PTE_PRESENT))
			return 0;
	return *EXO_UVPT_ENTRY(va, 1);
}

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* ---- The child: runs a copy of this image in its own address space ---- */

static struct mailbox *child_mb; /* the child's own copy of .bss */

static void child_on_revoke(struct exo_upcall_frame *f)
{
	(void)f;
	/* Note the request, give nothing back. */
	child_mb->revoke_upcalls++;
	child_mb->revoke_tsc = rdtsc();
	child_mb->revoke_seq = libos_uenv->revoke.seq;
	child_mb->revoke_frames_over = libos_uenv->revoke.frames_over;
	child_mb->revoke_frame_quota = libos_uenv->revoke.frame_quota;
	child_mb->revoke_deadline_tsc = libos_uenv->revoke.deadline_tsc;
}

static void child_on_reposs(struct exo_upcall_frame *f)
{
	(void)f;
	child_mb->reposs_upcalls++;
	child_mb->reposs_tsc = rdtsc();
}

/* Map page index of the data capability at its own address again: the
 * op's result, 0 or -E_*. */
static int64_t child_remap(long data, uint32_t index)
{
	struct exo_pte_op op = {DATA_VA + index * EXO_PAGE_SIZE, (uint32_t)data,
				index, EXO_MAP_READ | EXO_MAP_WRITE, 0};

	sys_pte_set(EXO_SLOT_SELF, &op, 1);
	return op.result;
}

static _Noreturn void child_fail(struct mailbox *mb, uint64_t why)
{
	mb->why = why;
	mb->stage = STAGE_FAILED;
	sys_env_exit(1);
}

_Noreturn void child_main(struct mailbox *mb);
_Noreturn void child_main(struct mailbox *mb)
{
	volatile struct exo_uenv *u = libos_uenv;
	struct exo_pte_op ops[CHILD_DATA];
	struct exo_cap_info info;
	struct exo_env_status st;
	struct exo_sysinfo si;
	uint64_t stack_pa, t0;
	long data, stack = -1;

	child_mb = mb;
	if (libos_set_handler(EXO_UPCALL_REVOKE, child_on_revoke) ||
	    libos_set_handler(EXO_UPCALL_REPOSSESSED, child_on_reposs))
		child_fail(mb, 1);
	/* Its upcall stack must survive: find its frames and mark them. */
	stack_pa = pte_of(LIBOS_UPCALL_STACK_BASE) & EXO_PTE_ADDR;
	for (long s = 1; s < 16 && stack < 0; s++)
		if (sys_cap_info(s, &info) == 0 &&
		    info.type == EXO_CAP_FRAME && info.base == stack_pa)
			stack = s;
	if (stack < 0 || sys_frame_vital(stack, true) != 0)
		child_fail(mb, 2);
	data = sys_frame_alloc(EXO_FRAME_ANY, CHILD_DATA, 0);
	if (data < 0 || sys_cap_info(data, &info) != 0)
		child_fail(mb, 3);
	for (unsigned i = 0; i < CHILD_DATA; i++)
		ops[i] = (struct exo_pte_op){DATA_VA + i * EXO_PAGE_SIZE,
					     (uint32_t)data, i,
					     EXO_MAP_READ | EXO_MAP_WRITE, 0};
	if (sys_pte_set(EXO_SLOT_SELF, ops, CHILD_DATA) != CHILD_DATA)
		child_fail(mb, 4);
	for (unsigned i = 0; i < CHILD_DATA; i++)
		*(volatile uint64_t *)(DATA_VA + i * EXO_PAGE_SIZE) = i + 1;
	mb->data_base = info.base;
	mb->data_slot = (uint64_t)data;
	mb->stack_slot = (uint64_t)stack;
	mb->stage = STAGE_READY;

	/* Wait, yielding, until the kernel has taken what it asked for. */
	if (sys_sysinfo(&si) != 0)
		child_fail(mb, 5);
	t0 = rdtsc();
	while (!(mb->reposs_upcalls && u->reposs.seq) &&
	       rdtsc() - t0 < si.tsc_khz * (3 * WAIT_MS + PHASE_B_SPIN_MS))
		sys_yield(EXO_ENV_NONE);
	mb->reposs_seq = u->reposs.seq;
	mb->reposs_nframes = u->reposs.nframes;
	mb->reposs_frames_total = u->reposs.frames_total;
	mb->reposs_slots_mask = u->reposs.slots_mask;
	for (unsigned i = 0; i < u->reposs.nframes && i < EXO_REPOSS_MAX; i++)
		mb->reposs_frames[i] = u->reposs.frames[i];
	mb->data_mapped_after = 0;
	for (unsigned i = 0; i < CHILD_DATA; i++)
		mb->data_mapped_after +=
			pte_of(DATA_VA + i * EXO_PAGE_SIZE) != 0;
	mb->data_cap_after = child_remap(data, 0);
	mb->data_kept_after = child_remap(data, CHILD_DATA - 1);
	if (sys_env_status(EXO_SLOT_SELF, &st) == 0) {
		mb->frames_used_after = st.frames_used;
		mb->frame_quota_after = st.frame_quota;
	}
	mb->stage = STAGE_DONE;
	sys_env_exit(0);
}

/* ---- The parent ------------------------------------------------------ */

/* Map frame `index` of the capability in slot at va in env. */
static long map_in(long env, uint64_t va, long slot, uint32_t index,
		   uint32_t perm)
{
	struct exo_pte_op op = {va, (uint32_t)slot, index, perm, 0};
	long r = sys_pte_set(env, &op, 1);

	return r < 0 ? r : op.result;
}

/*
 * Make a child running child_main(mailbox) in a copy of this image; the
 * mailbox frame (mb_slot) is shared.  Returns the child's ENV slot.
 */
static long spawn_child(long mb_slot)
{
	uint64_t va[IMAGE_MAX], pte[IMAGE_MAX];
	struct exo_regs regs = {0};
	unsigned n = 0;
	long child, copies, stack, err = 0;

	for (uint64_t v = IMAGE_LO; v < IMAGE_HI && n < IMAGE_MAX;
	     v += EXO_PAGE_SIZE)
		if ((pte[n] = pte_of(v)) & EXO_PTE_PRESENT)
			va[n++] = v;
	child = sys_env_create(CHILD_FRAME_QUOTA, 1);
	copies = sys_frame_alloc(EXO_FRAME_ANY, n, 0);
	stack = sys_frame_alloc(EXO_FRAME_ANY, CHILD_STACK_PAGES, 0);
	if (child < 0 || copies < 0 || stack < 0) {
		tap_diag("env_create %ld, frame_alloc %ld and %ld", child,
			 copies, stack);
		return -1;
	}
	for (unsigned i = 0; i < n && !err; i++) {
		uint32_t perm = EXO_MAP_READ;

		if (pte[i] & EXO_PTE_WRITABLE)
			perm |= EXO_MAP_WRITE;
		else if (!(pte[i] & EXO_PTE_NX))
			perm |= EXO_MAP_EXEC;
		err = map_in(EXO_SLOT_SELF, COPY_VA, copies, i,
			     EXO_MAP_READ | EXO_MAP_WRITE);
		if (!err) {
			memcpy((void *)COPY_VA, (const void *)va[i],
			       EXO_PAGE_SIZE);
			err = map_in(child, va[i], copies, i, perm);
		}
	}
	map_in(EXO_SLOT_SELF, COPY_VA, 0, 0, 0);
	for (unsigned i = 0; i < CHILD_STACK_PAGES && !err; i++)
		err = map_in(child,
			     EXO_USER_STACK_TOP - (i + 1) * EXO_PAGE_SIZE,
			     stack, i, EXO_MAP_READ | EXO_MAP_WRITE);
	if (!err)
		err = map_in(child, MAILBOX_VA, mb_slot, 0,
			     EXO_MAP_READ | EXO_MAP_WRITE);
	regs.rip = (uint64_t)child_main;
	regs.rsp = EXO_USER_STACK_TOP - 8; /* as if called */
	regs.rdi = MAILBOX_VA;
	regs.rflags = 0x202;
	if (!err)
		err = sys_env_set_regs(child, &regs);
	if (err) {
		tap_diag("loading the child: %ld", err);
		return -1;
	}
	tap_diag("child loaded: %u image pages copied", n);
	return child;
}

/* Yield until *word reaches want or ms pass; whether it did. */
static bool wait_for(volatile uint64_t *word, uint64_t want, uint64_t khz,
		     uint64_t ms)
{
	uint64_t t0 = rdtsc();

	while (*word < want && rdtsc() - t0 < khz * ms)
		sys_yield(EXO_ENV_NONE);
	return *word >= want;
}

int main(void)
{
	struct mailbox *mb = (struct mailbox *)MAILBOX_VA;
	struct exo_cap_info slices;
	struct exo_env_status st;
	struct exo_sysinfo si;
	uint64_t top, used, frames_ok = 0, t0;
	long mb_slot, one, child, cslot, r;
	bool in_time;

	tap_plan(14);
	r = sys_sysinfo(&si);
	mb_slot = libos_map_new(MAILBOX_VA, 1, EXO_MAP_READ | EXO_MAP_WRITE, 0);
	tap_ok(r == 0 && mb_slot > 0, "mailbox page mapped: slot %ld", mb_slot);

	/* One of its own time slots for the child. */
	r = sys_cap_info(EXO_SLOT_BOOT_SLICES, &slices);
	top = 1ull << (63 - __builtin_clzll(slices.base));
	one = sys_cap_derive(EXO_SLOT_BOOT_SLICES, EXO_R_FREE, top, 0);
	r = r ? r : sys_slot_free(one);
	tap_ok(r == 0, "gave up its slot mask 0x%lx: %ld", (unsigned long)top,
	       r);

	child = spawn_child(mb_slot);
	cslot = child > 0 ? sys_slot_alloc(child, 1, 0) : -1;
	r = child > 0 ? sys_env_start(child) : -1;
	tap_ok(child > 0 && cslot > 0 && r == 0,
	       "child made, given a slot and started: %ld, %ld, %ld", child,
	       cslot, r);
	if (child <= 0)
		return tap_done();

	wait_for(&mb->stage, STAGE_READY, si.tsc_khz, WAIT_MS);
	tap_ok(mb->stage == STAGE_READY,
	       "child ready: stage %lu (why %lu), data frames at 0x%lx",
	       (unsigned long)mb->stage, (unsigned long)mb->why,
	       (unsigned long)mb->data_base);
	r = sys_env_status(child, &st);
	used = st.frames_used;
	tap_diag("child uses %lu of %lu frames", (unsigned long)used,
		 (unsigned long)st.frame_quota);
	r = r ? r : sys_env_set_quota(child, used - GIVE_BACK, 1);
	t0 = rdtsc();
	tap_ok(r == 0, "child's frame quota lowered to %lu: %ld",
	       (unsigned long)(used - GIVE_BACK), r);

	/* Phase A: wait as a library OS would, yielding. */
	in_time = wait_for(&mb->stage, STAGE_DONE, si.tsc_khz, WAIT_MS);
	tap_ok(in_time,
	       "repossessed within %u ms while every env yields "
	       "(the deadline is enforced without a slice running out)",
	       WAIT_MS);
	if (!in_time) {
		/* Phase B: hold the CPU for whole slices: the timer fires. */
		tap_diag("phase B: spinning %u ms without a yield",
			 PHASE_B_SPIN_MS);
		t0 = rdtsc();
		while (rdtsc() - t0 < si.tsc_khz * PHASE_B_SPIN_MS)
			__asm__ volatile("" ::: "memory");
		wait_for(&mb->stage, STAGE_DONE, si.tsc_khz, WAIT_MS);
	}

	tap_ok(mb->stage == STAGE_DONE, "child reported: stage %lu",
	       (unsigned long)mb->stage);
	/* frames_over is what is still owed: on a loaded host the child may
	 * take its upcall only after the kernel took the frames (then 0). */
	tap_ok(mb->revoke_upcalls == 1 && mb->revoke_seq == 1 &&
		   (mb->revoke_frames_over == GIVE_BACK ||
		    (mb->revoke_frames_over == 0 && mb->reposs_seq == 1)) &&
		   mb->revoke_frame_quota == used - GIVE_BACK &&
		   mb->revoke_deadline_tsc != 0,
	       "child was asked (upcalls %lu, seq %lu, %lu over, quota %lu) "
	       "and ignored it",
	       (unsigned long)mb->revoke_upcalls,
	       (unsigned long)mb->revoke_seq,
	       (unsigned long)mb->revoke_frames_over,
	       (unsigned long)mb->revoke_frame_quota);
	tap_ok(mb->reposs_upcalls >= 1 && mb->reposs_seq == 1 &&
		   mb->reposs_nframes == GIVE_BACK &&
		   mb->reposs_frames_total == GIVE_BACK &&
		   mb->reposs_slots_mask == 0,
	       "child's uenv: reposs.seq %lu, nframes %lu, frames_total %lu, "
	       "slots 0x%lx; %lu repossession upcalls",
	       (unsigned long)mb->reposs_seq,
	       (unsigned long)mb->reposs_nframes,
	       (unsigned long)mb->reposs_frames_total,
	       (unsigned long)mb->reposs_slots_mask,
	       (unsigned long)mb->reposs_upcalls);
	for (unsigned i = 0; i < GIVE_BACK && i < mb->reposs_nframes; i++)
		frames_ok += mb->reposs_frames[i] ==
			     mb->data_base + i * EXO_PAGE_SIZE;
	tap_ok(frames_ok == GIVE_BACK,
	       "reposs.frames[] names the lowest %u data frames (%lu match; "
	       "first 0x%lx)",
	       GIVE_BACK, (unsigned long)frames_ok,
	       (unsigned long)mb->reposs_frames[0]);
	tap_ok(mb->data_mapped_after == CHILD_DATA - GIVE_BACK &&
		   mb->data_cap_after == -E_BADCAP && mb->data_kept_after == 0,
	       "those pages are unmapped (%lu still mapped); its capability "
	       "maps them no more (%ld) but still maps the rest (%ld)",
	       (unsigned long)mb->data_mapped_after,
	       (long)mb->data_cap_after, (long)mb->data_kept_after);
	tap_ok(mb->frames_used_after <= mb->frame_quota_after &&
		   mb->frame_quota_after == used - GIVE_BACK,
	       "child within its quota: %lu of %lu",
	       (unsigned long)mb->frames_used_after,
	       (unsigned long)mb->frame_quota_after);
	r = sys_env_status(child, &st);
	tap_ok(r == 0 && st.state == EXO_ENV_STATE_DEAD && st.exit_code == 0,
	       "child exited 0 (state %u, code %u)", st.state, st.exit_code);
	r = sys_env_status(EXO_SLOT_SELF, &st);
	tap_ok(r == 0 && libos_uenv->revoke.seq == 0 &&
		   libos_uenv->reposs.seq == 0,
	       "the parent itself was never asked for anything");
	return tap_done();
}
