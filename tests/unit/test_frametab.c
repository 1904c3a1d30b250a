/*
 * test_frametab.c: Check tests of the frame table and reverse map
 * (exo/lib/frametab.c), and of the liveness checks capabilities rely on
 * (a whole run, or any page of it).
 *
 * Each table lives in a heap buffer of exactly frametab_bytes() bytes,
 * often at an odd address, so valgrind or AddressSanitizer would catch a
 * layout that overruns it.  check_integrity() walks the free list and the
 * mapping pool after the operations under test and checks every link.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/frametab.h"

#define NFRAMES 64u
#define ENV_A 0x101u
#define ENV_B 0x102u
#define VA(i) (0x400000ull + (uint64_t)(i)*EXO_PAGE_SIZE)
#define MAX_MISALIGN 16 /* byte offsets tried for the caller's memory */
#define EPOCH_ROUNDS 1000
#define STRESS_SEEDS 4
#define STRESS_OPS 20000
#define STRESS_TIMEOUT 60 /* seconds: slow under valgrind */
#define STRESS_MAX_RUN 4
#define LCG_MUL 6364136223846793005ull
#define LCG_ADD 1442695040888963407ull
#define LCG_SHIFT 33

/*
 * A passing ck_assert reports its line to the Check runner, a system call
 * each; the integrity walks run millions of checks, so they call Check
 * only on failure.
 */
#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);  \
	} while (0)

struct table {
	struct frametab ft;
	unsigned char *buf; /* what to free */
};

/* n frames, all kernel-owned, high zone from split, laid out `misalign`
 * bytes into a buffer. */
static void table_init_zoned(struct table *t, size_t n, size_t misalign,
			     uint32_t split)
{
	size_t bytes = frametab_bytes(n);

	t->buf = malloc(misalign + bytes);
	ck_assert_ptr_nonnull(t->buf);
	frametab_init(&t->ft, t->buf + misalign, n, split);
}

/* The same with one zone. */
static void table_init(struct table *t, size_t n, size_t misalign)
{
	table_init_zoned(t, n, misalign, (uint32_t)n);
}

/* n frames, all released to the free list. */
static void table_free_all(struct table *t, size_t n)
{
	table_init(t, n, 0);
	for (uint32_t f = 0; f < n; f++)
		frametab_release(&t->ft, f);
}

static void table_fini(struct table *t)
{
	free(t->buf);
}

/* Each zone's queue is a proper doubly linked list of its free frames, and
 * together they hold exactly the free frames. */
static void check_free_list(const struct frametab *ft)
{
	size_t nfree_owned = 0, walked = 0;

	for (size_t i = 0; i < ft->nframes; i++)
		nfree_owned += ft->frames[i].owner == FT_OWNER_FREE;
	REQUIRE(nfree_owned == ft->nfree);
	for (int z = 0; z < FT_ZONES; z++) {
		uint32_t prev = FT_NONE;

		for (uint32_t f = ft->free[z].head; f != FT_NONE;
		     f = ft->frames[f].next) {
			REQUIRE(f < ft->nframes);
			REQUIRE((f < ft->split) == (z == FT_ZONE_LOW));
			REQUIRE(++walked <= ft->nfree); /* no cycle */
			REQUIRE(ft->frames[f].owner == FT_OWNER_FREE);
			REQUIRE(ft->frames[f].prev == prev);
			REQUIRE(ft->frames[f].epoch == 0);
			prev = f;
		}
		REQUIRE(ft->free[z].tail == prev);
	}
	REQUIRE(walked == ft->nfree);
}

/* Every pool entry is on the pool or exactly one frame's list, once. */
static void check_rmaps(const struct frametab *ft)
{
	unsigned char *seen = calloc(ft->nrmaps ? ft->nrmaps : 1, 1);
	size_t total = 0;

	REQUIRE(seen != NULL);
	for (size_t f = 0; f < ft->nframes; f++) {
		uint32_t n = 0;

		for (uint32_t r = ft->frames[f].rmap; r != FT_NONE;
		     r = ft->rmaps[r].next) {
			REQUIRE(r < ft->nrmaps);
			REQUIRE(seen[r]++ == 0);
			n++;
		}
		REQUIRE(n == ft->frames[f].nmaps);
		total += n;
	}
	for (uint32_t r = ft->rmap_free; r != FT_NONE; r = ft->rmaps[r].next) {
		REQUIRE(r < ft->rmap_unused); /* only used entries come back */
		REQUIRE(seen[r]++ == 0);
		total++;
	}
	REQUIRE(ft->rmap_unused <= ft->nrmaps);
	REQUIRE(total + (ft->nrmaps - ft->rmap_unused) == ft->nrmaps);
	free(seen);
}

static void check_integrity(const struct frametab *ft)
{
	check_free_list(ft);
	check_rmaps(ft);
}

/* ---- Layout ----------------------------------------------------------- */

START_TEST(test_layout_fits_any_alignment)
{
	static const size_t sizes[] = {0, 1, 3, 17, NFRAMES};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t off = 0; off < MAX_MISALIGN; off++) {
			struct table t;
			size_t n = sizes[s];
			unsigned char *mem, *end;

			table_init(&t, n, off);
			mem = t.buf + off;
			end = mem + frametab_bytes(n);
			ck_assert_uint_eq((uintptr_t)t.ft.frames %
					      _Alignof(struct ft_frame),
					  0);
			ck_assert_uint_eq((uintptr_t)t.ft.rmaps %
					      _Alignof(struct ft_rmap),
					  0);
			ck_assert_uint_ge((uintptr_t)t.ft.frames,
					  (uintptr_t)mem);
			ck_assert_uint_le((uintptr_t)(t.ft.frames + n),
					  (uintptr_t)t.ft.rmaps);
			ck_assert_uint_eq(t.ft.nframes, n);
			ck_assert_uint_eq(t.ft.nrmaps, n * FT_RMAP_PER_FRAME);
			ck_assert_uint_le((uintptr_t)(t.ft.rmaps + t.ft.nrmaps),
					  (uintptr_t)end);
			check_integrity(&t.ft);
			table_fini(&t);
		}
	}
}
END_TEST

START_TEST(test_bytes_grow_and_do_not_wrap)
{
	size_t per_frame = sizeof(struct ft_frame) +
			   FT_RMAP_PER_FRAME * sizeof(struct ft_rmap);

	ck_assert_uint_ge(frametab_bytes(NFRAMES), NFRAMES * per_frame);
	ck_assert_uint_gt(frametab_bytes(NFRAMES + 1), frametab_bytes(NFRAMES));
	/* Beyond 32-bit indices the table stops growing instead of wrapping. */
	ck_assert_uint_ge(frametab_bytes(SIZE_MAX), frametab_bytes(1u << 20));
	ck_assert_uint_ge(frametab_bytes(SIZE_MAX / 2),
			  frametab_bytes(1u << 20));
}
END_TEST

START_TEST(test_init_all_kernel)
{
	struct table t;
	uint32_t out;

	table_init(&t, NFRAMES, 1);
	ck_assert_uint_eq(t.ft.nfree, 0);
	ck_assert_uint_eq(t.ft.free[FT_ZONE_LOW].head, FT_NONE);
	for (uint32_t f = 0; f < NFRAMES; f++) {
		ck_assert_uint_eq(t.ft.frames[f].owner, FT_OWNER_KERNEL);
		ck_assert_uint_eq(t.ft.frames[f].nmaps, 0);
		ck_assert_uint_eq(t.ft.frames[f].rmap, FT_NONE);
		ck_assert(!frametab_live(&t.ft, f, 1, t.ft.frames[f].epoch));
	}
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &out),
			 -E_NOMEM);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 0, 1, &out), -E_BUSY);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_release)
{
	struct table t;
	uint32_t out;

	table_init(&t, NFRAMES, 0);
	frametab_release(&t.ft, 7);
	ck_assert_uint_eq(t.ft.nfree, 1);
	ck_assert_uint_eq(t.ft.frames[7].owner, FT_OWNER_FREE);
	/* Releasing a free frame or one past the end changes nothing. */
	frametab_release(&t.ft, 7);
	frametab_release(&t.ft, NFRAMES);
	frametab_release(&t.ft, FT_NONE);
	ck_assert_uint_eq(t.ft.nfree, 1);
	check_integrity(&t.ft);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &out), 0);
	ck_assert_uint_eq(out, 7);
	/* An env's frame is not the kernel's to release. */
	frametab_release(&t.ft, 7);
	ck_assert_uint_eq(t.ft.frames[7].owner, ENV_A);
	ck_assert_uint_eq(t.ft.nfree, 0);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

/* ---- Allocation --------------------------------------------------------- */

START_TEST(test_alloc_any)
{
	struct table t;
	uint32_t a, b;

	table_free_all(&t, NFRAMES);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &a), 0);
	ck_assert_uint_lt(a, NFRAMES);
	ck_assert_uint_eq(t.ft.frames[a].owner, ENV_A);
	ck_assert_uint_ne(t.ft.frames[a].epoch, 0);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - 1);
	ck_assert(frametab_live(&t.ft, a, 1, t.ft.frames[a].epoch));

	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &b), 0);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(t.ft.frames[b].owner, ENV_B);
	ck_assert_uint_ne(t.ft.frames[a].epoch, t.ft.frames[b].epoch);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - 2);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_alloc_until_empty)
{
	struct table t;
	uint64_t seen = 0;
	uint32_t f;

	table_free_all(&t, NFRAMES);
	for (unsigned i = 0; i < NFRAMES; i++) {
		ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f),
				 0);
		ck_assert_uint_eq(seen & (1ull << f), 0);
		seen |= 1ull << f;
	}
	ck_assert_uint_eq(seen, UINT64_MAX);
	ck_assert_uint_eq(t.ft.nfree, 0);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f),
			 -E_NOMEM);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_alloc_named)
{
	struct table t;
	uint32_t out = 0;

	table_free_all(&t, NFRAMES);
	/* A frame in the middle of the free list comes off it. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 30, 1, &out), 0);
	ck_assert_uint_eq(out, 30);
	ck_assert_uint_eq(t.ft.frames[30].owner, ENV_A);
	check_integrity(&t.ft);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 10, 3, &out), 0);
	ck_assert_uint_eq(out, 10);
	ck_assert_uint_eq(t.ft.frames[10].epoch, t.ft.frames[12].epoch);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - 4);
	/* The first and last frames of the table. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 0, 1, &out), 0);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, NFRAMES - 1, 1, &out), 0);
	ck_assert_uint_eq(out, NFRAMES - 1);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_alloc_named_busy)
{
	struct table t;
	uint32_t out = 0;
	size_t nfree;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 20, 1, &out), 0);
	nfree = t.ft.nfree;
	out = 0xdead;
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 20, 1, &out), -E_BUSY);
	/* A run that only ends on the busy frame is busy too. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 17, 4, &out), -E_BUSY);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 20, 5, &out), -E_BUSY);
	ck_assert_uint_eq(out, 0xdead);
	ck_assert_uint_eq(t.ft.nfree, nfree);
	ck_assert_uint_eq(t.ft.frames[20].owner, ENV_A);
	for (uint32_t f = 17; f < 20; f++)
		ck_assert_uint_eq(t.ft.frames[f].owner, FT_OWNER_FREE);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_alloc_bad_args)
{
	struct table t;
	uint32_t out = 0xdead;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 0, &out),
			 -E_INVAL);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 0, 0, &out), -E_INVAL);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, NFRAMES, 1, &out),
			 -E_INVAL);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, NFRAMES - 1, 2, &out),
			 -E_INVAL);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 1, NFRAMES, &out),
			 -E_INVAL);
	/* first + count wraps 32 bits round to a small number. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 2, UINT32_MAX, &out),
			 -E_INVAL);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, UINT32_MAX - 1, 3, &out),
			 -E_INVAL);
	/* FT_OWNER_FREE cannot own a frame. */
	ck_assert_int_eq(frametab_alloc(&t.ft, FT_OWNER_FREE, 0, 1, &out),
			 -E_INVAL);
	ck_assert_uint_eq(out, 0xdead);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_alloc_contiguous)
{
	struct table t;
	uint32_t out, f;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 5, &out), 0);
	ck_assert_uint_le(out + 5, NFRAMES);
	for (f = out; f < out + 5; f++) {
		ck_assert_uint_eq(t.ft.frames[f].owner, ENV_A);
		ck_assert_uint_eq(t.ft.frames[f].epoch, t.ft.frames[out].epoch);
	}
	ck_assert(frametab_live(&t.ft, out, 5, t.ft.frames[out].epoch));
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - 5);
	check_integrity(&t.ft);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, NFRAMES, &out),
			 -E_NOMEM);
	ck_assert_int_eq(
	    frametab_alloc(&t.ft, ENV_A, FT_NONE, UINT32_MAX - 1, &out),
	    -E_NOMEM);
	table_fini(&t);
}
END_TEST

/* Half the frames free, none adjacent: runs fail, single frames work. */
START_TEST(test_alloc_contiguous_fragmented)
{
	struct table t;
	uint32_t out;

	table_free_all(&t, NFRAMES);
	for (uint32_t f = 0; f < NFRAMES; f += 2)
		ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, f, 1, &out), 0);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES / 2);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 2, &out),
			 -E_NOMEM);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES / 2);
	frametab_free(&t.ft, 40);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 3, &out), 0);
	ck_assert_uint_eq(out, 39);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &out), 0);
	ck_assert_uint_eq(out % 2, 1);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

/* ---- Free and epochs ---------------------------------------------------- */

START_TEST(test_free)
{
	struct table t;
	uint32_t f, epoch;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 9, 1, &f), 0);
	t.ft.frames[f].flags = FT_VITAL | FT_UENV;
	epoch = t.ft.frames[f].epoch;
	ck_assert(frametab_live(&t.ft, f, 1, epoch));
	frametab_free(&t.ft, f);
	ck_assert_uint_eq(t.ft.frames[f].owner, FT_OWNER_FREE);
	ck_assert_uint_eq(t.ft.frames[f].epoch, 0);
	ck_assert_uint_eq(t.ft.frames[f].flags, 0);
	ck_assert(!frametab_live(&t.ft, f, 1, epoch));
	ck_assert(!frametab_live(&t.ft, f, 1, 0));
	ck_assert_uint_eq(t.ft.nfree, NFRAMES);
	/* A second free is ignored: the list must not gain a loop. */
	frametab_free(&t.ft, f);
	frametab_free(&t.ft, NFRAMES);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES);
	check_integrity(&t.ft);
	/* Allocated again, it has a new epoch: the old one stays dead. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 9, 1, &f), 0);
	ck_assert_uint_ne(t.ft.frames[f].epoch, epoch);
	ck_assert(!frametab_live(&t.ft, f, 1, epoch));
	table_fini(&t);
}
END_TEST

/* A frame freed is handed out after every frame that was already free. */
START_TEST(test_freed_frame_reused_last)
{
	struct table t;
	uint32_t freed, f;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &freed), 0);
	frametab_free(&t.ft, freed);
	for (uint32_t i = 0; i + 1 < NFRAMES; i++) {
		ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &f),
				 0);
		ck_assert_uint_ne(f, freed);
	}
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &f), 0);
	ck_assert_uint_eq(f, freed);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_free_refuses_mapped_frame)
{
	struct table t;
	uint32_t f;
	exo_envid_t env;
	uint64_t va;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, f, ENV_A, VA(0)), 0);
	frametab_free(&t.ft, f);
	ck_assert_uint_eq(t.ft.frames[f].owner, ENV_A);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - 1);
	ck_assert(frametab_rmap_pop(&t.ft, f, &env, &va));
	frametab_free(&t.ft, f);
	ck_assert_uint_eq(t.ft.frames[f].owner, FT_OWNER_FREE);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_epochs_distinct)
{
	static uint32_t epochs[EPOCH_ROUNDS];
	struct table t;
	uint32_t f;

	table_free_all(&t, NFRAMES);
	for (unsigned i = 0; i < EPOCH_ROUNDS; i++) {
		REQUIRE(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f) == 0);
		epochs[i] = t.ft.frames[f].epoch;
		REQUIRE(epochs[i] != 0);
		for (unsigned j = 0; j < i; j++)
			REQUIRE(epochs[i] != epochs[j]);
		frametab_free(&t.ft, f);
	}
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_epoch_skips_zero)
{
	struct table t;
	uint32_t a, b;

	table_free_all(&t, NFRAMES);
	t.ft.next_epoch = UINT32_MAX;
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &a), 0);
	ck_assert_uint_eq(t.ft.frames[a].epoch, UINT32_MAX);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 2, &b), 0);
	ck_assert_uint_ne(t.ft.frames[b].epoch, 0);
	ck_assert_uint_ne(t.ft.frames[b].epoch, UINT32_MAX);
	ck_assert_uint_eq(t.ft.frames[b + 1].epoch, t.ft.frames[b].epoch);
	ck_assert(frametab_live(&t.ft, b, 2, t.ft.frames[b].epoch));
	table_fini(&t);
}
END_TEST

START_TEST(test_live)
{
	struct table t;
	uint32_t a, b;
	uint32_t ea, eb;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 4, 2, &a), 0);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 6, 2, &b), 0);
	ea = t.ft.frames[a].epoch;
	eb = t.ft.frames[b].epoch;
	ck_assert(frametab_live(&t.ft, 4, 2, ea));
	ck_assert(frametab_live(&t.ft, 5, 1, ea));
	ck_assert(frametab_live(&t.ft, 6, 2, eb));
	/* Two allocations side by side are not one. */
	ck_assert(!frametab_live(&t.ft, 4, 4, ea));
	ck_assert(!frametab_live(&t.ft, 5, 2, ea));
	/* Free frames, empty ranges and ranges past the end. */
	ck_assert(!frametab_live(&t.ft, 3, 2, ea));
	ck_assert(!frametab_live(&t.ft, 4, 0, ea));
	ck_assert(!frametab_live(&t.ft, NFRAMES, 1, ea));
	ck_assert(!frametab_live(&t.ft, 4, UINT64_MAX, ea));
	ck_assert(!frametab_live(&t.ft, UINT64_MAX, 2, ea)); /* sum wraps */
	ck_assert(!frametab_live(&t.ft, (1ull << 32) | 4, 1, ea));
	table_fini(&t);
}
END_TEST

/*
 * A capability stays alive while any page of its range is: a partly freed
 * run, not a neighbour with another epoch, nor a frame allocated again.
 */
START_TEST(test_any_live)
{
	struct table t;
	uint32_t a, b, again;
	uint32_t ea, eb;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 8, 4, &a), 0);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 12, 2, &b), 0);
	ea = t.ft.frames[a].epoch;
	eb = t.ft.frames[b].epoch;
	ck_assert(frametab_any_live(&t.ft, 8, 4, ea));
	/* A hole in the middle: the run is no longer whole, still alive. */
	frametab_free(&t.ft, 9);
	ck_assert(!frametab_live(&t.ft, 8, 4, ea));
	ck_assert(frametab_any_live(&t.ft, 8, 4, ea));
	ck_assert(!frametab_any_live(&t.ft, 9, 1, ea));
	frametab_free(&t.ft, 8);
	frametab_free(&t.ft, 10);
	ck_assert(frametab_any_live(&t.ft, 8, 4, ea)); /* the last page */
	ck_assert(frametab_any_live(&t.ft, 11, 1, ea));
	/* A range reaching into the neighbour: only ea's frames count. */
	ck_assert(frametab_any_live(&t.ft, 8, 6, eb));
	frametab_free(&t.ft, 11);
	ck_assert(!frametab_any_live(&t.ft, 8, 4, ea));
	ck_assert(!frametab_any_live(&t.ft, 8, 6, ea));
	ck_assert(frametab_any_live(&t.ft, 8, 6, eb));
	/* A freed frame allocated again has a new epoch: the old stays dead. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, 9, 1, &again), 0);
	ck_assert(!frametab_any_live(&t.ft, 8, 4, ea));
	ck_assert(frametab_any_live(&t.ft, 8, 4, t.ft.frames[again].epoch));
	/* Free frames have epoch 0, which names no allocation. */
	ck_assert(!frametab_any_live(&t.ft, 0, NFRAMES, 0));
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_any_live_bad_ranges)
{
	struct table t;
	uint32_t a, ea;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, 4, 2, &a), 0);
	ea = t.ft.frames[a].epoch;
	ck_assert(!frametab_any_live(&t.ft, 4, 0, ea));
	ck_assert(!frametab_any_live(&t.ft, NFRAMES, 1, ea));
	ck_assert(!frametab_any_live(&t.ft, 4, NFRAMES, ea));
	ck_assert(!frametab_any_live(&t.ft, 4, UINT64_MAX, ea));
	ck_assert(!frametab_any_live(&t.ft, UINT64_MAX, 2, ea)); /* sum wraps */
	ck_assert(!frametab_any_live(&t.ft, (1ull << 32) | 4, 1, ea));
	/* The last frame of the table, reached exactly. */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, NFRAMES - 1, 1, &a), 0);
	ck_assert(frametab_any_live(&t.ft, NFRAMES - 2, 2,
				    t.ft.frames[a].epoch));
	table_fini(&t);
}
END_TEST

/* ---- Reverse map -------------------------------------------------------- */

START_TEST(test_rmap_add_remove_pop)
{
	struct table t;
	uint32_t f;
	exo_envid_t env, env2;
	uint64_t va;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
	ck_assert(!frametab_rmap_pop(&t.ft, f, &env, &va));
	ck_assert_int_eq(frametab_rmap_add(&t.ft, f, ENV_A, VA(1)), 0);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, f, ENV_A, VA(2)), 0);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, f, ENV_B, VA(1)), 0);
	ck_assert_uint_eq(t.ft.frames[f].nmaps, 3);
	check_integrity(&t.ft);

	/* Both env and va must match. */
	ck_assert(!frametab_rmap_remove(&t.ft, f, ENV_B, VA(2)));
	ck_assert(!frametab_rmap_remove(&t.ft, f + 1, ENV_A, VA(2)));
	ck_assert(!frametab_rmap_remove(&t.ft, NFRAMES, ENV_A, VA(2)));
	ck_assert(frametab_rmap_remove(&t.ft, f, ENV_A, VA(2)));
	ck_assert(!frametab_rmap_remove(&t.ft, f, ENV_A, VA(2)));
	ck_assert_uint_eq(t.ft.frames[f].nmaps, 2);
	check_integrity(&t.ft);

	/* Pop yields the two left, each once, then nothing. */
	ck_assert(frametab_rmap_pop(&t.ft, f, &env, &va));
	ck_assert_uint_eq(t.ft.frames[f].nmaps, 1);
	ck_assert_uint_eq(va, VA(1));
	env2 = env;
	ck_assert(frametab_rmap_pop(&t.ft, f, &env, &va));
	ck_assert_uint_eq(va, VA(1));
	ck_assert_uint_ne(env, env2);
	ck_assert(env == ENV_A || env == ENV_B);
	ck_assert(env2 == ENV_A || env2 == ENV_B);
	ck_assert_uint_eq(t.ft.frames[f].nmaps, 0);
	ck_assert(!frametab_rmap_pop(&t.ft, f, &env, &va));
	ck_assert(!frametab_rmap_pop(&t.ft, NFRAMES, &env, &va));
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_rmap_pop_returns_each)
{
	struct table t;
	uint32_t f;
	exo_envid_t env;
	uint64_t va;
	unsigned got = 0;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
	for (unsigned i = 0; i < FT_RMAP_PER_FRAME; i++)
		ck_assert_int_eq(frametab_rmap_add(&t.ft, f, ENV_A, VA(i)), 0);
	while (frametab_rmap_pop(&t.ft, f, &env, &va)) {
		unsigned i = (unsigned)((va - VA(0)) / EXO_PAGE_SIZE);

		ck_assert_uint_eq(env, ENV_A);
		ck_assert_uint_lt(i, FT_RMAP_PER_FRAME);
		ck_assert_uint_eq(got & (1u << i), 0);
		got |= 1u << i;
	}
	ck_assert_uint_eq(got, (1u << FT_RMAP_PER_FRAME) - 1);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_rmap_pool_exhaustion)
{
	struct table t;
	uint32_t a, b;
	exo_envid_t env;
	uint64_t va;
	size_t pool;

	table_free_all(&t, NFRAMES);
	pool = t.ft.nrmaps;
	ck_assert_uint_eq(pool, NFRAMES * FT_RMAP_PER_FRAME);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &a), 0);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &b), 0);
	/* One frame may take the whole pool: per-env limits are the kernel's.
	 */
	for (size_t i = 0; i < pool; i++)
		ck_assert_int_eq(frametab_rmap_add(&t.ft, a, ENV_A, VA(i)), 0);
	ck_assert_uint_eq(t.ft.rmap_free, FT_NONE);
	ck_assert_uint_eq(t.ft.rmap_unused, pool);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, b, ENV_B, VA(0)), -E_NOMEM);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, a, ENV_A, VA(pool)),
			 -E_NOMEM);
	ck_assert_uint_eq(t.ft.frames[a].nmaps, pool);
	ck_assert_uint_eq(t.ft.frames[b].nmaps, 0);
	check_integrity(&t.ft);
	/* One back lets one more in. */
	ck_assert(frametab_rmap_pop(&t.ft, a, &env, &va));
	ck_assert_int_eq(frametab_rmap_add(&t.ft, b, ENV_B, VA(0)), 0);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, b, ENV_B, VA(1)), -E_NOMEM);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

START_TEST(test_rmap_bad_frame)
{
	struct table t;

	table_free_all(&t, NFRAMES);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, NFRAMES, ENV_A, VA(0)),
			 -E_INVAL);
	ck_assert_int_eq(frametab_rmap_add(&t.ft, FT_NONE, ENV_A, VA(0)),
			 -E_INVAL);
	/* A free frame has nobody to map it. */
	ck_assert_int_eq(frametab_rmap_add(&t.ft, 3, ENV_A, VA(0)), -E_INVAL);
	ck_assert_uint_eq(t.ft.frames[3].nmaps, 0);
	check_integrity(&t.ft);
	table_fini(&t);
}
END_TEST

/* ---- Mixed operations ---------------------------------------------------- */

static uint64_t lcg_state;

static uint32_t lcg_next(uint32_t bound)
{
	lcg_state = lcg_state * LCG_MUL + LCG_ADD;
	return (uint32_t)(lcg_state >> LCG_SHIFT) % bound;
}

enum stress_op {
	OP_ALLOC_ANY,
	OP_ALLOC_NAMED,
	OP_FREE,
	OP_MAP,
	OP_UNMAP,
	OP_KINDS
};

/* Free frame f after popping its mappings, as the kernel would. */
static void unmap_and_free(struct frametab *ft, uint32_t f)
{
	exo_envid_t env;
	uint64_t va;

	while (frametab_rmap_pop(ft, f, &env, &va))
		;
	frametab_free(ft, f);
}

/* Does the model have n adjacent free frames? */
static bool model_has_run(const exo_envid_t *model, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < NFRAMES; i++) {
		run = model[i] == FT_OWNER_FREE ? run + 1 : 0;
		if (run == n)
			return true;
	}
	return false;
}

/* One random operation; model[] holds the owner we expect per frame. */
static void stress_step(struct frametab *ft, exo_envid_t *model)
{
	uint32_t f = lcg_next(NFRAMES), n = 1 + lcg_next(STRESS_MAX_RUN);
	exo_envid_t owner = lcg_next(2) ? ENV_A : ENV_B;
	uint32_t out;
	int r;

	switch (lcg_next(OP_KINDS)) {
	case OP_ALLOC_ANY:
		r = frametab_alloc(ft, owner, FT_NONE, n, &out);
		if (r == 0) {
			for (uint32_t i = out; i < out + n; i++) {
				REQUIRE(model[i] == FT_OWNER_FREE);
				REQUIRE(ft->frames[i].epoch ==
					ft->frames[out].epoch);
				model[i] = owner;
			}
		} else {
			REQUIRE(r == -E_NOMEM);
			REQUIRE(!model_has_run(model, n));
		}
		break;
	case OP_ALLOC_NAMED:
		r = frametab_alloc(ft, owner, f, 1, &out);
		REQUIRE(r == (model[f] == FT_OWNER_FREE ? 0 : -E_BUSY));
		if (r == 0)
			model[f] = owner;
		break;
	case OP_FREE:
		if (model[f] != FT_OWNER_FREE) {
			unmap_and_free(ft, f);
			model[f] = FT_OWNER_FREE;
		}
		break;
	case OP_MAP:
		r = frametab_rmap_add(ft, f, owner, VA(n));
		if (model[f] == FT_OWNER_FREE)
			REQUIRE(r == -E_INVAL);
		else
			REQUIRE(r == 0 || r == -E_NOMEM);
		break;
	default:
		frametab_rmap_remove(ft, f, owner, VA(n));
		break;
	}
}

START_TEST(test_mixed_operations_keep_lists_whole)
{
	struct table t;
	exo_envid_t model[NFRAMES];
	uint32_t out;
	size_t nfree;

	lcg_state = (uint64_t)_i + 1; /* each loop iteration its own seed */
	table_free_all(&t, NFRAMES);
	for (unsigned i = 0; i < NFRAMES; i++)
		model[i] = FT_OWNER_FREE;
	for (unsigned op = 0; op < STRESS_OPS; op++) {
		stress_step(&t.ft, model);
		nfree = 0;
		for (unsigned i = 0; i < NFRAMES; i++) {
			REQUIRE(t.ft.frames[i].owner == model[i]);
			nfree += model[i] == FT_OWNER_FREE;
		}
		REQUIRE(t.ft.nfree == nfree);
		check_integrity(&t.ft);
	}
	/* Freeing everything gives back every frame and pool entry. */
	for (uint32_t f = 0; f < NFRAMES; f++) {
		if (model[f] != FT_OWNER_FREE)
			unmap_and_free(&t.ft, f);
	}
	ck_assert_uint_eq(t.ft.nfree, NFRAMES);
	check_integrity(&t.ft);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, NFRAMES, &out),
			 0);
	ck_assert_uint_eq(out, 0);
	table_fini(&t);
}
END_TEST

#define ZONE_SPLIT (NFRAMES / 2)

/* NFRAMES free frames, the high zone from ZONE_SPLIT. */
static void table_free_all_zoned(struct table *t)
{
	table_init_zoned(t, NFRAMES, 0, ZONE_SPLIT);
	for (uint32_t f = 0; f < NFRAMES; f++)
		frametab_release(&t->ft, f);
}

/* Data frames come from the high zone while it has any, then the low. */
START_TEST(test_zones_data_high_first)
{
	struct table t;
	uint32_t f;

	table_free_all_zoned(&t);
	for (uint32_t i = ZONE_SPLIT; i < NFRAMES; i++) {
		ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
		ck_assert_uint_ge(f, ZONE_SPLIT);
	}
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
	ck_assert_uint_lt(f, ZONE_SPLIT);
	check_free_list(&t.ft);
	table_fini(&t);
}
END_TEST

/* Frames that must stay come from the low zone only, named or not. */
START_TEST(test_zones_low_only)
{
	struct table t;
	uint32_t f;

	table_free_all_zoned(&t);
	ck_assert_int_eq(frametab_alloc_low(&t.ft, ENV_A, FT_NONE, 1, &f), 0);
	ck_assert_uint_lt(f, ZONE_SPLIT);
	ck_assert_int_eq(frametab_alloc_low(&t.ft, ENV_A, FT_NONE, 3, &f), 0);
	ck_assert_uint_le(f + 3, ZONE_SPLIT);
	ck_assert_int_eq(frametab_alloc_low(&t.ft, ENV_A, ZONE_SPLIT, 1, &f),
			 -E_INVAL);
	ck_assert_int_eq(frametab_alloc_low(&t.ft, ENV_A, ZONE_SPLIT - 1, 2, &f),
			 -E_INVAL);
	/* Run the low zone dry: the high zone's free frames do not count. */
	while (frametab_alloc_low(&t.ft, ENV_B, FT_NONE, 1, &f) == 0)
		ck_assert_uint_lt(f, ZONE_SPLIT);
	ck_assert_uint_eq(t.ft.nfree, NFRAMES - ZONE_SPLIT);
	check_free_list(&t.ft);
	table_fini(&t);
}
END_TEST

/* A withdrawn frame is absent: never handed out until released again. */
START_TEST(test_withdraw_and_grant)
{
	struct table t;
	uint32_t f;

	table_free_all_zoned(&t);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_A, NFRAMES - 1, 1, &f), 0);
	ck_assert(!frametab_withdraw(&t.ft, NFRAMES - 1)); /* in use */
	for (uint32_t i = ZONE_SPLIT; i < NFRAMES - 1; i++)
		ck_assert(frametab_withdraw(&t.ft, i));
	ck_assert(!frametab_withdraw(&t.ft, ZONE_SPLIT)); /* already absent */
	ck_assert_uint_eq(t.ft.frames[ZONE_SPLIT].owner, FT_OWNER_ABSENT);
	ck_assert_uint_eq(t.ft.nfree, ZONE_SPLIT);
	check_free_list(&t.ft);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &f), 0);
	ck_assert_uint_lt(f, ZONE_SPLIT);
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, ZONE_SPLIT, 1, &f),
			 -E_BUSY);
	frametab_release(&t.ft, ZONE_SPLIT); /* granted again */
	ck_assert_int_eq(frametab_alloc(&t.ft, ENV_B, FT_NONE, 1, &f), 0);
	ck_assert_uint_eq(f, ZONE_SPLIT);
	check_free_list(&t.ft);
	table_fini(&t);
}
END_TEST

static Suite *frametab_suite(void)
{
	Suite *s = suite_create("frametab");
	TCase *layout = tcase_create("layout");
	TCase *alloc = tcase_create("alloc");
	TCase *rmap = tcase_create("rmap");
	TCase *mixed = tcase_create("mixed");

	tcase_add_test(layout, test_layout_fits_any_alignment);
	tcase_add_test(layout, test_bytes_grow_and_do_not_wrap);
	tcase_add_test(layout, test_init_all_kernel);
	tcase_add_test(layout, test_release);
	suite_add_tcase(s, layout);

	tcase_add_test(alloc, test_alloc_any);
	tcase_add_test(alloc, test_alloc_until_empty);
	tcase_add_test(alloc, test_alloc_named);
	tcase_add_test(alloc, test_alloc_named_busy);
	tcase_add_test(alloc, test_alloc_bad_args);
	tcase_add_test(alloc, test_alloc_contiguous);
	tcase_add_test(alloc, test_alloc_contiguous_fragmented);
	tcase_add_test(alloc, test_free);
	tcase_add_test(alloc, test_freed_frame_reused_last);
	tcase_add_test(alloc, test_free_refuses_mapped_frame);
	tcase_add_test(alloc, test_epochs_distinct);
	tcase_add_test(alloc, test_epoch_skips_zero);
	tcase_add_test(alloc, test_live);
	tcase_add_test(alloc, test_any_live);
	tcase_add_test(alloc, test_any_live_bad_ranges);
	tcase_add_test(alloc, test_zones_data_high_first);
	tcase_add_test(alloc, test_zones_low_only);
	tcase_add_test(alloc, test_withdraw_and_grant);
	suite_add_tcase(s, alloc);

	tcase_add_test(rmap, test_rmap_add_remove_pop);
	tcase_add_test(rmap, test_rmap_pop_returns_each);
	tcase_add_test(rmap, test_rmap_pool_exhaustion);
	tcase_add_test(rmap, test_rmap_bad_frame);
	suite_add_tcase(s, rmap);

	tcase_add_loop_test(mixed, test_mixed_operations_keep_lists_whole, 0,
			    STRESS_SEEDS);
	tcase_set_timeout(mixed, STRESS_TIMEOUT);
	suite_add_tcase(s, mixed);
	return s;
}

CHECK_MAIN(frametab_suite)
