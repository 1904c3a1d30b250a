/*
 * pipe.c: byte-stream pipes (libos_ipc.h): the descriptor table, the
 * rings, waiting for the other end, the ends' accounting across
 * processes, and offering and connecting ends over RPC.
 *
 * The ring.  A shared region (rpc.c): a header page, then the data, a
 * power of two of bytes.  tail counts the bytes ever written, head those
 * ever read; the writer owns tail and the reader head.  Each publishes
 * its counter with a release store after touching the data, and reads
 * the other's with an acquire load before, so the bytes a counter covers
 * are in place before the other side sees it: the two may be envs on one
 * vCPU, preempted between any two instructions.  Offsets are the
 * counters modulo the size this process knows, and what the other side's
 * counter claims is clamped to the ring, so a peer that scribbles on the
 * header can garble the bytes but not make us touch anything else.
 *
 * One writer and one reader at a time.  A side's `inside` word holds the
 * env reading (or writing) now, taken with a compare-and-swap; inside a
 * process a mutex per side lets its threads take turns first.  A write is
 * done whole before the next begins, so writes never interleave.
 *
 * Who holds the ends.  The header's holder table counts, per env, the
 * ends of each kind it holds (descriptors and offers); an env changes its
 * own entry, except that a parent counts its child in at fork and a
 * server counts in the client it hands an end to, each before that env
 * runs again.  End of file is "empty, and no writer counted"; a write
 * fails when no reader is counted.  An end that waits gives its time to
 * an env counted on the other side; when the kernel answers that the env
 * is gone, its entry is struck off, so the ends of an env that died
 * without closing do not keep the others waiting for ever.
 *
 * Who keeps the memory.  A ring lives in the VM layer of the process that
 * made it.  A process lets its mapping go when it holds no end and no
 * offer any more; forked children keep the pages alive on their own (the
 * VM layer lends them until the children are gone).  But a process that
 * offered the ring keeps it until no env is counted at all, because the
 * processes it was handed to hold nothing the VM layer knows of: such
 * rings are looked at again at each libos_pipe, libos_close and
 * withdrawal, and when a child is reaped (sweep()).  An env that died
 * holding an end is struck off when someone waits on it, or when it was
 * our child and we reap it (pipe_env_gone); an env of another process's
 * that died holding one keeps the ring until then, or until this process
 * ends.  If this process ends first, the connected ends find
 * their pages gone (zeroed pages fill in, with no magic word) and see
 * end of file.
 */
#include "runtime.h"

#define RING_MAGIC 0x474e495245504950ull /* "PIPERING" */
#define CACHE_LINE 64
#define HOLDERS 16
#define RINGS_MAX 16 /* rings a process maps at once */
#define OFFERS_MAX 8
#define END_KINDS 2

/* A holder entry: the envid in the high half, below it a 16-bit count
 * per kind of end (readers lowest); 0: unused. */
#define HOLDER_ENV_SHIFT 32
#define HOLDER_COUNT_BITS 16
#define HOLDER_COUNT_MAX 0xffffu

struct ring_header {
	uint64_t magic;
	uint32_t inside[END_KINDS]; /* the env reading / writing now, or 0 */
	uint64_t holder[HOLDERS];
	_Alignas(CACHE_LINE) uint64_t tail;
	_Alignas(CACHE_LINE) uint64_t head;
};
_Static_assert(sizeof(struct ring_header) <= EXO_PAGE_SIZE,
	       "the header fits its page");
_Static_assert((LIBOS_PIPE_RING_BYTES & (LIBOS_PIPE_RING_BYTES - 1)) == 0 &&
		       LIBOS_PIPE_RING_BYTES % EXO_PAGE_SIZE == 0,
	       "the ring is a power of two of whole pages");
_Static_assert(LIBOS_PIPE_READ == 0 && LIBOS_PIPE_WRITE == 1,
	       "kinds index the tables");

/* SETUP: being made or connected, no descriptor yet; OPEN: in use;
 * CLOSING: being let go. */
enum ring_state { RING_FREE, RING_SETUP, RING_OPEN, RING_CLOSING };

/* A ring this process maps. */
struct ring {
	enum ring_state state;
	struct libos_shm shm;
	struct ring_header *hdr;
	uint8_t *data;
	uint64_t size;
	unsigned ends[END_KINDS]; /* our descriptors of each kind */
	unsigned offers;	  /* our offers of its ends */
	bool exported;		  /* offered by us, its maker, at some time */
	libos_mutex_t lock[END_KINDS];
};

struct end {
	struct ring *ring; /* NULL: not open */
	unsigned kind;
};

static struct ring rings[RINGS_MAX];
static struct end fds[LIBOS_FD_MAX];
static struct end offers[OFFERS_MAX]; /* read by pipe_run() in a call */

static exo_envid_t self(void)
{
	return libos_uenv->id;
}

/* ---- The holder table --------------------------------------------------- */

static unsigned holder_count(uint64_t h, unsigned kind)
{
	return (h >> (kind * HOLDER_COUNT_BITS)) & HOLDER_COUNT_MAX;
}

static exo_envid_t holder_env(uint64_t h)
{
	return (exo_envid_t)(h >> HOLDER_ENV_SHIFT);
}

static uint64_t holder_load(struct ring_header *h, unsigned i)
{
	return __atomic_load_n(&h->holder[i], __ATOMIC_ACQUIRE);
}

/* env's entry (*old its value), else a free one (*old 0), else -1. */
static int holder_find(struct ring_header *h, exo_envid_t env, uint64_t *old)
{
	int free = -1;

	for (int i = 0; i < HOLDERS; i++) {
		uint64_t v = holder_load(h, i);

		if (holder_env(v) == env) {
			*old = v;
			return i;
		}
		if (!v && free < 0)
			free = i;
	}
	*old = 0;
	return free;
}

/* Add delta to the ends of kind env holds.  0, or -E_NOMEM when the
 * table (or a count) is full. */
static long holder_add(struct ring_header *h, exo_envid_t env, unsigned kind,
		       int delta)
{
	unsigned shift = kind * HOLDER_COUNT_BITS;

	for (;;) {
		uint64_t old, new;
		int i = holder_find(h, env, &old);
		long count = (long)holder_count(old, kind) + delta;

		if (i < 0 || count > HOLDER_COUNT_MAX)
			return delta > 0 ? -E_NOMEM : E_OK;
		if (count < 0)
			count = 0; /* struck off already */
		new = (old & ~((uint64_t)HOLDER_COUNT_MAX << shift)) |
		      (uint64_t)count << shift |
		      (uint64_t)env << HOLDER_ENV_SHIFT;
		if (!holder_count(new, LIBOS_PIPE_READ) &&
		    !holder_count(new, LIBOS_PIPE_WRITE))
			new = 0;
		if (__atomic_compare_exchange_n(&h->holder[i], &old, new, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return E_OK;
	}
}

/* An env holding an end of kind, another than us if there is one. */
static exo_envid_t holder_pick(struct ring_header *h, unsigned kind)
{
	exo_envid_t found = EXO_ENV_NONE;

	for (int i = 0; i < HOLDERS; i++) {
		uint64_t v = holder_load(h, i);

		if (!holder_count(v, kind))
			continue;
		found = holder_env(v);
		if (found != self())
			break;
	}
	return found;
}

static bool holders_left(struct ring_header *h)
{
	for (int i = 0; i < HOLDERS; i++)
		if (holder_load(h, i))
			return true;
	return false;
}

/* env is gone: strike off whatever it held. */
static void holder_prune(struct ring_header *h, exo_envid_t env)
{
	for (int i = 0; i < HOLDERS; i++) {
		uint64_t v = holder_load(h, i);

		if (v && holder_env(v) == env)
			__atomic_compare_exchange_n(&h->holder[i], &v, 0, false,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
	}
}

/* ---- Waiting --------------------------------------------------------------- */

/* Give our time to env (our other threads first); strike it off if it
 * is gone. */
static void wait_for(struct ring_header *h, exo_envid_t env)
{
	if (env == self()) {
		libos_thread_yield_to(EXO_ENV_NONE); /* only we can help */
		return;
	}
	if (libos_thread_yield_to(env) == -E_NOENT)
		holder_prune(h, env);
}

/* Take side kind of r: our threads' turn, then our env's. */
static void side_enter(struct ring *r, unsigned kind)
{
	uint32_t *inside = &r->hdr->inside[kind];

	libos_mutex_lock(&r->lock[kind]);
	for (;;) {
		uint32_t cur = 0;

		if (__atomic_compare_exchange_n(inside, &cur, self(), false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		if (libos_thread_yield_to(cur) == -E_NOENT) /* died inside */
			__atomic_compare_exchange_n(inside, &cur, 0, false,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
	}
}

static void side_leave(struct ring *r, unsigned kind)
{
	__atomic_store_n(&r->hdr->inside[kind], 0, __ATOMIC_RELEASE);
	libos_mutex_unlock(&r->lock[kind]);
}

/* The ring's pages are still the ring (its maker may have ended). */
static bool ring_alive(struct ring *r)
{
	return __atomic_load_n(&r->hdr->magic, __ATOMIC_ACQUIRE) == RING_MAGIC;
}

/* Bytes between head and the writers' tail, clamped to the ring. */
static uint64_t filled(struct ring *r, uint64_t head)
{
	uint64_t used = __atomic_load_n(&r->hdr->tail, __ATOMIC_ACQUIRE) - head;

	return used < r->size ? used : r->size;
}

/* Bytes between the readers' head and tail, clamped to the ring. */
static uint64_t pending(struct ring *r, uint64_t tail)
{
	uint64_t used = tail - __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);

	return used < r->size ? used : r->size;
}

/* Bytes ready to read from head, waiting for one; 0 at end of file. */
static uint64_t wait_readable(struct ring *r, uint64_t head)
{
	for (;;) {
		uint64_t ready = filled(r, head);
		exo_envid_t writer;

		if (ready || !ring_alive(r))
			return ready;
		writer = holder_pick(r->hdr, LIBOS_PIPE_WRITE);
		if (writer == EXO_ENV_NONE) /* its last bytes came before */
			return filled(r, head);
		wait_for(r->hdr, writer);
	}
}

/* Room to write at tail, waiting for some; 0 when no reader remains. */
static uint64_t wait_writable(struct ring *r, uint64_t tail)
{
	for (;;) {
		exo_envid_t reader = holder_pick(r->hdr, LIBOS_PIPE_READ);
		uint64_t room;

		if (reader == EXO_ENV_NONE || !ring_alive(r))
			return 0;
		room = r->size - pending(r, tail);
		if (room)
			return room;
		wait_for(r->hdr, reader);
	}
}

/* ---- Moving bytes ---------------------------------------------------------- */

static void copy_out(struct ring *r, uint64_t pos, uint8_t *dst, uint64_t n)
{
	uint64_t off = pos & (r->size - 1);
	uint64_t first = n < r->size - off ? n : r->size - off;

	memcpy(dst, r->data + off, first);
	memcpy(dst + first, r->data, n - first);
}

static void copy_in(struct ring *r, uint64_t pos, const uint8_t *src,
		    uint64_t n)
{
	uint64_t off = pos & (r->size - 1);
	uint64_t first = n < r->size - off ? n : r->size - off;

	memcpy(r->data + off, src, first);
	memcpy(r->data, src + first, n - first);
}

static long ring_get(struct ring *r, uint8_t *dst, size_t len)
{
	uint64_t head = __atomic_load_n(&r->hdr->head, __ATOMIC_RELAXED);
	uint64_t n = wait_readable(r, head);

	if (n > len)
		n = len;
	copy_out(r, head, dst, n);
	if (!ring_alive(r))
		return 0; /* the pages went while we copied: not its bytes */
	__atomic_store_n(&r->hdr->head, head + n, __ATOMIC_RELEASE);
	return (long)n;
}

static long ring_put(struct ring *r, const uint8_t *src, size_t len)
{
	uint64_t tail = __atomic_load_n(&r->hdr->tail, __ATOMIC_RELAXED);
	size_t done = 0;

	while (done < len) {
		uint64_t n = wait_writable(r, tail);

		if (!n)
			break;
		if (n > len - done)
			n = len - done;
		copy_in(r, tail, src + done, n);
		tail += n;
		__atomic_store_n(&r->hdr->tail, tail, __ATOMIC_RELEASE);
		done += n;
	}
	return done ? (long)done : -E_NOENT;
}

/* ---- Descriptors and rings ---------------------------------------------------
 * The tables change with preemption off: a thread switch inside would
 * let another thread see half a change.
 */

static struct ring *fd_ring(int fd, unsigned kind)
{
	if (fd < 0 || fd >= LIBOS_FD_MAX || fds[fd].kind != kind)
		return NULL;
	return fds[fd].ring;
}

/* Read into dst, or write from src, at end fd of kind. */
static long end_io(int fd, unsigned kind, size_t len, uint8_t *dst,
		   const uint8_t *src)
{
	struct ring *r = fd_ring(fd, kind);
	long n;

	if (!r)
		return -E_BADCAP;
	if (!len)
		return 0;
	side_enter(r, kind);
	n = dst ? ring_get(r, dst, len) : ring_put(r, src, len);
	side_leave(r, kind);
	return n;
}

long libos_read(int fd, void *buf, size_t len)
{
	return end_io(fd, LIBOS_PIPE_READ, len, buf, NULL);
}

long libos_write(int fd, const void *buf, size_t len)
{
	return end_io(fd, LIBOS_PIPE_WRITE, len, NULL, buf);
}

static struct ring *ring_claim(void)
{
	struct ring *r = NULL;

	libos_preempt_disable();
	for (unsigned i = 0; !r && i < RINGS_MAX; i++)
		if (rings[i].state == RING_FREE) {
			r = &rings[i];
			*r = (struct ring){.state = RING_SETUP,
					   .lock = {LIBOS_MUTEX_INIT,
						    LIBOS_MUTEX_INIT}};
		}
	libos_preempt_enable();
	return r;
}

static void ring_drop(struct ring *r)
{
	libos_shm_destroy(&r->shm);
	r->state = RING_FREE;
}

/* Where the ring's parts lie, from its region. */
static void ring_attach(struct ring *r)
{
	r->hdr = (struct ring_header *)r->shm.va;
	r->data = (uint8_t *)r->shm.va + EXO_PAGE_SIZE;
	r->size = (r->shm.pages - 1) * EXO_PAGE_SIZE;
}

/* Whether r is held by no end and no offer of ours, and not kept for
 * the envs we offered it to. */
static bool ring_unused(struct ring *r)
{
	if (r->state != RING_OPEN ||
	    r->ends[LIBOS_PIPE_READ] + r->ends[LIBOS_PIPE_WRITE] + r->offers)
		return false;
	return !(r->exported && r->shm.owner == self() && holders_left(r->hdr));
}

/* Let r go if nothing of ours holds it any more. */
static void ring_unref(struct ring *r)
{
	bool last;

	libos_preempt_disable();
	last = ring_unused(r);
	if (last)
		r->state = RING_CLOSING;
	libos_preempt_enable();
	if (last)
		ring_drop(r);
}

/* The rings kept for other envs that no one holds any more. */
static void sweep(void)
{
	for (unsigned i = 0; i < RINGS_MAX; i++)
		ring_unref(&rings[i]);
}

void pipe_env_gone(exo_envid_t env)
{
	for (unsigned i = 0; i < RINGS_MAX; i++) {
		struct ring *r = &rings[i];

		if (r->state == RING_OPEN && r->exported &&
		    r->shm.owner == self())
			holder_prune(r->hdr, env);
	}
	sweep();
}

/* Descriptors for n ends of r of the given kinds, all or none; r is in
 * use from then on. */
static bool fds_open(struct ring *r, const unsigned *kind, unsigned n,
		     int *fd)
{
	unsigned got = 0;

	libos_preempt_disable();
	for (int i = 0; got < n && i < LIBOS_FD_MAX; i++)
		if (!fds[i].ring)
			fd[got++] = i;
	for (unsigned k = 0; got == n && k < n; k++) {
		fds[fd[k]] = (struct end){r, kind[k]};
		r->ends[kind[k]]++;
		r->state = RING_OPEN;
	}
	libos_preempt_enable();
	return got == n;
}

long libos_pipe(int fd[2])
{
	static const unsigned kinds[] = {LIBOS_PIPE_READ, LIBOS_PIPE_WRITE};
	struct ring *r;
	long err;

	sweep();
	if (!(r = ring_claim()))
		return -E_NOMEM;
	if ((err = libos_shm_create(&r->shm,
				    EXO_PAGE_SIZE + LIBOS_PIPE_RING_BYTES))) {
		r->state = RING_FREE;
		return err;
	}
	ring_attach(r);
	holder_add(r->hdr, self(), LIBOS_PIPE_READ, 1);
	holder_add(r->hdr, self(), LIBOS_PIPE_WRITE, 1);
	r->hdr->magic = RING_MAGIC;
	if (!fds_open(r, kinds, END_KINDS, fd)) {
		ring_drop(r);
		return -E_NOMEM;
	}
	return E_OK;
}

long libos_close(int fd)
{
	struct ring *r = NULL;

	libos_preempt_disable();
	if (fd >= 0 && fd < LIBOS_FD_MAX && (r = fds[fd].ring)) {
		unsigned kind = fds[fd].kind;

		fds[fd].ring = NULL;
		r->ends[kind]--;
		holder_add(r->hdr, self(), kind, -1);
	}
	libos_preempt_enable();
	if (!r)
		return -E_BADCAP;
	ring_unref(r);
	sweep();
	return E_OK;
}

/* ---- Offering ends over RPC -------------------------------------------------- */

/* LIBOS_RPC_PROC_PIPE, in a call: run arg[1] of offer arg[0]'s ring; the
 * first run counts the caller in as holding an end of the offer's kind. */
static long pipe_run(const struct libos_rpc_req *req,
		     uint64_t res[LIBOS_RPC_RESULTS])
{
	uint64_t n = req->arg[0], run = req->arg[1];
	struct ring *r = n < OFFERS_MAX ? __atomic_load_n(&offers[n].ring,
							  __ATOMIC_ACQUIRE)
					: NULL;
	unsigned kind;
	long err;

	if (!r)
		return -E_NOENT;
	kind = offers[n].kind;
	if (run == 0 && (err = holder_add(r->hdr, req->caller, kind, 1)))
		return err;
	err = libos_shm_grant(&r->shm, run, req->client_env, kind, res);
	if (err && run == 0)
		holder_add(r->hdr, req->caller, kind, -1);
	return err;
}

/* A free offer, filled with end e (preemption off). */
static long offer_add(struct end e)
{
	for (long i = 0; i < OFFERS_MAX; i++) {
		if (offers[i].ring)
			continue;
		if (holder_add(e.ring->hdr, self(), e.kind, 1))
			return -E_NOMEM;
		e.ring->offers++;
		e.ring->exported = true;
		offers[i].kind = e.kind;
		__atomic_store_n(&offers[i].ring, e.ring, __ATOMIC_RELEASE);
		return i;
	}
	return -E_NOMEM;
}

long libos_pipe_offer(int fd)
{
	struct end e = {NULL, 0};
	long err;

	if (fd >= 0 && fd < LIBOS_FD_MAX)
		e = fds[fd];
	if (!e.ring)
		return -E_BADCAP;
	if (e.ring->shm.imported || e.ring->shm.owner != self())
		return -E_PERM;
	if ((err = libos_rpc_register_own(LIBOS_RPC_PROC_PIPE, pipe_run)) ||
	    (err = libos_shm_export(&e.ring->shm)))
		return err;
	libos_preempt_disable();
	err = offer_add(e);
	libos_preempt_enable();
	return err;
}

long libos_pipe_withdraw(long offer)
{
	struct end e = {NULL, 0};

	libos_preempt_disable();
	if (offer >= 0 && offer < OFFERS_MAX && (e = offers[offer]).ring) {
		__atomic_store_n(&offers[offer].ring, NULL, __ATOMIC_RELEASE);
		e.ring->offers--;
		holder_add(e.ring->hdr, self(), e.kind, -1);
	}
	libos_preempt_enable();
	if (!e.ring)
		return -E_INVAL;
	ring_unref(e.ring);
	sweep();
	return E_OK;
}

/* The server counted us in as holding the end before it answered. */
long libos_pipe_connect(long rpc_slot, long offer)
{
	struct ring *r;
	uint32_t kind;
	int fd;
	long err;

	if (offer < 0)
		return -E_INVAL;
	sweep();
	if (!(r = ring_claim()))
		return -E_NOMEM;
	err = libos_shm_import(&r->shm, rpc_slot, LIBOS_RPC_PROC_PIPE,
			       (uint64_t)offer, &kind);
	if (err) {
		r->state = RING_FREE;
		return err;
	}
	ring_attach(r);
	if (kind >= END_KINDS || r->shm.pages < 2 || (r->size & (r->size - 1)))
		err = -E_INVAL;
	else if (!fds_open(r, &kind, 1, &fd))
		err = -E_NOMEM;
	if (err) {
		if (kind < END_KINDS)
			holder_add(r->hdr, self(), kind, -1);
		ring_drop(r);
		return err;
	}
	return fd;
}

/* ---- Exit and fork ------------------------------------------------------------ */

/* Forget e first: if touching the header faults and the fault ends the
 * process, this runs again and goes on with the next end. */
static void end_forget(struct end *e)
{
	struct ring *r = e->ring;

	e->ring = NULL;
	if (r)
		holder_add(r->hdr, self(), e->kind, -1);
}

void libos_pipe_exit(void)
{
	for (unsigned i = 0; i < LIBOS_FD_MAX; i++)
		end_forget(&fds[i]);
	for (unsigned i = 0; i < OFFERS_MAX; i++)
		end_forget(&offers[i]);
}

long libos_pipe_fork_parent(long child)
{
	struct exo_env_status st;
	bool any = false;
	long err = E_OK;

	for (unsigned i = 0; i < LIBOS_FD_MAX; i++)
		any = any || fds[i].ring;
	if (!any)
		return E_OK;
	if ((err = sys_env_status(child, &st)))
		return err;
	for (unsigned i = 0; !err && i < RINGS_MAX; i++) {
		struct ring *r = &rings[i];

		if (r->state != RING_OPEN || r->shm.imported)
			continue;
		for (unsigned k = 0; !err && k < END_KINDS; k++)
			if (r->ends[k])
				err = holder_add(r->hdr, st.id, k,
						 (int)r->ends[k]);
	}
	return err;
}

/* In the child: keep the ends the parent counted us in for. */
void libos_pipe_fork_child(void)
{
	memset(offers, 0, sizeof(offers));
	for (unsigned i = 0; i < LIBOS_FD_MAX; i++)
		if (fds[i].ring && fds[i].ring->shm.imported)
			fds[i].ring = NULL;
	for (unsigned i = 0; i < RINGS_MAX; i++) {
		struct ring *r = &rings[i];

		if (r->state == RING_FREE)
			continue;
		r->offers = 0;
		r->lock[LIBOS_PIPE_READ] = (libos_mutex_t)LIBOS_MUTEX_INIT;
		r->lock[LIBOS_PIPE_WRITE] = (libos_mutex_t)LIBOS_MUTEX_INIT;
		if (r->shm.imported ||
		    !(r->ends[LIBOS_PIPE_READ] + r->ends[LIBOS_PIPE_WRITE]))
			ring_drop(r);
	}
}
