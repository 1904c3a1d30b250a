/*
 * test_memory.c: Check tests of vmm/memory.c, the memory quota layer's
 * chunk accounting on exovmm's side: which chunks are granted (backend
 * slots, guest_mem.absent and the mailbox's bitmap kept in step), growing
 * at once, shrinking by the guest's EXO_HVC_CHUNK_RELEASE or by force past
 * the deadline, the bounds memory_min..memory_max, and what happens when
 * the guest touches a chunk it no longer has.
 *
 * The instance is built by hand around a fake backend that records which
 * slots are mapped and how many interrupts were sent, and can be told to
 * fail; instance_stop() is a double that records the reason.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "vmm/instance.h"

#define MiB (1ull << 20)
#define CHUNK EXO_CHUNK_SIZE
#define MAILBOX_SLOT EXO_CHUNKS_MAX
#define SLOTS (MAILBOX_SLOT + 1)
#define SEC 1000000000ull
#define DEADLINE (2 * SEC)
#define BEFORE 0ull	 /* a memory_tick() time before any deadline */
#define PAST UINT64_MAX	 /* and one past every deadline */
#define MIN_CHUNKS 4u	 /* memory_min 8M */
#define START_CHUNKS 16u /* memory 32M */
#define MAX_CHUNKS 32u	 /* memory_max 64M */
#define MARK 0xa5

/* The fake backend's VM: what is mapped where, and what was sent. */
struct slot {
	bool mapped;
	uint64_t gpa, size;
	void *host;
};

struct vmm_vm {
	struct slot slot[SLOTS];
	unsigned maps, unmaps, interrupts, kicks;
	uint8_t vector;
	bool fail; /* map_memory and unmap_memory fail */
};

static struct vmm_vm vm;
static struct vmm_instance_config cfg;
static struct instance inst;
static unsigned stops;
static char stop_reason[INSTANCE_REASON_MAX];

static int fake_map(struct vmm_vm *v, uint32_t slot, uint64_t gpa, void *host,
		    uint64_t size, struct vmm_error *err)
{
	ck_assert_uint_lt(slot, SLOTS);
	if (v->fail)
		return vmm_errorf(err, "fake map of slot %u fails", slot);
	ck_assert_msg(!v->slot[slot].mapped, "slot %u mapped twice", slot);
	v->slot[slot] = (struct slot){true, gpa, size, host};
	v->maps++;
	return 0;
}

static int fake_unmap(struct vmm_vm *v, uint32_t slot, struct vmm_error *err)
{
	ck_assert_uint_lt(slot, SLOTS);
	if (v->fail)
		return vmm_errorf(err, "fake unmap of slot %u fails", slot);
	ck_assert_msg(v->slot[slot].mapped, "slot %u unmapped but not mapped",
		      slot);
	v->slot[slot].mapped = false;
	v->unmaps++;
	return 0;
}

static int fake_interrupt(struct vmm_vm *v, uint8_t vector,
			  struct vmm_error *err)
{
	(void)err;
	v->interrupts++;
	v->vector = vector;
	return 0;
}

/* The vCPU thread's part, done at once: growing waits for it. */
static bool kick_takes_due;

static void fake_kick(struct vmm_vm *v)
{
	v->kicks++;
	if (kick_takes_due)
		memory_take_due(&inst);
}

static const struct vmm_backend fake_backend = {
    .name = "fake",
    .map_memory = fake_map,
    .unmap_memory = fake_unmap,
    .interrupt = fake_interrupt,
    .kick = fake_kick,
};

/* The double for instance.c's: record why the instance would stop. */
enum vmm_action instance_stop(struct instance *i, const char *fmt, ...)
{
	va_list ap;

	ck_assert_ptr_eq(i, &inst);
	va_start(ap, fmt);
	vsnprintf(stop_reason, sizeof(stop_reason), fmt, ap);
	va_end(ap);
	stops++;
	return VMM_END;
}

/* An instance with memory 32M, memory_min 8M, memory_max 64M. */
static void setup(void)
{
	struct vmm_error err;

	memset(&vm, 0, sizeof(vm));
	kick_takes_due = false;
	memset(&inst, 0, sizeof(inst));
	cfg = (struct vmm_instance_config){
	    .name = "t",
	    .memory = START_CHUNKS * CHUNK,
	    .memory_min = MIN_CHUNKS * CHUNK,
	    .memory_max = MAX_CHUNKS * CHUNK,
	    .revoke_deadline_ns = DEADLINE,
	};
	inst.cfg = &cfg;
	inst.backend = &fake_backend;
	inst.vm = &vm;
	ck_assert_int_eq(console_open(&inst.console, cfg.name, NULL, &err), 0);
	ck_assert_msg(memory_init(&inst, &err) == 0, "memory_init: %s",
		      err.msg);
}

static void teardown(void)
{
	memory_destroy(&inst);
	console_close(&inst.console);
}

static uint64_t gpa_of(uint32_t c)
{
	return (uint64_t)c << EXO_CHUNK_SHIFT;
}

static struct exo_mailbox *mailbox(void)
{
	return inst.memory.mailbox;
}


/* Chunks [first, end) are granted (or not) in every place that says so. */
static void assert_chunks(uint32_t first, uint32_t end, bool granted)
{
	for (uint32_t c = first; c < end; c++) {
		const struct slot *s = &vm.slot[c];

		ck_assert_msg(s->mapped == granted, "chunk %u: slot mapped %d",
			      c, s->mapped);
		ck_assert_msg(exo_mailbox_granted(mailbox(), c) == granted,
			      "chunk %u: mailbox bit", c);
		ck_assert_msg(guest_chunk_granted(&inst.mem, c) == granted,
			      "chunk %u: absent", c);
		ck_assert_msg(
		    (guest_ptr(&inst.mem, gpa_of(c), CHUNK) != NULL) == granted,
		    "chunk %u: guest_ptr", c);
		if (granted) {
			ck_assert_uint_eq(s->gpa, gpa_of(c));
			ck_assert_uint_eq(s->size, CHUNK);
			ck_assert_ptr_eq(s->host, inst.mem.host + gpa_of(c));
		}
	}
}

/* Exactly chunks [0, n) are granted, out of memory_max. */
static void assert_granted_below(uint32_t n)
{
	assert_chunks(0, n, true);
	assert_chunks(n, MAX_CHUNKS, false);
	ck_assert_uint_eq(inst.memory.granted_chunks, n);
}

static struct memory_stats stats(void)
{
	struct memory_stats st;

	memory_stats(&inst, &st);
	return st;
}

static void set_target(uint64_t bytes)
{
	struct vmm_error err;

	ck_assert_msg(memory_set_target(&inst, bytes, &err) == 0,
		      "memory_set_target: %s", err.msg);
}

/* Everything a call that must change nothing could change. */
struct snapshot {
	uint32_t granted_chunks, target_chunks;
	uint64_t deadline, chunks_released, chunks_taken;
	uint64_t absent[EXO_CHUNK_WORDS];
	struct exo_mailbox mailbox;
	struct vmm_vm vm;
};

static void take_snapshot(struct snapshot *s)
{
	const struct memory_state *m = &inst.memory;

	*s = (struct snapshot){.granted_chunks = m->granted_chunks,
			       .target_chunks = m->target_chunks,
			       .deadline = m->deadline,
			       .chunks_released = m->chunks_released,
			       .chunks_taken = m->chunks_taken};
	for (unsigned w = 0; w < EXO_CHUNK_WORDS; w++)
		s->absent[w] = inst.mem.absent[w];
	memcpy(&s->mailbox, mailbox(), sizeof(s->mailbox));
	memcpy(&s->vm, &vm, sizeof(vm));
}

static void assert_unchanged(const struct snapshot *before, const char *what)
{
	struct snapshot now;

	take_snapshot(&now);
	ck_assert_msg(now.granted_chunks == before->granted_chunks &&
			  now.target_chunks == before->target_chunks &&
			  now.deadline == before->deadline &&
			  now.chunks_released == before->chunks_released &&
			  now.chunks_taken == before->chunks_taken,
		      "%s: the memory state changed", what);
	ck_assert_msg(!memcmp(now.absent, before->absent, sizeof(now.absent)),
		      "%s: guest_mem.absent changed", what);
	ck_assert_msg(
	    !memcmp(&now.mailbox, &before->mailbox, sizeof(now.mailbox)),
	    "%s: the mailbox changed", what);
	ck_assert_msg(!memcmp(&now.vm, &before->vm, sizeof(now.vm)),
		      "%s: the backend was called", what);
}

/*
 * A tick of the scheduler's clock, then what the vCPU's thread does once
 * kicked out of the guest.  A tick past the deadline kicks the vCPU once.
 */
static void tick_and_take(uint64_t now)
{
	unsigned kicks = vm.kicks;
	bool due = inst.memory.deadline && now >= inst.memory.deadline;

	memory_tick(&inst, now);
	ck_assert_uint_eq(vm.kicks, kicks + due);
	memory_take_due(&inst);
}

/* A tick that must take nothing. */
static void assert_tick_takes_nothing(uint64_t now)
{
	struct snapshot before;

	take_snapshot(&before);
	tick_and_take(now);
	assert_unchanged(&before, "memory_tick");
}

START_TEST(test_init)
{
	const struct slot *mb = &vm.slot[MAILBOX_SLOT];
	struct memory_stats st;

	assert_granted_below(START_CHUNKS);
	ck_assert(mb->mapped);
	ck_assert_uint_eq(mb->gpa, EXO_MAILBOX_GPA);
	ck_assert_uint_eq(mb->size, EXO_MAILBOX_SIZE);
	ck_assert_ptr_eq(mb->host, mailbox());
	ck_assert_uint_eq(vm.maps, START_CHUNKS + 1);
	ck_assert_uint_eq(vm.interrupts, 0);

	ck_assert_uint_eq(mailbox()->seq, 0);
	ck_assert_uint_eq(mailbox()->min_chunks, MIN_CHUNKS);
	ck_assert_uint_eq(mailbox()->max_chunks, MAX_CHUNKS);
	ck_assert_uint_eq(mailbox()->target_chunks, START_CHUNKS);
	ck_assert_uint_eq(mailbox()->deadline_ns, DEADLINE);
	ck_assert_uint_eq(mailbox()->granted[0], (1ull << START_CHUNKS) - 1);
	for (unsigned w = 1; w < EXO_CHUNK_WORDS; w++)
		ck_assert_uint_eq(mailbox()->granted[w], 0);

	/* Chunk 15 is reachable to its last byte, not one byte further. */
	ck_assert_ptr_eq(guest_ptr(&inst.mem, gpa_of(16) - 1, 1),
			 inst.mem.host + gpa_of(16) - 1);
	ck_assert_ptr_null(guest_ptr(&inst.mem, gpa_of(16) - 1, 2));
	ck_assert_ptr_null(guest_ptr(&inst.mem, gpa_of(31), 1));
	ck_assert_ptr_null(guest_ptr(&inst.mem, gpa_of(MAX_CHUNKS), 1));

	mailbox()->used_frames = 100;
	mailbox()->revocations = 3;
	st = stats();
	ck_assert_uint_eq(st.granted, 32 * MiB);
	ck_assert_uint_eq(st.target, 32 * MiB);
	ck_assert_uint_eq(st.min, 8 * MiB);
	ck_assert_uint_eq(st.max, 64 * MiB);
	ck_assert_uint_eq(st.used, 100 * 4096);
	ck_assert_uint_eq(st.revocations, 3);
	ck_assert_uint_eq(st.chunks_released, 0);
	ck_assert_uint_eq(st.chunks_taken, 0);

	memory_note_stolen(&inst, 12345);
	ck_assert_uint_eq(mailbox()->stolen_ns, 12345);
}
END_TEST

/*
 * Growing kicks the vCPU, whose thread grants the chunks and tells the
 * guest; the call returns once it has.
 */
START_TEST(test_grow)
{
	unsigned kicks = vm.kicks;

	kick_takes_due = true;
	set_target(48 * MiB);
	ck_assert_uint_eq(vm.kicks, kicks + 1);
	assert_granted_below(24);
	ck_assert_uint_eq(mailbox()->granted[0], (1ull << 24) - 1);
	ck_assert_uint_eq(mailbox()->target_chunks, 24);
	ck_assert_uint_eq(mailbox()->seq, 1);
	ck_assert_uint_eq(vm.interrupts, 1);
	ck_assert_uint_eq(vm.vector, EXO_MAILBOX_VECTOR);
	ck_assert_uint_eq(vm.unmaps, 0);
	ck_assert_uint_eq(inst.memory.deadline, 0);
	ck_assert_uint_eq(stats().granted, 48 * MiB);
	assert_tick_takes_nothing(PAST);
}
END_TEST

START_TEST(test_shrink_request)
{
	set_target(16 * MiB);
	assert_granted_below(START_CHUNKS);
	ck_assert_uint_eq(vm.unmaps, 0);
	ck_assert_uint_eq(mailbox()->target_chunks, 8);
	ck_assert_uint_eq(mailbox()->seq, 1);
	ck_assert_uint_eq(vm.interrupts, 1);
	ck_assert_uint_ne(inst.memory.deadline, 0);
	ck_assert_uint_eq(stats().target, 16 * MiB);
	ck_assert_uint_eq(stats().granted, 32 * MiB);
	assert_tick_takes_nothing(BEFORE);
}
END_TEST

/* Asking again, even for less, does not push the deadline back. */
START_TEST(test_shrink_again_keeps_deadline)
{
	uint64_t deadline;

	set_target(16 * MiB);
	deadline = inst.memory.deadline;
	set_target(16 * MiB);
	ck_assert_uint_eq(inst.memory.deadline, deadline);
	set_target(12 * MiB);
	ck_assert_uint_eq(inst.memory.deadline, deadline);
}
END_TEST

/* Releases the hypercall must refuse whole: after chunk 15 is released. */
static const struct {
	const char *what;
	uint32_t first, count;
} bad_releases[] = {
    {"chunk 15 again", 15, 1},
    {"below memory_min", MIN_CHUNKS - 1, 1},
    {"straddling memory_min", MIN_CHUNKS - 1, 2},
    {"past memory_max", MAX_CHUNKS, 1},
    {"running past memory_max", MAX_CHUNKS - 1, 2},
    {"a count that overflows", 14, UINT32_MAX},
    {"a range with one chunk not granted", 13, 3},
};

/* The guest's EXO_HVC_CHUNK_RELEASE; the instance must keep running. */
static int32_t release(uint32_t first, uint32_t count)
{
	int32_t ret = 1; /* neither result: memory_release must set it */

	ck_assert(memory_release(&inst, first, count, &ret));
	return ret;
}

START_TEST(test_release)
{
	struct snapshot before;

	inst.mem.host[gpa_of(15)] = MARK;
	ck_assert_int_eq(release(15, 1), EXO_HVC_OK);
	assert_granted_below(15);
	ck_assert_uint_eq(inst.mem.host[gpa_of(15)],
			  0); /* host memory dropped */
	ck_assert_uint_eq(stats().chunks_released, 1);
	ck_assert_uint_eq(stats().granted, 30 * MiB);

	for (size_t i = 0; i < sizeof(bad_releases) / sizeof(bad_releases[0]);
	     i++) {
		take_snapshot(&before);
		ck_assert_msg(release(bad_releases[i].first,
				      bad_releases[i].count) ==
				  EXO_HVC_EINVAL,
			      "%s: not EINVAL", bad_releases[i].what);
		assert_unchanged(&before, bad_releases[i].what);
	}

	ck_assert_int_eq(release(12, 3), EXO_HVC_OK);
	assert_granted_below(12);
	ck_assert_uint_eq(stats().chunks_released, 4);
}
END_TEST

/* Giving back what is owed cancels the deadline: nothing is taken. */
START_TEST(test_release_meets_target)
{
	set_target(28 * MiB);
	ck_assert_int_eq(release(15, 1), EXO_HVC_OK);
	ck_assert_uint_ne(inst.memory.deadline, 0);
	ck_assert_int_eq(release(14, 1), EXO_HVC_OK);
	ck_assert_uint_eq(inst.memory.deadline, 0);
	assert_tick_takes_nothing(PAST);
	assert_granted_below(14);
	ck_assert_uint_eq(stats().chunks_taken, 0);
}
END_TEST

START_TEST(test_forced)
{
	set_target(20 * MiB);
	inst.mem.host[gpa_of(12)] = MARK;
	tick_and_take(PAST);
	assert_granted_below(10); /* the highest went: 10..15 */
	ck_assert_uint_eq(inst.mem.host[gpa_of(12)], 0);
	ck_assert_uint_eq(stats().chunks_taken, 6);
	ck_assert_uint_eq(stats().chunks_released, 0);
	ck_assert_uint_eq(mailbox()->seq, 2);
	ck_assert_uint_eq(vm.interrupts, 2);
	ck_assert_uint_eq(inst.memory.deadline, 0);
	assert_tick_takes_nothing(PAST);
}
END_TEST

/* Down to memory_min and no further, whatever the guest gave back. */
START_TEST(test_forced_to_min)
{
	ck_assert_int_eq(release(9, 2), EXO_HVC_OK);
	set_target(MIN_CHUNKS * CHUNK);
	tick_and_take(PAST);
	assert_granted_below(MIN_CHUNKS);
	ck_assert_uint_eq(stats().chunks_taken, START_CHUNKS - MIN_CHUNKS - 2);
	ck_assert_uint_eq(stats().chunks_released, 2);
	ck_assert_uint_eq(stats().granted, stats().min);
	assert_tick_takes_nothing(PAST);
}
END_TEST

/* Growing again grants the lowest chunks missing, with zeroed memory. */
START_TEST(test_grow_after_take)
{
	set_target(20 * MiB);
	inst.mem.host[gpa_of(12)] = MARK;
	tick_and_take(PAST);
	kick_takes_due = true;
	set_target(32 * MiB);
	assert_granted_below(START_CHUNKS);
	ck_assert_uint_eq(inst.mem.host[gpa_of(12)], 0);
	ck_assert_uint_eq(inst.memory.deadline, 0);
}
END_TEST

/* A refused target leaves everything as it was. */
static void assert_target_refused(uint64_t bytes, const char *says)
{
	struct snapshot before;
	struct vmm_error err;

	take_snapshot(&before);
	ck_assert_int_eq(memory_set_target(&inst, bytes, &err), -1);
	ck_assert_msg(strstr(err.msg, says), "\"%s\" does not say %s", err.msg,
		      says);
	assert_unchanged(&before, err.msg);
}

START_TEST(test_bounds)
{
	assert_target_refused(MIN_CHUNKS * CHUNK - CHUNK, "memory_min");
	assert_target_refused(0, "memory_min");
	assert_target_refused(MAX_CHUNKS * CHUNK + CHUNK, "memory_max");
	assert_target_refused(33 * MiB, "multiple");
}
END_TEST

START_TEST(test_withdrawn_access)
{
	char want[64];

	ck_assert_int_eq(release(15, 1), EXO_HVC_OK);
	set_target(20 * MiB);
	tick_and_take(PAST);

	ck_assert(memory_withdrawn_access(&inst, gpa_of(12) + 0x123));
	ck_assert_uint_eq(stops, 1);
	snprintf(want, sizeof(want), "0x%llx in chunk 12,",
		 (unsigned long long)gpa_of(12) + 0x123);
	ck_assert_msg(strstr(stop_reason, want), "reason \"%s\"", stop_reason);
	ck_assert(memory_withdrawn_access(&inst, gpa_of(15)));
	ck_assert_uint_eq(stops, 2);
	ck_assert_ptr_nonnull(strstr(stop_reason, "chunk 15,"));

	ck_assert(!memory_withdrawn_access(&inst, gpa_of(9) + CHUNK - 1));
	ck_assert(!memory_withdrawn_access(&inst, 0));
	ck_assert(!memory_withdrawn_access(&inst, gpa_of(MAX_CHUNKS)));
	ck_assert(!memory_withdrawn_access(&inst, EXO_MAILBOX_GPA));
	ck_assert_uint_eq(stops, 2);
}
END_TEST

/* A chunk the backend cannot unmap stays granted, on both paths. */
START_TEST(test_failing_unmap)
{
	struct snapshot before;

	vm.fail = true;
	take_snapshot(&before);
	{
		int32_t ret;

		/* The host refused: the instance stops, the chunk stays. */
		ck_assert(!memory_release(&inst, 15, 1, &ret));
		ck_assert_uint_eq(stops, 1);
		ck_assert_ptr_nonnull(guest_ptr(&inst.mem, gpa_of(15), CHUNK));
	}
	take_snapshot(&before);

	set_target(8 * MiB);
	take_snapshot(&before);
	tick_and_take(PAST);
	assert_granted_below(START_CHUNKS);
	ck_assert_ptr_nonnull(guest_ptr(&inst.mem, gpa_of(15), CHUNK));
	ck_assert_uint_eq(stats().chunks_taken, 0);
	ck_assert_uint_eq(mailbox()->seq, before.mailbox.seq);

	/* The debt stands: once the host recovers, the next tick takes it. */
	vm.fail = false;
	tick_and_take(PAST);
	assert_granted_below(4);
	ck_assert_uint_eq(stats().chunks_taken, START_CHUNKS - 4);
}
END_TEST

/*
 * A chunk the backend cannot map is not granted: the vCPU's thread finds
 * out, the target becomes what the instance has, and the call says why.
 */
START_TEST(test_failing_map)
{
	struct vmm_error err;

	vm.fail = true;
	kick_takes_due = true;
	ck_assert_int_eq(memory_set_target(&inst, 48 * MiB, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "fake map of slot 16 fails"));
	assert_granted_below(START_CHUNKS);
	ck_assert_uint_eq(mailbox()->target_chunks, START_CHUNKS);
	ck_assert_uint_eq(stats().target, START_CHUNKS * EXO_CHUNK_SIZE);
	ck_assert_uint_eq(inst.memory.deadline, 0);
}
END_TEST

static Suite *memory_suite(void)
{
	const TTest *tests[] = {
	    test_init,
	    test_grow,
	    test_shrink_request,
	    test_shrink_again_keeps_deadline,
	    test_release,
	    test_release_meets_target,
	    test_forced,
	    test_forced_to_min,
	    test_grow_after_take,
	    test_bounds,
	    test_withdrawn_access,
	    test_failing_unmap,
	    test_failing_map,
	};
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("memory");

	tcase_add_checked_fixture(tc, setup, teardown);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(memory_suite)
