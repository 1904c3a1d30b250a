/*
 * malloc.c: the heap (libos_malloc.h): malloc, free, realloc, calloc.
 *
 * Layout.  The heap is the region [VM_HEAP_BASE, VM_HEAP_BASE +
 * VM_HEAP_MAX) of the virtual-memory layer, reserved demand-zero at the
 * first call, and cut into spans of SPAN_SIZE bytes.  Its first spans
 * hold the span table, one struct span per span of the heap saying what
 * that span is; the table is demand-zero too, so only entries in use cost
 * frames.  Spans from `brk` up are unused.
 *  - Small blocks (up to SMALL_MAX bytes) come in NCLASSES size classes.
 *    A class takes a span at a time and carves it into equal blocks; the
 *    span's header holds a free list (freed blocks, reused last freed
 *    first) and a bitmap of the blocks in use.  Blocks are carved in
 *    address order only as needed, so a span's untouched tail costs no
 *    frame.  A span whose blocks are all free goes back to the free runs,
 *    unless it is its class's last span with room.
 *  - Large blocks take a run of whole spans and start at its first byte.
 *    Freed runs go to bins by length (log2), coalesced with free
 *    neighbours through boundary tags in the span table, or with the
 *    unused top.  Their frames stay mapped and serve the next blocks
 *    there: giving them back would mean vm_release and vm_reserve again,
 *    which splits the heap's region in two for good each time, and the
 *    virtual-memory layer has a small fixed table of regions.
 *
 * Checks.  free and realloc find a pointer's span in the table: a pointer
 * into no span in use, not at a block's start, into a large block's
 * middle, or to a block already free is reported and the env exits.
 *
 * Threads.  One mutex guards everything.  Preemption may come at any
 * instruction, but only another thread can then run, and it waits for the
 * mutex.  Calls into the virtual-memory layer run with preemption
 * disabled too (its page-fault handler reads its state).
 */
#include "libos.h"
#include "libos_vm.h"

#define QUANTUM LIBOS_MALLOC_ALIGN
#define SPAN_SHIFT 16
#define SPAN_SIZE (1ull << SPAN_SHIFT)
#define NSPANS (VM_HEAP_MAX >> SPAN_SHIFT)
#define BITS_PER_WORD 64
#define NBINS (BITS_PER_WORD - __builtin_clzll(NSPANS)) /* per log2 length */
#define HEAP_PROT (VM_PROT_READ | VM_PROT_WRITE)

/*
 * Size classes: multiples of QUANTUM up to LINEAR_MAX, then STEPS classes
 * per doubling, DOUBLINGS times: 16, 32, ..., 128, 160, 192, 224, 256,
 * 320, ..., 8192.
 */
#define LINEAR_MAX_LOG2 7
#define LINEAR_MAX (1ull << LINEAR_MAX_LOG2)
#define LINEAR_CLASSES (LINEAR_MAX / QUANTUM)
#define STEPS_LOG2 2
#define STEPS (1u << STEPS_LOG2)
#define DOUBLINGS 6
#define NCLASSES (LINEAR_CLASSES + DOUBLINGS * STEPS)
#define SMALL_MAX (LINEAR_MAX << DOUBLINGS)

/* What each span of the heap is; the table's zero is SPAN_UNUSED. */
enum span_kind {
	SPAN_UNUSED,	 /* never used, or at or above brk */
	SPAN_FREE,	 /* in a free run */
	SPAN_SMALL,	 /* carved into small blocks */
	SPAN_LARGE,	 /* the first span of a large block */
	SPAN_LARGE_BODY, /* a later span of a large block */
};

struct span {
	uint8_t kind;
	uint8_t unused[3];
	uint32_t len;	     /* free run: at its first and last span; large
				block: at its first: the run's spans */
	uint32_t prev, next; /* free run, at its first span: its bin (0 none) */
};

#define TABLE ((struct span *)VM_HEAP_BASE)
#define TABLE_SPANS (NSPANS * sizeof(struct span) / SPAN_SIZE)

/* The header at the start of a small span. */
struct small_span {
	uint32_t cls;
	uint32_t nblocks; /* it holds */
	uint32_t used;	  /* in use */
	uint32_t carved;  /* handed out at least once: blocks [0, carved) */
	void *free;	  /* freed blocks, each holding the next's address */
	struct small_span *prev, *next; /* its class's spans with room */
	uint64_t inuse[SPAN_SIZE / QUANTUM / BITS_PER_WORD];
};

#define SMALL_HEADER                                                           \
	((sizeof(struct small_span) + QUANTUM - 1) & ~(uint64_t)(QUANTUM - 1))

_Static_assert(NSPANS * sizeof(struct span) % SPAN_SIZE == 0,
	       "the span table is whole spans");
_Static_assert(SMALL_MAX <= SPAN_SIZE - SMALL_HEADER,
	       "a small span holds a block of every class");

static libos_mutex_t heap_lock = LIBOS_MUTEX_INIT;
static bool heap_ready;
static uint32_t brk = TABLE_SPANS;     /* the first unused span */
static uint32_t brk_max = TABLE_SPANS; /* spans above were never used */
static uint32_t bins[NBINS];	       /* free runs, by log2 length */
static struct small_span *with_room[NCLASSES];

/* ---- Size classes ------------------------------------------------------ */

static size_t class_size(unsigned c)
{
	size_t base;

	if (c < LINEAR_CLASSES)
		return QUANTUM * (c + 1);
	c -= LINEAR_CLASSES;
	base = LINEAR_MAX << (c / STEPS);
	return base + (c % STEPS + 1) * (base >> STEPS_LOG2);
}

static unsigned log2_floor(uint64_t x)
{
	return BITS_PER_WORD - 1 - __builtin_clzll(x);
}

static unsigned class_of(size_t size)
{
	unsigned log;
	size_t base, step;

	if (size <= LINEAR_MAX)
		return size ? (size + QUANTUM - 1) / QUANTUM - 1 : 0;
	log = log2_floor(size - 1); /* base < size <= 2 * base */
	base = (size_t)1 << log;
	step = base >> STEPS_LOG2;
	return LINEAR_CLASSES + (log - LINEAR_MAX_LOG2) * STEPS +
	       (size - base + step - 1) / step - 1;
}

/* ---- Spans and free runs ----------------------------------------------- */

static void *span_addr(uint32_t i)
{
	return (void *)(uintptr_t)(VM_HEAP_BASE + ((uint64_t)i << SPAN_SHIFT));
}

static void mark(uint32_t first, uint32_t len, enum span_kind kind)
{
	for (uint32_t i = first; i < first + len; i++)
		TABLE[i].kind = kind;
}

static void bin_insert(uint32_t first, uint32_t len)
{
	uint32_t *bin = &bins[log2_floor(len)];

	TABLE[first].len = TABLE[first + len - 1].len = len;
	TABLE[first].prev = 0;
	TABLE[first].next = *bin;
	if (*bin)
		TABLE[*bin].prev = first;
	*bin = first;
}

static void bin_remove(uint32_t first)
{
	struct span *s = &TABLE[first];

	if (s->prev)
		TABLE[s->prev].next = s->next;
	else
		bins[log2_floor(s->len)] = s->next;
	if (s->next)
		TABLE[s->next].prev = s->prev;
}

/* A free run of at least len spans, or 0. */
static uint32_t bin_find(uint32_t len)
{
	unsigned b = log2_floor(len);

	for (uint32_t i = bins[b]; i; i = TABLE[i].next)
		if (TABLE[i].len >= len)
			return i;
	for (b++; b < NBINS; b++)
		if (bins[b])
			return bins[b]; /* any run here is long enough */
	return 0;
}

/*
 * Take len spans: from a free run, else from the top.  *fresh says
 * whether they were never used (so are still zero).  False if the heap
 * is full.
 */
static bool run_alloc(uint32_t len, uint32_t *out, bool *fresh)
{
	uint32_t first = bin_find(len);

	if (first) {
		uint32_t have = TABLE[first].len;

		bin_remove(first);
		if (have > len)
			bin_insert(first + len, have - len);
		*fresh = false;
	} else {
		if (len > NSPANS - brk)
			return false;
		first = brk;
		brk += len;
		*fresh = first >= brk_max;
		if (brk > brk_max)
			brk_max = brk;
	}
	*out = first;
	return true;
}

/* Give spans back: merge with free neighbours, or with the top. */
static void run_free(uint32_t first, uint32_t len)
{
	mark(first, len, SPAN_FREE);
	if (first > TABLE_SPANS && TABLE[first - 1].kind == SPAN_FREE) {
		uint32_t left = first - TABLE[first - 1].len; /* a tail */

		bin_remove(left);
		len += first - left;
		first = left;
	}
	if (first + len == brk) {
		brk = first;
		return;
	}
	if (TABLE[first + len].kind == SPAN_FREE) { /* a head */
		uint32_t right = first + len;

		len += TABLE[right].len;
		bin_remove(right);
	}
	bin_insert(first, len);
}

static bool heap_init(void)
{
	long err;

	if (heap_ready)
		return true;
	libos_preempt_disable();
	/* Vital: nothing could page a lost heap page back in, so neither
	 * the revocation policy nor the kernel may take one. */
	err = vm_reserve(VM_HEAP_BASE, VM_HEAP_MAX, HEAP_PROT, VM_VITAL);
	libos_preempt_enable();
	heap_ready = err == E_OK;
	return heap_ready;
}

/* ---- Small blocks ------------------------------------------------------ */

static void room_insert(struct small_span *s)
{
	s->prev = NULL;
	s->next = with_room[s->cls];
	if (s->next)
		s->next->prev = s;
	with_room[s->cls] = s;
}

static void room_remove(struct small_span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		with_room[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static uint32_t span_index(const void *p)
{
	return (uint32_t)(((uint64_t)(uintptr_t)p - VM_HEAP_BASE) >> SPAN_SHIFT);
}

static struct small_span *small_span_new(unsigned cls)
{
	struct small_span *s;
	uint32_t first;
	bool fresh;

	if (!run_alloc(1, &first, &fresh))
		return NULL;
	TABLE[first].kind = SPAN_SMALL;
	s = span_addr(first);
	*s = (struct small_span){
		.cls = cls,
		.nblocks = (SPAN_SIZE - SMALL_HEADER) / class_size(cls),
	};
	room_insert(s);
	return s;
}

static char *block_addr(const struct small_span *s, uint32_t i)
{
	return (char *)s + SMALL_HEADER + (size_t)i * class_size(s->cls);
}

static bool block_in_use(const struct small_span *s, uint32_t i)
{
	return s->inuse[i / BITS_PER_WORD] >> (i % BITS_PER_WORD) & 1;
}

static void block_set(struct small_span *s, uint32_t i, bool in_use)
{
	uint64_t bit = 1ull << (i % BITS_PER_WORD);

	if (in_use)
		s->inuse[i / BITS_PER_WORD] |= bit;
	else
		s->inuse[i / BITS_PER_WORD] &= ~bit;
}

static void *small_alloc(unsigned cls)
{
	struct small_span *s = with_room[cls];
	char *b;

	if (!s && !(s = small_span_new(cls)))
		return NULL;
	if (s->free) {
		b = s->free;
		s->free = *(void **)b;
	} else {
		b = block_addr(s, s->carved++);
	}
	block_set(s, (uint32_t)((b - block_addr(s, 0)) / class_size(cls)),
		  true);
	if (++s->used == s->nblocks)
		room_remove(s);
	return b;
}

static void small_free(struct small_span *s, uint32_t i)
{
	void *b = block_addr(s, i);

	block_set(s, i, false);
	*(void **)b = s->free;
	s->free = b;
	if (s->used-- == s->nblocks)
		room_insert(s);
	if (s->used == 0 && (s->prev || s->next)) {
		room_remove(s);
		run_free(span_index(s), 1);
	}
}

/* ---- Large blocks ------------------------------------------------------ */

static uint32_t spans_for(size_t size)
{
	return (uint32_t)((size + SPAN_SIZE - 1) >> SPAN_SHIFT);
}

static void large_mark(uint32_t first, uint32_t len)
{
	TABLE[first].kind = SPAN_LARGE;
	TABLE[first].len = len;
	mark(first + 1, len - 1, SPAN_LARGE_BODY);
}

static void *large_alloc(size_t size, bool *zeroed)
{
	uint32_t len = spans_for(size), first;

	if (!run_alloc(len, &first, zeroed))
		return NULL;
	large_mark(first, len);
	return span_addr(first);
}

/* Grow or shrink the large block at first to len spans without moving. */
static bool large_resize(uint32_t first, uint32_t len)
{
	uint32_t have = TABLE[first].len, next = first + have;

	if (len <= have) {
		TABLE[first].len = len;
		if (len < have)
			run_free(first + len, have - len);
		return true;
	}
	if (next == brk && len - have <= NSPANS - brk) {
		brk += len - have;
		if (brk > brk_max)
			brk_max = brk;
	} else if (next < brk && TABLE[next].kind == SPAN_FREE &&
		   TABLE[next].len >= len - have) {
		uint32_t free_len = TABLE[next].len;

		bin_remove(next);
		if (free_len > len - have)
			bin_insert(first + len, free_len - (len - have));
	} else {
		return false;
	}
	large_mark(first, len);
	return true;
}

/* ---- Checking pointers ------------------------------------------------- */

/* What a pointer given to free or realloc is. */
struct block {
	uint32_t span;		/* its (first) span */
	struct small_span *small; /* NULL for a large block */
	uint32_t index;		/* small: its index in the span */
	size_t usable;		/* bytes it holds */
};

static _Noreturn void bad_pointer(const char *call, const void *p,
				  const char *why)
{
	libos_printf("libos: %s(%p): %s\n", call, p, why);
	libos_exit(LIBOS_EXIT_FAILURE);
}

/* Where no block is in use now: one was freed there, or never made. */
#define FREED "already freed (or never allocated)"

static struct block lookup(const char *call, const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	struct block b = {0};
	uint64_t off, size;

	if (!heap_ready || a % QUANTUM || a < VM_HEAP_BASE ||
	    a - VM_HEAP_BASE >= (uint64_t)brk_max << SPAN_SHIFT)
		bad_pointer(call, p, "not a pointer malloc returned");
	if (a - VM_HEAP_BASE >= (uint64_t)brk << SPAN_SHIFT)
		bad_pointer(call, p, FREED);
	b.span = span_index(p);
	switch (TABLE[b.span].kind) {
	case SPAN_SMALL:
		b.small = span_addr(b.span);
		size = class_size(b.small->cls);
		off = a - (uint64_t)(uintptr_t)block_addr(b.small, 0);
		if (a < (uint64_t)(uintptr_t)block_addr(b.small, 0) ||
		    off % size || off / size >= b.small->carved)
			bad_pointer(call, p, "not the start of a block");
		b.index = (uint32_t)(off / size);
		if (!block_in_use(b.small, b.index))
			bad_pointer(call, p, "already freed");
		b.usable = size;
		return b;
	case SPAN_LARGE:
		if (p != span_addr(b.span))
			bad_pointer(call, p, "not the start of a block");
		b.usable = (size_t)TABLE[b.span].len << SPAN_SHIFT;
		return b;
	case SPAN_FREE:
		bad_pointer(call, p, FREED);
	case SPAN_LARGE_BODY:
		bad_pointer(call, p, "inside a block, not at its start");
	default:
		bad_pointer(call, p, "not a pointer malloc returned");
	}
}

static void release(const struct block *b)
{
	if (b->small)
		small_free(b->small, b->index);
	else
		run_free(b->span, TABLE[b->span].len);
}

/* ---- The calls --------------------------------------------------------- */

/* With the lock held.  *zeroed: the block is known to be all zero. */
static void *alloc(size_t size, bool *zeroed)
{
	*zeroed = false;
	if (size > VM_HEAP_MAX || !heap_init())
		return NULL;
	if (size <= SMALL_MAX)
		return small_alloc(class_of(size));
	return large_alloc(size, zeroed);
}

void *malloc(size_t size)
{
	bool zeroed;
	void *p;

	libos_mutex_lock(&heap_lock);
	p = alloc(size, &zeroed);
	libos_mutex_unlock(&heap_lock);
	return p;
}

void *calloc(size_t n, size_t size)
{
	size_t bytes;
	bool zeroed;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	libos_mutex_lock(&heap_lock);
	p = alloc(bytes, &zeroed);
	libos_mutex_unlock(&heap_lock);
	if (p && !zeroed)
		memset(p, 0, bytes);
	return p;
}

void free(void *p)
{
	struct block b;

	if (!p)
		return;
	libos_mutex_lock(&heap_lock);
	b = lookup("free", p);
	release(&b);
	libos_mutex_unlock(&heap_lock);
}

/* With the lock held: whether b can hold size bytes where it is. */
static bool resize_in_place(const struct block *b, size_t size)
{
	if (b->small)
		return size <= SMALL_MAX && class_of(size) == b->small->cls;
	return size > SMALL_MAX && large_resize(b->span, spans_for(size));
}

void *realloc(void *p, size_t size)
{
	struct block b;
	bool in_place;
	void *q;

	if (!p)
		return malloc(size);
	if (size == 0) {
		free(p);
		return NULL;
	}
	libos_mutex_lock(&heap_lock);
	b = lookup("realloc", p);
	in_place = resize_in_place(&b, size);
	libos_mutex_unlock(&heap_lock);
	if (in_place)
		return p;
	q = malloc(size);
	if (q) {
		memcpy(q, p, size < b.usable ? size : b.usable);
		free(p);
	}
	return q;
}

/* ---- fork -------------------------------------------------------------- */

void libos_malloc_fork_prepare(void)
{
	libos_mutex_lock(&heap_lock);
}

void libos_malloc_fork_parent(void)
{
	libos_mutex_unlock(&heap_lock);
}

void libos_malloc_fork_child(void)
{
	heap_lock = (libos_mutex_t)LIBOS_MUTEX_INIT;
}
