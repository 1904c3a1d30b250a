/*
 * chunks.c: the exokernel's side of exovmm's memory protocol (the mailbox
 * of include/exo/hvc.h).  Owns which chunks of RAM the kernel has, which
 * of them are leaving (being emptied to give back), the frame quota of
 * the whole machine (root_frames) and how it is shared among the boot
 * envs, and the statistics the kernel reports in the mailbox.
 *
 * The cascade, when exovmm lowers the target:
 *   1. the highest chunks above memory_min start leaving: their free
 *      frames become absent at once, and nothing is allocated from them;
 *   2. the machine's quota drops by those chunks and the boot envs' equal
 *      shares with it; every env over its quota, or holding frames in a
 *      leaving chunk, gets a visible revocation request (revoke.c) naming
 *      the leaving range;
 *   3. each frame freed in a leaving chunk becomes absent; a chunk with
 *      every frame absent is released to exovmm by hypercall;
 *   4. past an env's deadline, revoke.c repossesses what it still holds
 *      there (the abort protocol).
 * If exovmm takes chunks by force instead, their frames are repossessed
 * from whoever held them at once, without touching their memory.
 *
 * Page tables, uenv pages and vital frames come from below memory_min
 * (frametab's low zone), so a leaving chunk only ever holds data frames.
 */
#include "chunks.h"
#include "frames.h"
#include "hv.h"
#include "kern.h"
#include "layout.h"
#include "mmu.h"
#include "revoke.h"
#include "slots.h"

static struct exo_mailbox *mb; /* NULL: memory is fixed */
static uint32_t nchunks;       /* the frame table covers this many */
static uint64_t present[EXO_CHUNK_WORDS]; /* chunks the kernel has */
static uint64_t leaving[EXO_CHUNK_WORDS]; /* present, being emptied */
static uint16_t absent[EXO_CHUNKS_MAX];	  /* leaving: frames already out */
static uint64_t kernel_frames; /* present frames never allocatable */
static uint64_t seen_seq;
static bool ignore_target; /* memory=ignore: a guest that never gives back */

static bool bit(const uint64_t *map, uint32_t c)
{
	return map[c / EXO_CHUNK_WORD_BITS] >> (c % EXO_CHUNK_WORD_BITS) & 1;
}

static void set_bit(uint64_t *map, uint32_t c, bool on)
{
	uint64_t b = 1ull << (c % EXO_CHUNK_WORD_BITS);

	if (on)
		map[c / EXO_CHUNK_WORD_BITS] |= b;
	else
		map[c / EXO_CHUNK_WORD_BITS] &= ~b;
}

static bool granted(uint32_t c)
{
	return exo_mailbox_granted(mb, c);
}

static uint32_t first_frame(uint32_t c)
{
	return c * (uint32_t)CHUNK_FRAMES;
}

static uint32_t count(const uint64_t *map)
{
	uint32_t n = 0;

	for (uint32_t w = 0; w < EXO_CHUNK_WORDS; w++)
		n += slots_count(map[w]); /* a bit count of a 64-bit mask */
	return n;
}

uint64_t chunks_boot(uint32_t *split)
{
	if (hv.kind != HV_EXOVMM || !(hv.features & EXO_HVC_F_MAILBOX))
		return 0;
	mb = exo_p2v(EXO_MAILBOX_GPA);
	nchunks = mb->max_chunks < EXO_CHUNKS_MAX ? mb->max_chunks
						  : EXO_CHUNKS_MAX;
	*split = first_frame(mb->min_chunks);
	return (uint64_t)nchunks * CHUNK_FRAMES;
}

/* Publish what the kernel uses, for exovmm's statistics. */
static void publish(void)
{
	mb->used_frames = kernel_frames + frames_in_use;
	mb->revocations = revoke_requests;
	mb->frames_repossessed = frames_repossessed;
}

void chunks_ignore_target(void)
{
	ignore_target = true;
}

void chunks_init(void)
{
	if (!mb)
		return;
	for (uint32_t c = 0; c < nchunks; c++) {
		if (granted(c)) {
			set_bit(present, c, true);
			continue;
		}
		for (uint32_t f = 0; f < CHUNK_FRAMES; f++)
			frametab_mark_absent(&frametab, first_frame(c) + f);
	}
	kernel_frames = (uint64_t)count(present) * CHUNK_FRAMES - frametab.nfree;
	publish();
}

/* ---- Growing ------------------------------------------------------------ */

static void add_chunk(uint32_t c)
{
	for (uint32_t f = 0; f < CHUNK_FRAMES; f++)
		frametab_release(&frametab, first_frame(c) + f);
	set_bit(present, c, true);
}

/* ---- Chunks leaving ------------------------------------------------------ */

/* Tell exovmm chunk c is empty; it is no longer the kernel's. */
static void release_chunk(uint32_t c)
{
	int32_t ret = hvc_chunk_release(c, 1);

	if (ret != EXO_HVC_OK) {
		kprintf("exo: chunks: exovmm refused chunk %u back (%d)\n", c,
			ret);
		return;
	}
	set_bit(present, c, false);
	set_bit(leaving, c, false);
	absent[c] = 0;
}

/* One more frame of leaving chunk c is out of use. */
static void frame_out(uint32_t c)
{
	if (++absent[c] == CHUNK_FRAMES && granted(c))
		release_chunk(c);
}

void chunks_frame_freed(uint32_t frame, struct env *owner)
{
	uint32_t c = frame / (uint32_t)CHUNK_FRAMES;

	if (!mb || c >= nchunks || !bit(leaving, c))
		return;
	frametab_withdraw(&frametab, frame);
	if (owner && owner->withdraw_held)
		owner->withdraw_held--;
	frame_out(c);
}

/*
 * Chunk c starts leaving: its free frames go absent, its holders learn
 * how many of theirs must go.  False (and nothing changed) if the kernel
 * itself holds a frame there.
 */
static bool start_leaving(uint32_t c)
{
	uint32_t f0 = first_frame(c);

	for (uint32_t f = f0; f < f0 + CHUNK_FRAMES; f++)
		if (frametab.frames[f].owner == FT_OWNER_KERNEL)
			return false;
	set_bit(leaving, c, true);
	absent[c] = 0;
	for (uint32_t f = f0; f < f0 + CHUNK_FRAMES; f++) {
		struct env *owner = frames_owner(f);

		if (owner)
			owner->withdraw_held++;
		else if (frametab_withdraw(&frametab, f) ||
			 frametab.frames[f].owner == FT_OWNER_ABSENT)
			absent[c]++;
	}
	if (absent[c] == CHUNK_FRAMES && granted(c))
		release_chunk(c);
	return true;
}

/* The target went back up: chunk c stays after all. */
static void stop_leaving(uint32_t c)
{
	uint32_t f0 = first_frame(c);

	for (uint32_t f = f0; f < f0 + CHUNK_FRAMES; f++) {
		struct env *owner = frames_owner(f);

		if (owner && owner->withdraw_held)
			owner->withdraw_held--;
		else if (frametab.frames[f].owner == FT_OWNER_ABSENT)
			frametab_release(&frametab, f);
	}
	set_bit(leaving, c, false);
	absent[c] = 0;
}

/* Make the chunks that stay match exovmm's target, highest chunks first. */
static void follow_target(uint32_t target)
{
	uint32_t staying = count(present) - count(leaving);

	for (uint32_t c = nchunks; c-- > mb->min_chunks && staying > target;) {
		if (!bit(present, c) || bit(leaving, c))
			continue;
		if (!start_leaving(c))
			break; /* the kernel's own frames: nothing below goes */
		staying--;
	}
	for (uint32_t c = 0; c < nchunks && staying < target; c++) {
		if (bit(leaving, c)) {
			stop_leaving(c);
			staying++;
		}
	}
}

uint64_t chunks_stolen_ns(void)
{
	return mb ? __atomic_load_n(&mb->stolen_ns, __ATOMIC_RELAXED) : 0;
}

uint64_t chunks_stolen_since(uint64_t then)
{
	uint64_t now = chunks_stolen_ns();

	return now > then ? now - then : 0;
}

bool chunks_withdraw_range(uint64_t *lo, uint64_t *hi)
{
	uint32_t first = UINT32_MAX, last = 0;

	for (uint32_t c = 0; mb && c < nchunks; c++) {
		if (!bit(leaving, c))
			continue;
		if (first == UINT32_MAX)
			first = c;
		last = c;
	}
	if (first == UINT32_MAX)
		return false;
	*lo = FRAME_PA(first_frame(first));
	*hi = FRAME_PA(first_frame(last + 1));
	return true;
}

/* ---- Chunks taken by force ----------------------------------------------- */

/*
 * exovmm took chunk c: whatever envs held there is repossessed (listed
 * in their uenvs) without a byte of it being touched; `touched` collects
 * the envs whose repossession round was opened.
 */
static void lose_chunk(uint32_t c, uint64_t *touched)
{
	uint32_t f0 = first_frame(c);

	/* Its holders' counts include it, and frees in it go absent. */
	if (!bit(leaving, c) && !start_leaving(c))
		panic("chunks: exovmm took chunk %u, which holds the kernel's "
		      "frames", c);
	for (uint32_t f = f0; f < f0 + CHUNK_FRAMES; f++) {
		struct env *owner = frames_owner(f);
		uint64_t b;

		if (!owner)
			continue;
		b = 1ull << EXO_ENV_INDEX(owner->id);
		if (!(*touched & b))
			frames_reposs_begin(owner);
		*touched |= b;
		frames_reposs_take(owner, f);
	}
	set_bit(leaving, c, false);
	set_bit(present, c, false);
	absent[c] = 0;
}

static void lose_taken_chunks(void)
{
	uint64_t touched = 0;
	uint32_t lost = 0;

	for (uint32_t c = 0; c < nchunks; c++) {
		if (bit(present, c) && !granted(c)) {
			lose_chunk(c, &touched);
			lost++;
		}
	}
	for (unsigned i = 0; i < NENV; i++)
		if (touched >> i & 1)
			frames_reposs_end(&envs[i]);
	if (lost)
		kprintf("exo: chunks: exovmm took %u chunks by force\n", lost);
}

/* ---- Quotas ---------------------------------------------------------------- */

static bool boot_env(const struct env *e)
{
	return e->boot_index >= 0 && env_lookup(e->id);
}

/*
 * The machine's quota is the frames of the chunks that stay; the boot
 * envs share it equally (as at boot: load.c).  Lower first, so raising
 * finds room.  Then every env that must give something back is asked.
 */
static void rebalance(void)
{
	uint64_t staying = (uint64_t)(count(present) - count(leaving));
	uint64_t share;
	unsigned nboot = 0;

	root_frames.limit = staying * CHUNK_FRAMES - kernel_frames;
	for (unsigned i = 0; i < NENV; i++)
		nboot += boot_env(&envs[i]);
	share = nboot ? root_frames.limit / nboot : 0;
	for (unsigned i = 0; i < NENV; i++)
		if (boot_env(&envs[i]) && envs[i].frames.limit > share)
			quota_set_child(&root_frames, &envs[i].frames, share);
	for (unsigned i = 0; i < NENV; i++)
		if (boot_env(&envs[i]) && envs[i].frames.limit < share)
			quota_set_child(&root_frames, &envs[i].frames, share);
	for (unsigned i = 0; i < NENV; i++) {
		struct env *e = &envs[i];

		if (env_lookup(e->id) &&
		    (quota_over(&e->frames) || e->withdraw_held))
			revoke_request(e);
	}
}

void chunks_poll(void)
{
	uint64_t seq;

	if (!mb)
		return;
	publish();
	seq = __atomic_load_n(&mb->seq, __ATOMIC_ACQUIRE);
	if (seq == seen_seq)
		return;
	seen_seq = seq;
	lose_taken_chunks();
	for (uint32_t c = 0; c < nchunks; c++)
		if (!bit(present, c) && granted(c))
			add_chunk(c);
	if (!ignore_target)
		follow_target(mb->target_chunks);
	rebalance();
	publish();
	mb->seen_seq = seq;
}
