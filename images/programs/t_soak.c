/*
 * t_soak.c: a soak test of processes, threads and memory together, run
 * by tests/boot/soak.sh in an instance of its own.  For SOAK_SECONDS of
 * TSC time it runs rounds of churn.  In each round the parent
 *  - starts threads that pass malloc'd items through a bounded buffer
 *    (a mutex and two condition variables) and count under a mutex,
 *  - forks while they run: the child makes threads of its own that
 *    malloc, check and free blocks of sizes that vary by round, every
 *    GRANDCHILD_EVERY rounds forks a grandchild (which mallocs and exits
 *    with a code of its own), and exits with a code its round gives it,
 *  - waits for the child and checks that code, then joins its threads
 *    and checks their sums.
 * At the end the frames must be back where they were after the warm-up
 * (see main): the kernel's free frames and this env's frames in use.
 * Progress goes out as a TAP diagnostic every DIAG_EVERY_S seconds.
 */
#include "t_util.h"

#define SOAK_SECONDS 60
#define DIAG_EVERY_S 10
#define MS_PER_S 1000

/* Rounds differ by round % VARIANTS: the warm-up runs each once. */
#define VARIANTS 6
#define GRANDCHILD_EVERY 3  /* divides VARIANTS */
#define CHILD_THREADS_MAX 3 /* divides VARIANTS */
#define BLOCK_SHIFTS 6	    /* divides VARIANTS */
_Static_assert(VARIANTS % GRANDCHILD_EVERY == 0 &&
		   VARIANTS % CHILD_THREADS_MAX == 0 &&
		   VARIANTS % BLOCK_SHIFTS == 0,
	       "every variation repeats within VARIANTS rounds");

/* The parent's threads. */
#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS 40 /* per producer */
#define BUFFER 4
#define COUNTERS 2
#define COUNTS 60	    /* per counter */
#define COUNT_YIELD_EVERY 5 /* a counter yields holding the lock */
#define PARENT_THREADS (PRODUCERS + CONSUMERS + COUNTERS)

/* The child's threads and the grandchild: blocks of BLOCK_MIN << k bytes. */
#define CHILD_BLOCKS 8
#define BLOCK_MIN 16
#define GRANDCHILD_BLOCK 5000

/* Exit codes: a child's is its round's; CHILD_BAD says a check failed. */
#define CHILD_CODES 40
#define GRANDCHILD_CODE_BASE CHILD_CODES
#define GRANDCHILD_CODES 20
#define CHILD_BAD EXO_ENV_EXIT_MAX
_Static_assert(GRANDCHILD_CODE_BASE + GRANDCHILD_CODES <= CHILD_BAD,
	       "the codes a round gives never say CHILD_BAD");

static uint64_t tsc_khz;

static int child_code(unsigned round)
{
	return (int)(round % CHILD_CODES);
}

static int grandchild_code(unsigned round)
{
	return GRANDCHILD_CODE_BASE + (int)(round % GRANDCHILD_CODES);
}

/* ---- The parent's threads --------------------------------------------- */

struct item {
	uint64_t value;
};

static libos_mutex_t buf_lock = LIBOS_MUTEX_INIT;
static libos_cond_t not_full = LIBOS_COND_INIT, not_empty = LIBOS_COND_INIT;
static struct item *buf[BUFFER];
static unsigned buf_head, buf_len, producers_left;

static libos_mutex_t count_lock = LIBOS_MUTEX_INIT;
static uint64_t count;

static void *producer(void *arg)
{
	uint64_t base = t_from_ptr(arg) * ITEMS;

	for (uint64_t i = 1; i <= ITEMS; i++) {
		struct item *it = malloc(sizeof(*it));

		if (!it)
			return t_to_ptr(false);
		it->value = base + i;
		libos_mutex_lock(&buf_lock);
		while (buf_len == BUFFER)
			libos_cond_wait(&not_full, &buf_lock);
		buf[(buf_head + buf_len++) % BUFFER] = it;
		libos_cond_signal(&not_empty);
		libos_mutex_unlock(&buf_lock);
	}
	libos_mutex_lock(&buf_lock);
	if (--producers_left == 0)
		libos_cond_broadcast(&not_empty);
	libos_mutex_unlock(&buf_lock);
	return t_to_ptr(true);
}

/* Takes items until the producers are done; the sum of their values. */
static void *consumer(void *arg)
{
	uint64_t sum = 0;

	(void)arg;
	libos_mutex_lock(&buf_lock);
	for (;;) {
		struct item *it;

		while (buf_len == 0 && producers_left)
			libos_cond_wait(&not_empty, &buf_lock);
		if (buf_len == 0)
			break;
		it = buf[buf_head];
		buf_head = (buf_head + 1) % BUFFER;
		buf_len--;
		libos_cond_signal(&not_full);
		sum += it->value;
		free(it);
	}
	libos_mutex_unlock(&buf_lock);
	return t_to_ptr(sum);
}

static void *counter(void *arg)
{
	for (unsigned i = 0; i < COUNTS; i++) {
		libos_mutex_lock(&count_lock);
		count++;
		if (i % COUNT_YIELD_EVERY == 0)
			libos_thread_yield(); /* holding it: the other blocks */
		libos_mutex_unlock(&count_lock);
	}
	return arg;
}

static bool start_threads(libos_thread_t *t)
{
	bool ok;

	producers_left = PRODUCERS;
	count = 0;
	ok = t_create_all(t, CONSUMERS, consumer);
	ok = t_create_all(t + CONSUMERS, PRODUCERS, producer) && ok;
	return t_create_all(t + CONSUMERS + PRODUCERS, COUNTERS, counter) && ok;
}

/* Join them (in start_threads' order) and check what they did. */
static bool join_threads(libos_thread_t *t)
{
	uint64_t n = PRODUCERS * ITEMS, sum = 0;
	bool ok = true;

	for (unsigned i = 0; i < PARENT_THREADS; i++) {
		void *ret = NULL;

		ok = libos_thread_join(t[i], &ret) == E_OK && ok;
		if (i < CONSUMERS)
			sum += t_from_ptr(ret);
		else if (i < CONSUMERS + PRODUCERS)
			ok = ok && ret;
	}
	return ok && sum == n * (n + 1) / 2 && count == COUNTERS * COUNTS;
}

/* ---- The child and the grandchild ------------------------------------- */

static libos_mutex_t child_lock = LIBOS_MUTEX_INIT; /* the child's alone */
static unsigned child_blocks_done;

static uint8_t pattern(uint64_t seed, unsigned i)
{
	return (uint8_t)(seed * 31 + i);
}

/* malloc n bytes, fill, check; the block or NULL if it went wrong. */
static uint8_t *filled_block(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(seed, (unsigned)i);
	return p;
}

static bool block_intact(const uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(seed, (unsigned)i))
			return false;
	return true;
}

/* Check and free p[first], p[first + 2], ...; false if one was bad. */
static bool check_free(uint8_t **p, const size_t *size, uint64_t seed,
		       unsigned first)
{
	bool ok = true;

	for (unsigned i = first; i < CHILD_BLOCKS; i += 2) {
		ok = ok && p[i] && block_intact(p[i], size[i], seed + i);
		free(p[i]);
	}
	return ok;
}

/* A child's thread: CHILD_BLOCKS blocks at once, sizes by its round. */
static void *child_worker(void *arg)
{
	uint64_t seed = t_from_ptr(arg);
	uint8_t *p[CHILD_BLOCKS];
	size_t size[CHILD_BLOCKS];
	bool ok = true;

	for (unsigned i = 0; i < CHILD_BLOCKS; i++) {
		size[i] = (size_t)BLOCK_MIN << ((seed + i) % BLOCK_SHIFTS);
		p[i] = filled_block(size[i], seed + i);
		ok = ok && p[i];
	}
	/* Odd ones first, so that free meets holes between blocks. */
	ok = check_free(p, size, seed, 1) && ok;
	ok = check_free(p, size, seed, 0) && ok;
	libos_mutex_lock(&child_lock);
	child_blocks_done += CHILD_BLOCKS;
	libos_mutex_unlock(&child_lock);
	return t_to_ptr(ok);
}

/* Fork a grandchild from the child, while its threads run. */
static bool grandchild(unsigned round)
{
	int status = -1;
	long g = libos_fork();

	if (g == 0) {
		uint8_t *p = filled_block(GRANDCHILD_BLOCK, round);
		bool ok = p && block_intact(p, GRANDCHILD_BLOCK, round);

		free(p);
		libos_exit(ok ? grandchild_code(round) : CHILD_BAD);
	}
	return g > 0 && libos_wait(g, &status) == g &&
	       status == grandchild_code(round);
}

static _Noreturn void child_main(unsigned round)
{
	libos_thread_t t[CHILD_THREADS_MAX];
	unsigned n = 1 + round % CHILD_THREADS_MAX;
	bool ok = true;

	for (unsigned i = 0; i < n; i++)
		ok = libos_thread_create(&t[i], child_worker,
					 t_to_ptr(round + i)) == E_OK &&
		     ok;
	if (round % GRANDCHILD_EVERY == 0)
		ok = grandchild(round) && ok;
	for (unsigned i = 0; i < n; i++) {
		void *ret = NULL;

		ok = libos_thread_join(t[i], &ret) == E_OK && ret && ok;
	}
	ok = ok && child_blocks_done == n * CHILD_BLOCKS;
	libos_exit(ok ? child_code(round) : CHILD_BAD);
}

/* ---- Rounds ----------------------------------------------------------- */

struct tally {
	unsigned rounds, bad_children, bad_threads;
	int last_bad_status;
};

static void one_round(unsigned round, struct tally *t)
{
	libos_thread_t threads[PARENT_THREADS];
	bool ok = start_threads(threads);
	int status = -1;
	long child = libos_fork();

	if (child == 0)
		child_main(round);
	if (child < 0 || libos_wait(child, &status) != child ||
	    status != child_code(round)) {
		t->bad_children++;
		t->last_bad_status = child < 0 ? (int)child : status;
	}
	if (!join_threads(threads) || !ok)
		t->bad_threads++;
	t->rounds++;
}

static uint64_t frames_free(void)
{
	struct exo_sysinfo si;

	return sys_sysinfo(&si) == E_OK ? si.frames_free : 0;
}

static uint64_t frames_used(void)
{
	struct exo_env_status st;

	return sys_env_status(EXO_SLOT_SELF, &st) == E_OK ? st.frames_used : 0;
}

static bool tally_ok(const struct tally *t, const char *what)
{
	bool ok = tap_ok(t->rounds > 0 && t->bad_children == 0,
			 "%s: %u rounds, each child exited with the code its "
			 "round gave it, and so did each grandchild",
			 what, t->rounds);

	if (t->bad_children)
		tap_diag("%u children went wrong; the last: status %d",
			 t->bad_children, t->last_bad_status);
	return tap_ok(t->bad_threads == 0,
		      "%s: the parent's threads passed every item once and "
		      "lost no count (%u rounds went wrong)",
		      what, t->bad_threads) &&
	       ok;
}

int main(void)
{
	struct exo_sysinfo si;
	struct tally warm = {0}, soak = {0};
	uint64_t free0 = 0, used0 = 0, start, end, next_diag;
	unsigned round = 0;

	tap_plan(6);
	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	/*
	 * The warm-up runs every variant of a round once.  What it leaves
	 * behind is not a leak: malloc keeps the heap it has grown to, the
	 * VM layer keeps the frame chunks it has been given (and frames a
	 * copy-on-write copy left free in them) and the thread layer keeps
	 * joined threads' control blocks for the next ones.  How much a
	 * round needs at its peak depends on how its threads and children
	 * interleave, so a round of the soak may still take a chunk more
	 * (seen on an emulated CPU: one step of 256 frames in the first
	 * seconds, then none for the rest).  The counts are taken at the
	 * first progress line, DIAG_EVERY_S into the soak, and must come
	 * back exactly: a leak grows with the rounds that follow.
	 */
	while (round < VARIANTS)
		one_round(round++, &warm);
	tally_ok(&warm, "warm-up");
	start = t_rdtsc();
	end = start + (uint64_t)SOAK_SECONDS * MS_PER_S * tsc_khz;
	next_diag = start + (uint64_t)DIAG_EVERY_S * MS_PER_S * tsc_khz;
	while (t_rdtsc() < end) {
		one_round(round++, &soak);
		if (t_rdtsc() >= next_diag) {
			if (!free0) {
				free0 = frames_free();
				used0 = frames_used();
			}
			tap_diag("%u rounds in %lu s (frames in use %lu)", soak.rounds,
				 (t_rdtsc() - start) / (MS_PER_S * tsc_khz), frames_used());
			next_diag +=
			    (uint64_t)DIAG_EVERY_S * MS_PER_S * tsc_khz;
		}
	}
	tally_ok(&soak, "soak");
	tap_ok(free0 && frames_free() == free0,
	       "the kernel's free frames are back where they were %u s into "
	       "the soak (%lu, now %lu)",
	       DIAG_EVERY_S, free0, frames_free());
	tap_ok(used0 && frames_used() == used0,
	       "our frames in use are back where they were %u s into the "
	       "soak (%lu, now %lu)",
	       DIAG_EVERY_S, used0, frames_used());
	return tap_done();
}
