/*
 * t_malloc.c: guest tests of the heap (libos_malloc.h): malloc(0),
 * alignment, sizes past the heap, a random stress of malloc, realloc and
 * free with every block's contents written and verified, realloc growing
 * and shrinking a block with its contents kept (in place where it can),
 * calloc zeroing reused memory, freed memory reused (the same block back,
 * and frames held that stop growing over repeated rounds), malloc and
 * free from several threads at once under preemption, blocks freed by
 * another thread than the one that allocated them, and bad frees (double
 * frees, pointers into a block) reported by a child of ours that must
 * then exit with LIBOS_EXIT_FAILURE.
 *
 * Run as a boot env it runs the tests; run as its own child it finds an
 * order (a PCT capability to its parent whose badge is a bad_free mode)
 * and does that one bad free.
 */
#include "t_util.h"

#define STRESS_SLOTS 256
#define STRESS_OPS 3000
#define SMALL_LIMIT 1024      /* most blocks are small ... */
#define MEDIUM_LIMIT 16384    /* ... some medium ... */
#define LARGE_LIMIT 100000    /* ... and a few large */
#define MEDIUM_PERCENT 20
#define LARGE_PERCENT 3
#define PERCENT 100
#define REALLOC_PERCENT 25
#define GROW_MAX (1u << 20)   /* realloc growth test: up to 1 MiB */
#define REUSE_ROUNDS 8
#define REUSE_BLOCKS 200
#define WORKERS 4
#define WORKER_SLOTS 64
#define WORKER_OPS 3000
#define HANDOFFS 500
#define HUGE_SIZE (1ull << 40) /* more than the heap can ever hold */
#define CHILD_QUOTA 128
#define BIG_CALLOC (1u << 20)
#define ALIGNED_SIZES 64
#define IN_PLACE_SMALL 100 /* realloc within one size class */
#define IN_PLACE_SMALL_MORE 110
#define STRESS_SEED 0x1234567ull /* any non-zero xorshift seeds */
#define REUSE_SEED 0xfeedull
#define WORKER_SEED 0x9e3779b9ull
#define HANDOFF_SEED 77ull

/* The bad frees a child of ours commits (its order). */
enum bad_free {
	BAD_DOUBLE_SMALL = 1,
	BAD_DOUBLE_LARGE,
	BAD_INSIDE_SMALL,
	BAD_INSIDE_LARGE,
	BAD_NMODES,
};

/* ---- Patterns ---------------------------------------------------------- */

/* Marsaglia's xorshift64 and its shifts. */
#define XORSHIFT_A 13
#define XORSHIFT_B 7
#define XORSHIFT_C 17

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << XORSHIFT_A;
	*s ^= *s >> XORSHIFT_B;
	*s ^= *s << XORSHIFT_C;
	return *s;
}

/*
 * Byte i of a block tagged tag: differs between tags and repeats only
 * every 256 * 256 bytes, so a block moved, cut or mixed with another
 * shows.
 */
#define PATTERN_TAG_MUL 31 /* odd multipliers: every byte value occurs */
#define PATTERN_STEP 7
#define PATTERN_PAGE_SHIFT 8

static uint8_t pattern_byte(uint64_t tag, size_t i)
{
	return (uint8_t)(tag * PATTERN_TAG_MUL + i * PATTERN_STEP +
			 (i >> PATTERN_PAGE_SHIFT));
}

static void fill(void *p, size_t n, uint64_t tag)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = pattern_byte(tag, i);
}

static bool check(const void *p, size_t n, uint64_t tag)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != pattern_byte(tag, i))
			return false;
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool aligned(const void *p)
{
	return (uintptr_t)p % LIBOS_MALLOC_ALIGN == 0;
}

static size_t random_size(uint64_t *s)
{
	uint64_t kind = rng_next(s) % PERCENT;

	if (kind < LARGE_PERCENT)
		return rng_next(s) % LARGE_LIMIT + 1;
	if (kind < LARGE_PERCENT + MEDIUM_PERCENT)
		return rng_next(s) % MEDIUM_LIMIT + 1;
	return rng_next(s) % SMALL_LIMIT;
}

static uint64_t frames_held(void)
{
	struct vm_stats st;

	vm_get_stats(&st);
	return st.frames_held;
}

/* ---- A set of blocks under random churn -------------------------------- */

struct slot {
	void *p;
	size_t n;
	uint64_t tag;
};

/*
 * One random operation on slots[i]: allocate, reallocate (contents kept
 * up to the smaller size) or free, verifying what was there.  False if a
 * block's contents were wrong or an allocation failed.
 */
static bool churn_one(struct slot *sl, uint64_t *s)
{
	bool ok = true;
	size_t n = random_size(s);

	if (sl->p && rng_next(s) % PERCENT < REALLOC_PERCENT) {
		size_t m = n ? n : 1; /* realloc(p, 0) would free p */
		void *q = realloc(sl->p, m);

		if (!q)
			return false;
		ok = aligned(q) && check(q, m < sl->n ? m : sl->n, sl->tag);
		sl->p = q;
		sl->n = m;
		fill(q, m, ++sl->tag);
		return ok;
	}
	if (sl->p) {
		ok = check(sl->p, sl->n, sl->tag);
		free(sl->p);
		sl->p = NULL;
		return ok;
	}
	sl->p = malloc(n);
	sl->n = n;
	if (!sl->p)
		return false;
	fill(sl->p, n, ++sl->tag);
	return aligned(sl->p);
}

/* Verify and free every block; false if one was wrong. */
static bool drain(struct slot *slots, unsigned n)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++) {
		if (!slots[i].p)
			continue;
		ok = check(slots[i].p, slots[i].n, slots[i].tag) && ok;
		free(slots[i].p);
		slots[i].p = NULL;
	}
	return ok;
}

static bool churn(struct slot *slots, unsigned nslots, unsigned ops,
		  uint64_t seed)
{
	bool ok = true;

	for (unsigned k = 0; k < ops; k++)
		ok = churn_one(&slots[rng_next(&seed) % nslots], &seed) && ok;
	return drain(slots, nslots) && ok;
}

/* ---- Tests ------------------------------------------------------------- */

static void basics(void)
{
	void *a = malloc(0), *b = malloc(0);
	bool all_aligned = true;

	tap_ok(a && b && a != b, "malloc(0): distinct blocks");
	free(a);
	free(b);
	free(NULL);
	for (size_t n = 1; n <= ALIGNED_SIZES; n++) {
		void *p = malloc(n * n * n);

		all_aligned = all_aligned && p && aligned(p);
		free(p);
	}
	tap_ok(all_aligned, "every block is %u-byte aligned (sizes up to %u)",
	       LIBOS_MALLOC_ALIGN, ALIGNED_SIZES * ALIGNED_SIZES * ALIGNED_SIZES);
	tap_ok(!malloc(HUGE_SIZE) && !malloc(~(size_t)0) &&
		       !calloc(~(size_t)0 / 2, 3) && !realloc(NULL, HUGE_SIZE),
	       "more than the heap holds, or calloc overflowing: NULL");
}

static struct slot stress_slots[STRESS_SLOTS];

static void stress(void)
{
	tap_ok(churn(stress_slots, STRESS_SLOTS, STRESS_OPS, STRESS_SEED),
	       "%u random mallocs, reallocs and frees over %u blocks, every "
	       "block's contents intact",
	       STRESS_OPS, STRESS_SLOTS);
}

static void growth(void)
{
	size_t n = 1;
	uint8_t *p = malloc(n), *q;
	bool ok = p != NULL;

	fill(p, n, 0);
	for (; ok && n < GROW_MAX; n *= 2) {
		p = realloc(p, n * 2);
		ok = p && check(p, n, 0);
		if (ok)
			fill(p, n * 2, 0);
	}
	tap_ok(ok, "realloc growing a block from 1 byte to %u, doubling: "
		   "contents kept", GROW_MAX);
	for (; ok && n > 1; n /= 2) {
		p = realloc(p, n / 2);
		ok = p && check(p, n / 2, 0);
	}
	tap_ok(ok, "and shrinking it back, halving: contents kept");
	free(p);
	p = malloc(IN_PLACE_SMALL);
	q = realloc(p, IN_PLACE_SMALL_MORE);
	tap_ok(p && q == p, "realloc within a size class stays in place");
	free(q);
	p = malloc(LARGE_LIMIT);
	q = realloc(p, LARGE_LIMIT / 2);
	tap_ok(p && q == p, "realloc shrinking a large block stays in place");
	free(q);
}

/*
 * Blocks freed and allocated again beside pin, a block of their size
 * class kept allocated: its span stays in use, so the block comes back.
 */
static void zeroing(void)
{
	uint8_t *pin = malloc(SMALL_LIMIT), *p = malloc(SMALL_LIMIT), *z, *big;

	fill(p, SMALL_LIMIT, 1);
	free(p);
	z = calloc(SMALL_LIMIT / sizeof(uint32_t), sizeof(uint32_t));
	tap_ok(pin && z == p && all_zero(z, SMALL_LIMIT),
	       "calloc reusing a dirty block zeroes it");
	free(z);
	free(pin);
	big = malloc(BIG_CALLOC);
	fill(big, BIG_CALLOC, 2);
	free(big);
	big = calloc(1, BIG_CALLOC);
	tap_ok(big && all_zero(big, BIG_CALLOC), "a large calloc is zero");
	free(big);
}

static uint64_t reuse_round(void)
{
	static void *blocks[REUSE_BLOCKS];
	uint64_t seed = REUSE_SEED;

	for (unsigned i = 0; i < REUSE_BLOCKS; i++) {
		size_t n = random_size(&seed);

		blocks[i] = malloc(n);
		fill(blocks[i], n, i);
	}
	for (unsigned i = 0; i < REUSE_BLOCKS; i++)
		free(blocks[i]);
	return frames_held();
}

static void reuse(void)
{
	void *pin = malloc(SMALL_LIMIT), *a = malloc(SMALL_LIMIT), *b;
	uint64_t first, last = 0;

	/* pin: as in zeroing() */
	free(a);
	b = malloc(SMALL_LIMIT);
	tap_ok(pin && a && b == a, "a freed block is the next one of its size");
	free(b);
	free(pin);
	first = reuse_round();
	for (unsigned r = 1; r < REUSE_ROUNDS; r++)
		last = reuse_round();
	tap_ok(last <= first,
	       "freed memory is reused: frames held %lu after the first of %u "
	       "rounds, %lu after the last",
	       first, REUSE_ROUNDS, last);
}

/* ---- Threads ----------------------------------------------------------- */

static struct slot worker_slots[WORKERS][WORKER_SLOTS];

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;

	return (void *)(uintptr_t)churn(worker_slots[me], WORKER_SLOTS,
					WORKER_OPS, WORKER_SEED + me);
}

static void threads(void)
{
	libos_thread_t t[WORKERS];
	bool ok = true;
	uint64_t forced = libos_uenv->slice.forced;

	for (unsigned i = 0; i < WORKERS; i++)
		ok = libos_thread_create(&t[i], worker, (void *)(uintptr_t)i) ==
			     E_OK &&
		     ok;
	for (unsigned i = 0; i < WORKERS; i++) {
		void *ret = NULL;

		ok = libos_thread_join(t[i], &ret) == E_OK && ret && ok;
	}
	tap_ok(ok, "%u threads at once, %u random operations each under "
		   "preemption: every block intact",
	       WORKERS, WORKER_OPS);
	tap_diag("epilogues forced by the kernel meanwhile: %lu",
		 libos_uenv->slice.forced - forced);
}

/* A block allocated here is checked and freed by the other thread. */
static libos_mutex_t hand_lock = LIBOS_MUTEX_INIT;
static libos_cond_t hand_cond = LIBOS_COND_INIT;
static void *handed;
static size_t handed_n;
static bool hand_ok = true;

static void *receiver(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < HANDOFFS; i++) {
		libos_mutex_lock(&hand_lock);
		while (!handed)
			libos_cond_wait(&hand_cond, &hand_lock);
		hand_ok = hand_ok && check(handed, handed_n, i);
		free(handed);
		handed = NULL;
		libos_cond_signal(&hand_cond);
		libos_mutex_unlock(&hand_lock);
	}
	return NULL;
}

static void cross_thread(void)
{
	libos_thread_t t;
	uint64_t seed = HANDOFF_SEED;
	bool ok = libos_thread_create(&t, receiver, NULL) == E_OK;

	for (unsigned i = 0; ok && i < HANDOFFS; i++) {
		size_t n = random_size(&seed);
		void *p = malloc(n);

		fill(p, n, i);
		libos_mutex_lock(&hand_lock);
		while (handed)
			libos_cond_wait(&hand_cond, &hand_lock);
		handed = p;
		handed_n = n;
		libos_cond_signal(&hand_cond);
		libos_mutex_unlock(&hand_lock);
	}
	ok = ok && libos_thread_join(t, NULL) == E_OK;
	tap_ok(ok && hand_ok, "%u blocks freed by another thread than the "
			      "one that allocated them",
	       HANDOFFS);
}

/* ---- Bad frees, in a child --------------------------------------------- */

static const char *const bad_names[BAD_NMODES] = {
	[BAD_DOUBLE_SMALL] = "a small block freed twice",
	[BAD_DOUBLE_LARGE] = "a large block freed twice",
	[BAD_INSIDE_SMALL] = "a pointer into a small block",
	[BAD_INSIDE_LARGE] = "realloc of a pointer into a large block",
};

/* The child's side: commit the bad free; reaching the end is a failure. */
static _Noreturn void bad_free(uint64_t mode)
{
	char *small = malloc(IN_PLACE_SMALL), *large = malloc(LARGE_LIMIT);

	switch (mode) {
	case BAD_DOUBLE_SMALL:
		free(small);
		free(small);
		break;
	case BAD_DOUBLE_LARGE:
		free(large);
		free(large);
		break;
	case BAD_INSIDE_SMALL:
		free(small + LIBOS_MALLOC_ALIGN);
		break;
	case BAD_INSIDE_LARGE:
		realloc(large + LARGE_LIMIT / 2 / LIBOS_MALLOC_ALIGN *
					LIBOS_MALLOC_ALIGN,
			IN_PLACE_SMALL);
		break;
	}
	libos_exit(LIBOS_EXIT_SUCCESS);
}

/* Spawn ourselves with mode as the order; the child's exit code. */
static long run_child(uint64_t mode)
{
	long c = libos_spawn_stopped("t_malloc", CHILD_QUOTA, 0), order, code;

	if (c < 0)
		return c;
	order = sys_pct_create(mode);
	if (order < 0 || sys_cap_grant(order, c, EXO_R_CALL, EXO_SLOT_ANY) < 0 ||
	    sys_env_start(c) != E_OK)
		code = -1;
	else
		code = t_wait(c);
	sys_cap_drop(order);
	libos_spawn_free(c);
	sys_cap_drop(c);
	return code;
}

static void bad_frees(void)
{
	for (uint64_t m = BAD_DOUBLE_SMALL; m < BAD_NMODES; m++) {
		long code = run_child(m);

		tap_ok(code == LIBOS_EXIT_FAILURE,
		       "%s: reported, the process exits %d (%ld)", bad_names[m],
		       LIBOS_EXIT_FAILURE, code);
	}
}

int main(void)
{
	long order = libos_uenv->parent == EXO_ENV_NONE
			     ? -1
			     : t_find_cap(EXO_SLOT_INITRD, EXO_CAP_PCT,
					  libos_uenv->parent);
	struct exo_cap_info ci;

	if (order >= 0 && sys_cap_info(order, &ci) == E_OK)
		bad_free(ci.base);
	tap_plan(14 + BAD_NMODES - BAD_DOUBLE_SMALL);
	basics();
	stress();
	growth();
	zeroing();
	reuse();
	threads();
	cross_thread();
	bad_frees();
	return tap_done();
}
