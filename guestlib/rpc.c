/*
 * rpc.c: remote procedure calls over protected control transfer
 * (libos_ipc.h), and the shared regions their buffers, and pipes
 * connected through them, are made of.
 *
 * Wire format.  A call's four words are the procedure's number and its
 * three arguments; the answer's are the status and three results.  The
 * badge of a connection's PCT capability is the application's badge in
 * its low LIBOS_RPC_BADGE_BITS, the connection's number above, and above
 * that a generation, bumped each time the number is used again: so the
 * dispatcher finds the connection without a search, the kernel keeps the
 * badge from being forged, and the capability of a closed connection
 * does not reach the next one made under its number.
 *
 * What a procedure may see.  It runs inside the PCT call, on the PCT
 * stack: the env's threads are stopped between two instructions (the
 * kernel sends no upcall during a call either), and none runs until the
 * procedure returns.  So the tables here are changed by threads only in
 * orders a procedure may interrupt anywhere: a connection is complete and
 * marked open before its client gets the capability, and marked closed
 * before its buffer goes.  Procedures only read the tables, and write
 * nothing but their stack, so that nothing they touch can fault.
 *
 * A forked child inherits these tables but none of the capabilities they
 * name (those are in the parent's slots) and no PCT service (pct.c): the
 * tables record the env they belong to, and a child that serves starts
 * with no connection.
 */
#include "runtime.h"

/* The IPC window: one slot per shared region, above the thread stacks. */
#define IPC_BASE (VM_STACKS_BASE + VM_STACKS_MAX)
#define IPC_WINDOW_BYTES (LIBOS_IPC_SLOTS * LIBOS_IPC_SLOT_BYTES)
_Static_assert(LIBOS_IPC_SLOTS <= 64, "the window's slots fit one mask");
/* The main stack's region (vm.c) lies within this gigabyte below its top. */
#define MAIN_STACK_FLOOR (EXO_USER_STACK_TOP - (1ull << 30))
_Static_assert(IPC_BASE + IPC_WINDOW_BYTES <= MAIN_STACK_FLOOR,
	       "the IPC window lies below the main stack's region");

/* The connection's number and its generation, above the badge. */
#define CONN_INDEX_BITS 8
#define CONN_INDEX_MASK ((1ull << CONN_INDEX_BITS) - 1)
#define CONN_GEN_SHIFT (LIBOS_RPC_BADGE_BITS + CONN_INDEX_BITS)
_Static_assert(LIBOS_RPC_CONNS <= 1u << CONN_INDEX_BITS &&
		       CONN_GEN_SHIFT < 64,
	       "a connection's number and some generation bits fit the badge");

/* How the reply of a region's run packs two numbers into a word. */
#define HALF_SHIFT 32
#define HALF_MASK 0xffffffffull

#define SHM_RIGHTS (EXO_R_READ | EXO_R_WRITE)
#define RW (VM_PROT_READ | VM_PROT_WRITE)

enum conn_state { CONN_FREE, CONN_SETUP, CONN_OPEN };

struct rpc_conn {
	enum conn_state state;
	uint64_t badge; /* the application's */
	uint64_t key;	/* the capability's: see the top */
	uint64_t gen;
	long env_slot;
	struct libos_shm buf; /* buf.pages 0: no buffer */
};

static struct {
	exo_envid_t owner; /* the env serving with these connections */
	libos_rpc_fn proc[LIBOS_RPC_PROCS];
	struct rpc_conn conn[LIBOS_RPC_CONNS];
} srv;

/* Slots of the IPC window in use, and the buffers we mapped as a client
 * (as many as a server has connections). */
static uint64_t window_used;
static struct libos_shm mapped[LIBOS_RPC_CONNS];

static exo_envid_t self(void)
{
	return libos_uenv->id;
}

/* ---- The IPC window -------------------------------------------------- */

static uint64_t window_get(void)
{
	uint64_t va = 0;

	libos_preempt_disable();
	if (~window_used) {
		unsigned i = (unsigned)__builtin_ctzll(~window_used);

		window_used |= 1ull << i;
		va = IPC_BASE + i * LIBOS_IPC_SLOT_BYTES;
	}
	libos_preempt_enable();
	return va;
}

static void window_put(uint64_t va)
{
	libos_preempt_disable();
	window_used &= ~(1ull << ((va - IPC_BASE) / LIBOS_IPC_SLOT_BYTES));
	libos_preempt_enable();
}

/* ---- Shared regions ------------------------------------------------------
 * The VM layer's state is shared with its page-fault handler and every
 * thread, so its calls run unpreempted (as thread.c's do).
 */

static long region_reserve(uint64_t va, uint64_t len, unsigned flags)
{
	long err;

	libos_preempt_disable();
	err = vm_reserve(va, len, RW, flags);
	if (!err && (flags & VM_SHARED) && (err = vm_populate(va, len)))
		vm_release(va, len);
	libos_preempt_enable();
	return err;
}

static void region_release(uint64_t va, uint64_t len)
{
	libos_preempt_disable();
	vm_release(va, len);
	libos_preempt_enable();
}

long libos_shm_create(struct libos_shm *s, uint64_t bytes)
{
	uint64_t pages = (bytes + EXO_PAGE_SIZE - 1) / EXO_PAGE_SIZE;
	uint64_t va;
	long err;

	if (!pages || bytes > LIBOS_IPC_SLOT_BYTES)
		return -E_INVAL;
	if (!(va = window_get()))
		return -E_NOMEM;
	if ((err = region_reserve(va, pages * EXO_PAGE_SIZE, VM_SHARED))) {
		window_put(va);
		return err;
	}
	*s = (struct libos_shm){.va = va, .pages = pages, .owner = self()};
	return E_OK;
}

void libos_shm_destroy(struct libos_shm *s)
{
	if (!s->pages)
		return;
	region_release(s->va, s->pages * EXO_PAGE_SIZE);
	for (unsigned i = 0; s->owner == self() && i < s->nruns; i++)
		sys_cap_drop(s->run[i].slot);
	window_put(s->va);
	*s = (struct libos_shm){0};
}

/* The chunk page behind the populated page at va. */
static bool frame_of(uint64_t va, struct vm_page_ref *ref)
{
	uint64_t pte = *EXO_UVPT_ENTRY(va, 1);

	return (pte & EXO_PTE_PRESENT) && vmf_lookup(pte & EXO_PTE_ADDR, ref);
}

/* Split the region into runs of pages that are consecutive in one chunk:
 * run[].slot gets the chunk's slot and first the page's index in it. */
static long find_runs(struct libos_shm *s, uint32_t index[LIBOS_SHM_RUNS])
{
	struct libos_shm_run *run = NULL;
	struct vm_page_ref ref;

	s->nruns = 0;
	for (uint32_t p = 0; p < s->pages; p++) {
		if (!frame_of(s->va + p * EXO_PAGE_SIZE, &ref))
			return -E_FAULT;
		if (run && run->slot == vmf_slot(ref) &&
		    index[s->nruns - 1] + run->count == ref.index) {
			run->count++;
			continue;
		}
		if (s->nruns == LIBOS_SHM_RUNS)
			return -E_NOMEM;
		index[s->nruns] = ref.index;
		run = &s->run[s->nruns++];
		*run = (struct libos_shm_run){(int32_t)vmf_slot(ref), p, 1};
	}
	return E_OK;
}

long libos_shm_export(struct libos_shm *s)
{
	uint32_t index[LIBOS_SHM_RUNS];
	unsigned derived = 0;
	long err;

	if (s->owner == self() && s->nruns)
		return E_OK;
	libos_preempt_disable(); /* the chunks must hold still */
	err = find_runs(s, index);
	for (; !err && derived < s->nruns; derived++) {
		long slot = sys_cap_derive(s->run[derived].slot,
					   SHM_RIGHTS | EXO_R_GRANT,
					   index[derived], s->run[derived].count);

		if (slot < 0) {
			err = slot;
			break; /* run[derived] still names the chunk */
		}
		s->run[derived].slot = (int32_t)slot;
	}
	libos_preempt_enable();
	if (err) {
		while (derived--)
			sys_cap_drop(s->run[derived].slot);
		s->nruns = 0;
		return err;
	}
	s->owner = self();
	return E_OK;
}

long libos_shm_grant(const struct libos_shm *s, uint64_t run, long env_slot,
		     uint32_t tag, uint64_t res[LIBOS_RPC_RESULTS])
{
	const struct libos_shm_run *r;
	long got;

	if (run >= s->nruns)
		return -E_INVAL;
	r = &s->run[run];
	got = sys_cap_grant(r->slot, env_slot, SHM_RIGHTS, EXO_SLOT_ANY);
	if (got < 0)
		return got;
	res[0] = (uint64_t)got;
	res[1] = r->first | (uint64_t)r->count << HALF_SHIFT;
	res[2] = s->pages | (uint64_t)tag << HALF_SHIFT;
	return E_OK;
}

/* Map the run a reply describes (the region's first reserves it): the
 * pages it covers, or -E_*. */
static long import_run(struct libos_shm *s,
		       const uint64_t res[LIBOS_RPC_RESULTS],
		       uint64_t covered)
{
	uint64_t first = res[1] & HALF_MASK, count = res[1] >> HALF_SHIFT;
	uint64_t pages = res[2] & HALF_MASK;
	long err;

	if (s->nruns == 0) {
		if (!pages || pages * EXO_PAGE_SIZE > LIBOS_IPC_SLOT_BYTES)
			return -E_INVAL;
		if ((err = region_reserve(s->va, pages * EXO_PAGE_SIZE, 0)))
			return err;
		s->pages = pages;
	}
	/* Runs come in order and cover the region exactly once. */
	if (pages != s->pages || first != covered || !count ||
	    count > pages - covered || s->nruns == LIBOS_SHM_RUNS)
		return -E_INVAL;
	s->run[s->nruns++] = (struct libos_shm_run){(int32_t)res[0],
						    (uint32_t)first,
						    (uint32_t)count};
	err = libos_map(EXO_SLOT_SELF, s->va + first * EXO_PAGE_SIZE,
			(long)res[0], 0, (unsigned)count, RW);
	return err ? err : (long)count;
}

long libos_shm_import(struct libos_shm *s, long slot, unsigned proc,
		      uint64_t arg, uint32_t *tag)
{
	uint64_t covered = 0, res[LIBOS_RPC_RESULTS] = {0};
	uint64_t va = window_get();
	long got = E_OK;

	if (!va)
		return -E_NOMEM;
	*s = (struct libos_shm){.va = va, .owner = self(), .imported = true};
	while (got >= 0 && (!s->nruns || covered < s->pages)) {
		const uint64_t args[LIBOS_RPC_ARGS] = {arg, s->nruns, 0};

		got = libos_rpc_call(slot, proc, args, res);
		if (got > 0)
			got = -E_INVAL; /* a status no exporter gives */
		if (got == E_OK && (got = import_run(s, res, covered)) > 0)
			covered += (uint64_t)got;
	}
	if (got < 0) {
		if (s->pages)
			libos_shm_destroy(s);
		else
			window_put(va);
		return got;
	}
	*tag = (uint32_t)(res[2] >> HALF_SHIFT);
	return E_OK;
}

/* ---- Server ------------------------------------------------------------- */

static void dispatch(uint64_t badge, exo_envid_t caller,
		     const uint64_t in[LIBOS_PCT_WORDS],
		     uint64_t out[LIBOS_PCT_WORDS])
{
	uint64_t n = (badge >> LIBOS_RPC_BADGE_BITS) & CONN_INDEX_MASK;
	const struct rpc_conn *c = n < LIBOS_RPC_CONNS ? &srv.conn[n] : NULL;
	libos_rpc_fn fn = in[0] < LIBOS_RPC_PROCS ? srv.proc[in[0]] : NULL;
	struct libos_rpc_req req;

	if (!c || c->state != CONN_OPEN || c->key != badge) {
		out[0] = (uint64_t)-E_NOENT;
		return;
	}
	if (!fn) {
		out[0] = (uint64_t)-E_NOSYS;
		return;
	}
	req = (struct libos_rpc_req){
		.proc = (unsigned)in[0],
		.conn = (long)n,
		.badge = c->badge,
		.caller = caller,
		.client_env = c->env_slot,
		.arg = {in[1], in[2], in[3]},
		.buf = c->buf.pages ? (uint8_t *)c->buf.va : NULL,
		.buf_size = c->buf.pages * EXO_PAGE_SIZE,
	};
	out[0] = (uint64_t)fn(&req, &out[1]);
}

/* Serve, with no connection yet if the tables are our parent's. */
static long serve(void)
{
	long err = E_OK;

	libos_preempt_disable(); /* one thread sets it up */
	if (srv.owner != self()) {
		/* A forked child's copies of its parent's buffers are not
		 * its own. */
		for (unsigned i = 0; i < LIBOS_RPC_CONNS; i++)
			libos_shm_destroy(&srv.conn[i].buf);
		memset(srv.conn, 0, sizeof(srv.conn));
		if (!(err = libos_pct_serve(dispatch)))
			srv.owner = self();
	}
	libos_preempt_enable();
	return err;
}

static long set_proc(unsigned proc, libos_rpc_fn fn)
{
	long err = serve();

	if (!err)
		srv.proc[proc] = fn;
	return err;
}

long libos_rpc_register(unsigned proc, libos_rpc_fn fn)
{
	return proc < LIBOS_RPC_USER_PROCS ? set_proc(proc, fn) : -E_INVAL;
}

long libos_rpc_register_own(unsigned proc, libos_rpc_fn fn)
{
	return proc >= LIBOS_RPC_USER_PROCS && proc < LIBOS_RPC_PROCS
		       ? set_proc(proc, fn)
		       : -E_INVAL;
}

/* LIBOS_RPC_PROC_BUFFER: run arg[1] of the connection's buffer. */
static long buffer_run(const struct libos_rpc_req *req,
		       uint64_t res[LIBOS_RPC_RESULTS])
{
	const struct libos_shm *buf = &srv.conn[req->conn].buf;

	if (!buf->pages)
		return -E_NOENT;
	return libos_shm_grant(buf, req->arg[1], req->client_env, 0, res);
}

static struct rpc_conn *conn_claim(void)
{
	struct rpc_conn *c = NULL;

	libos_preempt_disable();
	for (unsigned i = 0; !c && i < LIBOS_RPC_CONNS; i++)
		if (srv.conn[i].state == CONN_FREE) {
			c = &srv.conn[i];
			c->state = CONN_SETUP;
		}
	libos_preempt_enable();
	return c;
}

/* Give the client its capability: open first, so its first call finds
 * the connection even if it runs before we do again. */
static long conn_grant(struct rpc_conn *c)
{
	uint64_t n = (uint64_t)(c - srv.conn);
	long pct, got;

	c->key = ++c->gen << CONN_GEN_SHIFT | n << LIBOS_RPC_BADGE_BITS |
		 c->badge;
	if ((pct = sys_pct_create(c->key)) < 0)
		return pct;
	__atomic_store_n(&c->state, CONN_OPEN, __ATOMIC_RELEASE);
	got = sys_cap_grant(pct, c->env_slot, EXO_R_CALL, EXO_SLOT_ANY);
	sys_cap_drop(pct);
	return got < 0 ? got : E_OK;
}

static long conn_setup(struct rpc_conn *c, size_t buf_size)
{
	long err;

	if (!buf_size)
		return conn_grant(c);
	if ((err = libos_rpc_register_own(LIBOS_RPC_PROC_BUFFER, buffer_run)) ||
	    (err = libos_shm_create(&c->buf, buf_size)) ||
	    (err = libos_shm_export(&c->buf)))
		return err;
	return conn_grant(c);
}

long libos_rpc_offer(long env_slot, uint64_t badge, size_t buf_size)
{
	struct rpc_conn *c;
	long err;

	if (badge >> LIBOS_RPC_BADGE_BITS)
		return -E_INVAL;
	if ((err = serve()))
		return err;
	if (!(c = conn_claim()))
		return -E_NOMEM;
	c->badge = badge;
	c->env_slot = env_slot;
	c->buf = (struct libos_shm){0};
	if ((err = conn_setup(c, buf_size))) {
		libos_rpc_close(c - srv.conn);
		return err;
	}
	return c - srv.conn;
}

long libos_rpc_close(long conn)
{
	struct rpc_conn *c;

	if (conn < 0 || conn >= LIBOS_RPC_CONNS || srv.owner != self() ||
	    srv.conn[conn].state == CONN_FREE)
		return -E_INVAL;
	c = &srv.conn[conn];
	__atomic_store_n(&c->state, CONN_SETUP, __ATOMIC_RELEASE);
	libos_shm_destroy(&c->buf);
	c->state = CONN_FREE;
	return E_OK;
}

/* ---- Client ---------------------------------------------------------------- */

/* The env a PCT capability calls, or EXO_ENV_NONE. */
static exo_envid_t callee_of(long slot)
{
	struct exo_cap_info ci;

	return sys_cap_info(slot, &ci) == E_OK && ci.type == EXO_CAP_PCT
		       ? (exo_envid_t)ci.object
		       : EXO_ENV_NONE;
}

long libos_rpc_connect(exo_envid_t server)
{
	for (;;) {
		for (long slot = 0; slot < EXO_CAP_SLOTS; slot++)
			if (callee_of(slot) == server)
				return slot;
		if (sys_yield(server) == -E_NOENT)
			return -E_NOENT;
	}
}

/* Whether we run in a procedure, on the PCT stack. */
static bool in_procedure(void)
{
	uint64_t sp;

	__asm__ volatile("movq %%rsp, %0" : "=r"(sp));
	return sp - LIBOS_PCT_STACK_BASE <
	       LIBOS_PCT_STACK_PAGES * EXO_PAGE_SIZE;
}

long libos_rpc_call(long slot, unsigned proc,
		    const uint64_t args[LIBOS_RPC_ARGS],
		    uint64_t res[LIBOS_RPC_RESULTS])
{
	const uint64_t in[LIBOS_PCT_WORDS] = {proc, args ? args[0] : 0,
					      args ? args[1] : 0,
					      args ? args[2] : 0};
	uint64_t out[LIBOS_PCT_WORDS];
	exo_envid_t server = EXO_ENV_NONE;
	long err = sys_pct_call(slot, in, out);

	/* Busy: it finishes the call it serves on the time we give it. */
	while (err == -E_BUSY && !in_procedure()) {
		if (server == EXO_ENV_NONE &&
		    (server = callee_of(slot)) == EXO_ENV_NONE)
			return -E_BADCAP;
		if (server == self())
			return -E_BUSY; /* ourselves: busy for ever */
		if (sys_yield(server) == -E_NOENT)
			return -E_NOENT;
		err = sys_pct_call(slot, in, out);
	}
	if (err)
		return err;
	if (res)
		memcpy(res, &out[1], LIBOS_RPC_RESULTS * sizeof(res[0]));
	return (long)out[0];
}

long libos_rpc_map(long slot, uint8_t **buf, size_t *size)
{
	struct libos_shm *m = NULL;
	uint32_t tag;
	long err;

	libos_preempt_disable();
	for (unsigned i = 0; !m && i < LIBOS_RPC_CONNS; i++)
		if (!mapped[i].va) {
			m = &mapped[i];
			m->va = ~0ull; /* claimed */
		}
	libos_preempt_enable();
	if (!m)
		return -E_NOMEM;
	if ((err = libos_shm_import(m, slot, LIBOS_RPC_PROC_BUFFER, 0, &tag))) {
		*m = (struct libos_shm){0};
		return err;
	}
	*buf = (uint8_t *)m->va;
	*size = m->pages * EXO_PAGE_SIZE;
	return E_OK;
}

long libos_rpc_unmap(void *buf)
{
	for (unsigned i = 0; i < LIBOS_RPC_CONNS; i++)
		if (mapped[i].pages && mapped[i].va == (uintptr_t)buf) {
			libos_shm_destroy(&mapped[i]);
			return E_OK;
		}
	return -E_INVAL;
}
