/*
 * t_thread.c: guest tests of the library OS's user-level threads
 * (libos_thread.h): create and join with return values, libos_thread_exit
 * from deep inside a thread, joining a thread that has already ended,
 * bad joins, yield, as many threads at once as the VM layer has room for
 * (and create failing cleanly past that), threads that never yield still
 * interleaving (preempted at the slice epilogue), a mutex-protected
 * counter under preemption, trylock, condition variables (a bounded
 * buffer with producers and consumers, broadcast), sleep ordering and
 * length, hundreds of threads created and joined with their stacks'
 * frames reused, and fork of a process whose threads are mid-work
 * (holding and waiting on mutexes, sleeping): the child has the forking
 * thread alone, the parent's threads all finish, and memory written
 * after the fork stays on its side.  Run with short slices
 * (tests/boot/envs.sh) so that preemption comes often.
 */
#include "t_util.h"

/*
 * As many threads at once as can be made, up to MANY: each stack is a
 * region of the VM layer, whose table (VM_REGIONS_MAX, 64 now) also holds
 * the image's and the heap's, so create may say -E_NOMEM first.
 */
#define MANY 200
#define MANY_ROUNDS 50 /* lock/increment rounds each */
#define PAIRS 8	       /* create/join with values */
#define MANY_YIELD_EVERY 7
#define SPINNERS 3	 /* threads that never yield */
#define SPIN_SLICES 30	 /* how long they spin, in slices */
#define SPIN_WORK 200	 /* busy iterations inside the lock */
#define MIN_RESUMED 2	 /* preemptions each spinner must come back from */
#define GIVE_UP_MS 10000 /* spinners stop if preemption never comes */
#define YIELDERS 3
#define YIELD_ROUNDS 3
#define PRODUCERS 2
#define CONSUMERS 3
#define ITEMS 300 /* per producer */
#define BUFFER 4
#define SLEEPERS 3
#define SLEEP_UNIT_MS 15
#define STRESS_BATCH 20
#define STRESS_BATCHES 10
#define STRESS_STACK_BYTES 2000 /* a buffer on each stack */
#define DEEP 5			 /* call depth before libos_thread_exit */
#define EXIT_VALUE 0x5eed
#define US_PER_MS 1000
#define FORK_CHILD_OK 32 /* the forked child's exit code when all is well */

static uint64_t tsc_khz;

/* Join n threads; true if every join succeeded. */
static bool join_all(libos_thread_t *t, unsigned n)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++)
		ok = libos_thread_join(t[i], NULL) == E_OK && ok;
	return ok;
}

/* ---- Create, join, exit ------------------------------------------------ */

static void *twice(void *arg)
{
	return t_to_ptr(t_from_ptr(arg) * 2 + 1);
}

/*
 * Never returns.  The call goes through a volatile pointer so that each
 * level keeps a frame of its own (and GCC does not call it endless).
 */
static unsigned exit_deep(unsigned depth);
static unsigned (*volatile deeper)(unsigned) = exit_deep;

static unsigned exit_deep(unsigned depth)
{
	if (depth == 0)
		libos_thread_exit(t_to_ptr(EXIT_VALUE));
	return deeper(depth - 1) + 1;
}

static void *exits_deep(void *arg)
{
	(void)arg;
	return t_to_ptr(exit_deep(DEEP));
}

static volatile bool quick_done;

static void *quick(void *arg)
{
	quick_done = true;
	return arg;
}

static void create_join(void)
{
	libos_thread_t t[PAIRS], d, q;
	void *ret;
	bool ok = t_create_all(t, PAIRS, twice), values = true;

	for (unsigned i = 0; i < PAIRS; i++) {
		ret = NULL;
		ok = libos_thread_join(t[i], &ret) == E_OK && ok;
		values = values && t_from_ptr(ret) == i * 2 + 1;
	}
	tap_ok(ok && values, "%u threads created and joined, each one's "
			     "return value collected", PAIRS);
	ret = NULL;
	tap_ok(libos_thread_create(&d, exits_deep, NULL) == E_OK &&
		       libos_thread_join(d, &ret) == E_OK &&
		       t_from_ptr(ret) == EXIT_VALUE,
	       "libos_thread_exit %u calls deep: join gets its value", DEEP);
	ret = NULL;
	ok = libos_thread_create(&q, quick, t_to_ptr(EXIT_VALUE)) == E_OK;
	while (ok && !quick_done)
		libos_thread_yield();
	libos_thread_yield(); /* it has returned: let it end */
	tap_ok(ok && libos_thread_join(q, &ret) == E_OK &&
		       t_from_ptr(ret) == EXIT_VALUE,
	       "join of a thread that had already ended");
	tap_ok(libos_thread_join(libos_thread_self(), NULL) == -E_INVAL &&
		       libos_thread_join(NULL, NULL) == -E_INVAL &&
		       libos_thread_join((libos_thread_t)&ret, NULL) == -E_INVAL,
	       "join of ourselves, of NULL, of no thread: -E_INVAL");
}

/* ---- Yield order ------------------------------------------------------- */

static char order[YIELDERS * YIELD_ROUNDS + 1];
static unsigned order_len;

static void *yielder(void *arg)
{
	for (unsigned r = 0; r < YIELD_ROUNDS; r++) {
		order[order_len++] = (char)('a' + t_from_ptr(arg));
		libos_thread_yield();
	}
	return NULL;
}

/*
 * Whether every other yielder appended between c's first and last
 * append.  Without preemption the order is exactly round robin; a slice
 * epilogue may shuffle it, but not starve anyone.
 */
static bool all_ran_between(char c)
{
	const char *first = memchr(order, c, order_len);
	const char *last = strrchr(order, c);

	for (unsigned i = 0; i < YIELDERS; i++) {
		char other = (char)('a' + i);

		if (!first || !last || (other != c &&
					!memchr(first, other, last - first)))
			return false;
	}
	return true;
}

static void yield_order(void)
{
	libos_thread_t t[YIELDERS];
	bool ok = t_create_all(t, YIELDERS, yielder);

	ok = join_all(t, YIELDERS) && ok;
	for (unsigned i = 0; i < YIELDERS; i++)
		ok = ok && all_ran_between((char)('a' + i));
	tap_ok(ok && order_len == YIELDERS * YIELD_ROUNDS,
	       "yield lets every other runnable thread run (order %s)",
	       order);
}

/* ---- Many threads, one mutex ------------------------------------------- */

static libos_mutex_t many_lock = LIBOS_MUTEX_INIT;
static volatile uint64_t many_count;

static void *many_worker(void *arg)
{
	(void)arg;
	for (unsigned r = 0; r < MANY_ROUNDS; r++) {
		libos_mutex_lock(&many_lock);
		many_count++;
		if (r % MANY_YIELD_EVERY == 0)
			libos_thread_yield(); /* holding it: others block */
		libos_mutex_unlock(&many_lock);
	}
	return NULL;
}

/*
 * Threads of fn until create fails (or MANY): their number, and in *err
 * the failure (E_OK if none).
 */
static unsigned fill_up(libos_thread_t *t, libos_thread_fn fn, long *err)
{
	unsigned n = 0;

	*err = E_OK;
	while (n < MANY && *err == E_OK) {
		*err = libos_thread_create(&t[n], fn, t_to_ptr(n));
		n += *err == E_OK;
	}
	return n;
}

/*
 * A failed create must be -E_NOMEM (no region or memory for a stack) and
 * leave nothing behind: once all are joined, as many can be made again.
 */
static void many(void)
{
	static libos_thread_t t[MANY];
	long err, again_err;
	unsigned n = fill_up(t, many_worker, &err), again;
	bool ok = join_all(t, n);

	tap_ok(ok && n > 1 && many_count == n * MANY_ROUNDS,
	       "%u threads at once, %u locked increments each: %lu", n,
	       MANY_ROUNDS, many_count);
	again = fill_up(t, twice, &again_err);
	ok = join_all(t, again) && ok;
	tap_ok(ok && (err == E_OK || err == -E_NOMEM) && again == n &&
		       again_err == err,
	       "then create says %ld; after the joins, the same again", err);
	tap_ok(ok && !(libos_uenv->flags & EXO_UENV_SLICE_EACH),
	       "back to one thread: no upcall per slice asked for");
}

/* ---- Preemption ------------------------------------------------------------
 * Spinners never yield, block or call the kernel: only the slice epilogue
 * can take the CPU from one.  Each counts its own progress and the times
 * it found the others' progress changed since it last looked (it was
 * preempted, and they ran).  Then locked spinners increment a shared
 * counter under a mutex, with a window between its read and its write.
 */
static volatile uint64_t progress[SPINNERS];
static uint64_t resumed[SPINNERS];

/*
 * How long spinners spin: counted in slices of ours (the uenv's count),
 * from the moment the last of them started, so that a slow host does not
 * shorten it; GIVE_UP_MS of TSC time bounds it if preemption fails.
 */
static volatile unsigned started;
static volatile uint64_t spin_until, give_up;

static void start_gate(void)
{
	if (__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST) == SPINNERS)
		spin_until = libos_uenv->slice.slices + SPIN_SLICES;
	while (!spin_until && t_rdtsc() < give_up)
		;
}

static bool spinning(void)
{
	return libos_uenv->slice.slices < spin_until && t_rdtsc() < give_up;
}

static uint64_t others_progress(unsigned me)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < SPINNERS; i++)
		sum += i == me ? 0 : progress[i];
	return sum;
}

static void *spinner(void *arg)
{
	unsigned me = (unsigned)t_from_ptr(arg);
	uint64_t seen;

	start_gate();
	seen = others_progress(me);
	while (spinning()) {
		uint64_t now = others_progress(me);

		progress[me]++;
		if (now != seen) {
			resumed[me]++;
			seen = now;
		}
	}
	return NULL;
}

static libos_mutex_t spin_lock = LIBOS_MUTEX_INIT;
static volatile uint64_t spin_count;
static uint64_t spin_mine[SPINNERS];

static void *locked_spinner(void *arg)
{
	unsigned me = (unsigned)t_from_ptr(arg);

	start_gate();
	while (spinning()) {
		uint64_t c;

		libos_mutex_lock(&spin_lock);
		c = spin_count;
		for (volatile unsigned w = 0; w < SPIN_WORK; w++)
			;
		spin_count = c + 1;
		spin_mine[me]++;
		libos_mutex_unlock(&spin_lock);
	}
	return NULL;
}

/* Run SPINNERS threads of fn for SPIN_SLICES slices; true if all ran. */
static bool spin_for_slices(libos_thread_fn fn)
{
	libos_thread_t t[SPINNERS];
	bool ok;

	started = 0;
	spin_until = 0;
	give_up = t_rdtsc() + GIVE_UP_MS * tsc_khz;
	ok = t_create_all(t, SPINNERS, fn);
	ok = ok && (libos_uenv->flags & EXO_UENV_SLICE_EACH);
	return join_all(t, SPINNERS) && ok;
}

static void preemption(void)
{
	uint64_t forced = libos_uenv->slice.forced, sum = 0, least = ~0ull;
	bool ok = spin_for_slices(spinner);

	for (unsigned i = 0; i < SPINNERS; i++)
		least = resumed[i] < least ? resumed[i] : least;
	tap_ok(ok && least >= MIN_RESUMED,
	       "%u threads that never yield interleave: each found the others "
	       "had run at least %lu times",
	       SPINNERS, least);
	ok = spin_for_slices(locked_spinner);
	for (unsigned i = 0; i < SPINNERS; i++) {
		sum += spin_mine[i];
		ok = ok && spin_mine[i] > 0;
	}
	tap_ok(ok && sum == spin_count,
	       "a mutex-protected counter under preemption: %lu increments "
	       "by %u threads, none lost",
	       sum, SPINNERS);
	/* A loaded host may stall us past the bound: not a failure. */
	tap_diag("epilogues not answered in time: %lu",
		 libos_uenv->slice.forced - forced);
}

/* ---- trylock ----------------------------------------------------------- */

static libos_mutex_t try_lock = LIBOS_MUTEX_INIT;

static void *try_other(void *arg)
{
	(void)arg;
	return t_to_ptr(libos_mutex_trylock(&try_lock));
}

static void trylock(void)
{
	libos_thread_t t;
	void *ret = t_to_ptr(true); /* what try_other gets if it fails */
	bool first = libos_mutex_trylock(&try_lock);

	libos_thread_create(&t, try_other, NULL);
	libos_thread_join(t, &ret);
	libos_mutex_unlock(&try_lock);
	tap_ok(first && ret == NULL && libos_mutex_trylock(&try_lock),
	       "trylock: taken when free, refused while another holds it");
	libos_mutex_unlock(&try_lock);
}

/* ---- Condition variables ----------------------------------------------- */

static libos_mutex_t buf_lock = LIBOS_MUTEX_INIT;
static libos_cond_t not_full = LIBOS_COND_INIT, not_empty = LIBOS_COND_INIT;
static uint64_t buf[BUFFER];
static unsigned buf_head, buf_len, producers_left = PRODUCERS;
static uint64_t consumed_sum, consumed_n;
static bool overflowed;

static void *producer(void *arg)
{
	uint64_t base = t_from_ptr(arg) * ITEMS;

	for (uint64_t i = 1; i <= ITEMS; i++) {
		libos_mutex_lock(&buf_lock);
		while (buf_len == BUFFER)
			libos_cond_wait(&not_full, &buf_lock);
		buf[(buf_head + buf_len++) % BUFFER] = base + i;
		libos_cond_signal(&not_empty);
		libos_mutex_unlock(&buf_lock);
	}
	libos_mutex_lock(&buf_lock);
	if (--producers_left == 0)
		libos_cond_broadcast(&not_empty); /* wake consumers to end */
	libos_mutex_unlock(&buf_lock);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	libos_mutex_lock(&buf_lock);
	for (;;) {
		while (buf_len == 0 && producers_left)
			libos_cond_wait(&not_empty, &buf_lock);
		if (buf_len == 0)
			break;
		overflowed = overflowed || buf_len > BUFFER;
		consumed_sum += buf[buf_head];
		consumed_n++;
		buf_head = (buf_head + 1) % BUFFER;
		buf_len--;
		libos_cond_signal(&not_full);
	}
	libos_mutex_unlock(&buf_lock);
	return NULL;
}

static void condvars(void)
{
	libos_thread_t p[PRODUCERS], c[CONSUMERS];
	uint64_t n = PRODUCERS * ITEMS, want = n * (n + 1) / 2;
	bool ok = t_create_all(c, CONSUMERS, consumer) &&
		  t_create_all(p, PRODUCERS, producer);

	ok = join_all(p, PRODUCERS) && ok;
	ok = join_all(c, CONSUMERS) && ok;
	tap_ok(ok && consumed_n == n && consumed_sum == want && !overflowed,
	       "bounded buffer: %u producers, %u consumers, %lu items, each "
	       "consumed once",
	       PRODUCERS, CONSUMERS, consumed_n);
}

/* ---- Sleep ------------------------------------------------------------- */

static libos_mutex_t woke_lock = LIBOS_MUTEX_INIT;
static unsigned woke[SLEEPERS], woke_n;
static bool slept_enough = true;

/* Thread i sleeps (SLEEPERS - i) units: the last created wakes first. */
static void *sleeper(void *arg)
{
	unsigned i = (unsigned)t_from_ptr(arg);
	uint64_t ms = (uint64_t)(SLEEPERS - i) * SLEEP_UNIT_MS;
	uint64_t t0 = t_rdtsc();

	libos_thread_sleep_us(ms * US_PER_MS);
	libos_mutex_lock(&woke_lock);
	slept_enough = slept_enough && t_rdtsc() - t0 >= ms * tsc_khz;
	woke[woke_n++] = i;
	libos_mutex_unlock(&woke_lock);
	return NULL;
}

static void sleeping(void)
{
	libos_thread_t t[SLEEPERS];
	uint64_t slices0, t0;
	bool ok = t_create_all(t, SLEEPERS, sleeper), in_order = true;

	ok = join_all(t, SLEEPERS) && ok;
	for (unsigned k = 0; k < SLEEPERS; k++)
		in_order = in_order && woke[k] == SLEEPERS - 1 - k;
	tap_ok(ok && woke_n == SLEEPERS && in_order,
	       "sleepers wake shortest first");
	tap_ok(slept_enough, "each slept at least as long as it asked");
	slices0 = libos_uenv->slice.slices;
	t0 = t_rdtsc();
	libos_thread_sleep_us(SLEEP_UNIT_MS * US_PER_MS);
	tap_ok(t_rdtsc() - t0 >= SLEEP_UNIT_MS * tsc_khz &&
		       libos_uenv->slice.slices > slices0,
	       "a lone thread sleeps by giving its slices away");
}

/* ---- Stress ------------------------------------------------------------ */

/* Fill a buffer on our stack; return its checksum plus our argument. */
static void *stack_toucher(void *arg)
{
	volatile uint8_t mem[STRESS_STACK_BYTES];
	uint64_t sum = 0;

	for (unsigned i = 0; i < STRESS_STACK_BYTES; i++)
		mem[i] = (uint8_t)(i + t_from_ptr(arg));
	for (unsigned i = 0; i < STRESS_STACK_BYTES; i++)
		sum += mem[i];
	return t_to_ptr(sum);
}

static uint64_t expected_sum(uint64_t arg)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < STRESS_STACK_BYTES; i++)
		sum += (uint8_t)(i + arg);
	return sum;
}

static uint64_t frames_held(void)
{
	struct vm_stats st;

	vm_get_stats(&st);
	return st.frames_held;
}

static void stress(void)
{
	libos_thread_t t[STRESS_BATCH];
	uint64_t held_first = 0;
	bool ok = true, values = true;

	for (unsigned b = 0; b < STRESS_BATCHES; b++) {
		ok = t_create_all(t, STRESS_BATCH, stack_toucher) && ok;
		for (unsigned i = 0; i < STRESS_BATCH; i++) {
			void *ret = NULL;

			ok = libos_thread_join(t[i], &ret) == E_OK && ok;
			values = values && t_from_ptr(ret) == expected_sum(i);
		}
		if (b == 0)
			held_first = frames_held();
	}
	tap_ok(ok && values, "%u threads created and joined, %u at a time, "
			     "each stack intact",
	       STRESS_BATCH * STRESS_BATCHES, STRESS_BATCH);
	tap_ok(frames_held() <= held_first,
	       "their stacks' frames are reused: %lu frames held after the "
	       "first batch and after the last",
	       held_first);
}

/* ---- fork ---------------------------------------------------------------
 * A busy process forks.  When a forker thread calls fork, the other
 * threads are all alive and mid-work: a holder sleeps holding busy_lock,
 * a waiter is blocked on it, workers count under work_lock (yielding
 * while they hold it), nappers sleep, and a marker waits to write.  In
 * the child only the forker goes on: alone, it makes threads of its own
 * that use malloc and a fresh mutex, and exits with a code that says
 * which checks failed.  In the parent every thread finishes its work.
 *
 * Isolation, both ways, at one address: after the fork the parent's
 * marker writes parent_mark and only then says so (hs->parent_wrote),
 * so the child's read comes after the write; the child writes
 * child_mark, which the parent reads once the child has ended.  The
 * handshake page is a VM_SHARED region, the one memory both see.
 */
#define WORKERS 2
#define NAPPERS 2
#define AFTER_FORK_ROUNDS 5 /* work each does once the fork is done */
#define CHILD_THREADS 4
#define CHILD_ALLOC 3000 /* bytes each child thread mallocs */
#define MARK_BEFORE 0x1111
#define MARK_PARENT 0x2222
#define MARK_CHILD 0x3333
#define HANDSHAKE_VA T_VA(0)

/* The child's exit code: FORK_CHILD_OK plus a bit per failed check. */
#define CHILD_NOT_ALONE 0x1
#define CHILD_NO_HANDSHAKE 0x2
#define CHILD_SAW_PARENT 0x4
#define CHILD_THREADS_FAILED 0x8
_Static_assert((FORK_CHILD_OK & 0xf) == 0 &&
		       FORK_CHILD_OK + 0xf <= EXO_ENV_EXIT_MAX,
	       "the child's failure bits stay apart from FORK_CHILD_OK");

/* The busy threads, by their index in forking()'s table. */
enum {
	B_HOLDER,
	B_WAITER,
	B_WORKER,
	B_NAPPER = B_WORKER + WORKERS,
	B_MARKER = B_NAPPER + NAPPERS,
	BUSY_THREADS
};

static struct handshake {
	volatile uint32_t parent_wrote, child_wrote;
} *hs;

static volatile uint64_t parent_mark = MARK_BEFORE, child_mark = MARK_BEFORE;
static volatile unsigned ready; /* busy threads started */
static volatile bool holding, fork_done, holder_released;
static libos_mutex_t busy_lock = LIBOS_MUTEX_INIT;
static libos_mutex_t work_lock = LIBOS_MUTEX_INIT;
static volatile uint64_t work_total;
static libos_mutex_t child_lock = LIBOS_MUTEX_INIT; /* the child's own */
static uint64_t child_sum;

static void busy_ready(void)
{
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
}

/* Holds busy_lock across the fork, asleep, and a while after it. */
static void *holder(void *arg)
{
	libos_mutex_lock(&busy_lock);
	holding = true;
	busy_ready();
	while (!fork_done)
		libos_thread_sleep_us(SLEEP_UNIT_MS * US_PER_MS);
	libos_thread_sleep_us(SLEEP_UNIT_MS * US_PER_MS);
	holder_released = true;
	libos_mutex_unlock(&busy_lock);
	return arg;
}

/* Blocked on busy_lock across the fork; true if it got it only after
 * the holder let go. */
static void *waiter(void *arg)
{
	bool after;

	(void)arg;
	while (!holding)
		libos_thread_yield();
	busy_ready();
	libos_mutex_lock(&busy_lock);
	after = holder_released;
	libos_mutex_unlock(&busy_lock);
	return t_to_ptr(after);
}

/* Counts under work_lock, before and after the fork; its own count. */
static void *worker(void *arg)
{
	uint64_t mine = 0, after = 0;

	(void)arg;
	busy_ready();
	while (after < AFTER_FORK_ROUNDS) {
		libos_mutex_lock(&work_lock);
		work_total++;
		mine++;
		libos_thread_yield(); /* holding it: the other blocks */
		libos_mutex_unlock(&work_lock);
		after += fork_done;
	}
	return t_to_ptr(mine);
}

/* Sleeps across the fork; how many naps it took after it. */
static void *napper(void *arg)
{
	uint64_t after = 0;

	(void)arg;
	busy_ready();
	while (after < AFTER_FORK_ROUNDS) {
		libos_thread_sleep_us(SLEEP_UNIT_MS * US_PER_MS);
		after += fork_done;
	}
	return t_to_ptr(after);
}

/* After the fork: writes parent_mark, then tells the child. */
static void *marker(void *arg)
{
	busy_ready();
	while (!fork_done)
		libos_thread_yield();
	parent_mark = MARK_PARENT;
	hs->parent_wrote = 1;
	return arg;
}

/* Each of the child's threads: malloc, fill, sum under a fresh mutex. */
static void *child_thread(void *arg)
{
	uint8_t *p = malloc(CHILD_ALLOC);
	uint64_t sum = 0;

	if (!p)
		return t_to_ptr(false);
	memset(p, (int)t_from_ptr(arg), CHILD_ALLOC);
	for (unsigned i = 0; i < CHILD_ALLOC; i++)
		sum += p[i];
	free(p);
	libos_mutex_lock(&child_lock);
	child_sum += sum;
	libos_mutex_unlock(&child_lock);
	return t_to_ptr(true);
}

static unsigned child_threads_fail(void)
{
	libos_thread_t t[CHILD_THREADS];
	uint64_t want = 0;
	bool ok = t_create_all(t, CHILD_THREADS, child_thread);

	for (unsigned i = 0; i < CHILD_THREADS; i++) {
		void *ret = NULL;

		ok = ok && libos_thread_join(t[i], &ret) == E_OK && ret;
		want += (uint64_t)i * CHILD_ALLOC;
	}
	return ok && child_sum == want ? 0 : CHILD_THREADS_FAILED;
}

/* In the child: the forker's thread alone. */
static _Noreturn void forked_child(void)
{
	uint64_t give_up_at = t_rdtsc() + GIVE_UP_MS * tsc_khz;
	unsigned failed = 0;

	if (libos_uenv->flags & EXO_UENV_SLICE_EACH)
		failed |= CHILD_NOT_ALONE;
	while (!hs->parent_wrote && t_rdtsc() < give_up_at)
		libos_thread_sleep_us(SLEEP_UNIT_MS * US_PER_MS);
	if (!hs->parent_wrote)
		failed |= CHILD_NO_HANDSHAKE;
	if (parent_mark != MARK_BEFORE)
		failed |= CHILD_SAW_PARENT;
	child_mark = MARK_CHILD;
	hs->child_wrote = 1;
	failed |= child_threads_fail();
	libos_exit(FORK_CHILD_OK + (int)failed);
}

/*
 * Forks once every busy thread is under way; the child's exit code.  It
 * waits for the child only after the marker has written: while it
 * waits it gives our slices to the child, and the others barely run.
 */
static void *forker(void *arg)
{
	long child;
	int status = -1;

	(void)arg;
	while (ready < BUSY_THREADS)
		libos_thread_yield();
	/* Once more round: the waiter, counted just before it locks, blocks. */
	libos_thread_yield();
	child = libos_fork();
	if (child == 0)
		forked_child();
	fork_done = true;
	while (child > 0 && !hs->parent_wrote)
		libos_thread_yield();
	if (child < 0 || libos_wait(child, &status) != child)
		return t_to_ptr(LIBOS_EXIT_FAILURE);
	return t_to_ptr((uint64_t)status);
}

static void forking(void)
{
	static const libos_thread_fn busy[BUSY_THREADS] = {
	    [B_HOLDER] = holder,
	    [B_WAITER] = waiter,
	    [B_WORKER ... B_NAPPER - 1] = worker,
	    [B_NAPPER ... B_MARKER - 1] = napper,
	    [B_MARKER] = marker,
	};
	libos_thread_t t[BUSY_THREADS], f;
	void *ret[BUSY_THREADS] = {NULL}, *status = NULL;
	uint64_t counted = 0;
	bool ok = true, naps = true;

	if (!tap_ok(vm_reserve(HANDSHAKE_VA, T_PAGE,
			       VM_PROT_READ | VM_PROT_WRITE, VM_SHARED) == E_OK,
		    "reserve a shared page for the fork's handshakes"))
		return;
	hs = (struct handshake *)HANDSHAKE_VA;
	/* Touched now: fork shares a shared region's pages that exist. */
	*hs = (struct handshake){0};
	for (unsigned i = 0; i < BUSY_THREADS; i++)
		ok = libos_thread_create(&t[i], busy[i], NULL) == E_OK && ok;
	ok = libos_thread_create(&f, forker, NULL) == E_OK &&
	     libos_thread_join(f, &status) == E_OK && ok;
	for (unsigned i = 0; i < BUSY_THREADS; i++)
		ok = libos_thread_join(t[i], &ret[i]) == E_OK && ok;
	tap_ok(ok && t_from_ptr(status) == FORK_CHILD_OK,
	       "fork from a thread while others hold a mutex, wait on it, "
	       "count and sleep: in the child that thread alone goes on, and "
	       "makes threads that use malloc and a mutex (exit %lu)",
	       t_from_ptr(status));
	for (unsigned i = B_WORKER; i < B_NAPPER; i++)
		counted += t_from_ptr(ret[i]);
	for (unsigned i = B_NAPPER; i < B_MARKER; i++)
		naps = naps && t_from_ptr(ret[i]) == AFTER_FORK_ROUNDS;
	tap_ok(ok && t_from_ptr(ret[B_WAITER]) && counted == work_total && naps,
	       "in the parent every thread goes on after the fork: the waiter "
	       "gets the lock once the holder lets go, %lu locked counts, "
	       "none lost, the sleepers wake",
	       counted);
	tap_ok(hs->child_wrote && parent_mark == MARK_PARENT &&
		       child_mark == MARK_BEFORE,
	       "memory after the fork: a parent thread's write is not seen by "
	       "the child, nor the child's by the parent");
}

int main(void)
{
	struct exo_sysinfo si;

	tap_plan(22);
	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	tap_ok(libos_thread_self() != NULL &&
		       !(libos_uenv->flags & EXO_UENV_SLICE_EACH),
	       "main is a thread; alone, it asks for no upcall per slice");
	create_join();
	yield_order();
	many();
	preemption();
	trylock();
	condvars();
	sleeping();
	stress();
	forking();
	return tap_done();
}
