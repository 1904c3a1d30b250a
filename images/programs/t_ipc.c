/*
 * t_ipc.c: tests of the library OS's IPC (libos_ipc.h: guestlib/rpc.c,
 * pipe.c).  RPC: several procedures with their argument and result words,
 * custom and error statuses, an unknown procedure, a procedure that
 * checks its caller's badge, a closed connection's capability, a server
 * found busy, and a 1 MiB transfer each way through a connection's
 * shared buffer, checksummed on both sides.  Pipes between
 * a parent and its forked children: a ping-pong of many round trips, a
 * transfer of several MiB each way through the 64 KiB ring, end of file
 * after the writer closes, lets go of its ends (libos_pipe_exit), exits
 * without closing or dies mid-write, writes that fail with no reader
 * left, misuse of descriptors; and pipes between processes that did not
 * share them, connected over RPC, both ways round.  Last, a round of all
 * of it leaves the kernel's free-frame count where it was.
 *
 * A forked child reports what it saw in a shared page (struct report);
 * the parent checks it once the child is gone.
 */
#include "t_util.h"

#define REPORT_VA T_VA(0)
#define EXIT_OK 0
#define EXIT_BAD 9
#define ARGS LIBOS_RPC_ARGS
#define RES LIBOS_RPC_RESULTS

/* RPC procedures of the server (the parent). */
enum proc {
	P_ADD,	   /* res: a + b + c, a ^ b ^ c, ~a */
	P_REVERSE, /* res: c, b, a */
	P_WHO,	   /* res: badge, caller, connection */
	P_PRIV,	   /* E_OK for BADGE_TRUSTED only, else -E_PERM */
	P_STATUS,  /* status: a */
	P_SUM,	   /* res[0]: checksum of buf[a .. a + b) */
	P_FILL,	   /* fill buf[a .. a + b) from seed c; res[0]: checksum */
	P_SLOW,	   /* wait for another client to find us busy */
	P_UNREGISTERED = 40,
};
#define BADGE_TRUSTED 0x7e57ed
#define BADGE_OTHER 0x0bad
#define BADGE_PIPE 0x919e
#define BADGE_FRESH 0xf2e54
#define CUSTOM_STATUS 12345
#define RPC_ROUNDS 100
#define ROUND_SHIFT 40 /* round i's first word: i twice, far apart */
#define BUF_BYTES (1ull << 20)
#define SEED_CLIENT 0x1234567ull
#define SEED_SERVER 0x7654321ull
#define SLOW_LIMIT_MS 5000 /* P_SLOW gives up waiting after this */

/* Pipes. */
#define PING_ROUNDS 200
#define PING_MAX 64 /* message bytes: 1 .. PING_MAX */
#define LARGE_BYTES (4ull << 20)
#define BACK_BYTES (2ull << 20)
#define SEED_LARGE 0xfeedull
#define SEED_BACK 0xbeefull
#define CHUNK_MAX (96u << 10) /* writes up to half again the ring */
#define SMALL_WRITE 100
#define DYING_WRITE 1024
#define ECHO_MASK 0x5a
#define RPC_PIPE_ROUNDS 50
#define NO_SUCH_OFFER 5

/* xorshift64's shifts, and 64-bit FNV-1a's constants. */
#define XORSHIFT_A 13
#define XORSHIFT_B 7
#define XORSHIFT_C 17
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* How far a child, or its parent, has got, when the other waits for it. */
enum stage {
	STAGE_NONE,
	STAGE_CALLED,	  /* the child made its first calls */
	STAGE_REOFFERED,  /* the parent closed a connection, offered another */
	STAGE_SEEN,	  /* the parent read up to end of file */
	STAGE_CONNECTED,  /* the child connected its pipe ends */
	STAGE_GRANTED,	  /* the parent granted the child an ENV capability */
};

/* What a child saw, for the parent to check. */
static struct report {
	long slot;
	long add_status, rev_status, who_status, priv_status, custom_status;
	uint64_t add[RES], rev[RES], who[RES];
	long unknown_status, beyond_status;
	unsigned rounds_ok;
	long map_status, sum_status, fill_status, unmap_status;
	uint64_t buf_size, sum_mine, sum_server, fill_mine, fill_server;
	bool fill_exact;
	long offer_status;
	uint64_t count, sent_sum, got_sum;
	long offer_a, offer_b, fd_a, fd_b, bogus;
	volatile bool slow_entered, tried;
	exo_envid_t busy_id;
	long parent_slot;
	enum stage stage; /* set_stage() and await() only */
	long stale_status, fresh_status;
	long slow_status, raw_status, busy_status;
	uint64_t busy_res[RES];
} *const report = (struct report *)REPORT_VA;

static uint64_t tsc_khz; /* set before the first fork */
static uint8_t chunk[CHUNK_MAX];
static uint8_t expect[CHUNK_MAX];

static const uint64_t add_args[ARGS] = {0x1111222233334444ull, 0x5555ull,
				     0xaaaa0000aaaa0000ull};

/* ---- Helpers -------------------------------------------------------------- */

static uint64_t frames_free(void)
{
	struct exo_sysinfo si;

	return sys_sysinfo(&si) == E_OK ? si.frames_free : 0;
}

/* Bytes from a xorshift generator: the same seed, the same stream. */
static void pattern(uint8_t *p, size_t n, uint64_t *state)
{
	for (size_t i = 0; i < n; i++) {
		*state ^= *state << XORSHIFT_A;
		*state ^= *state >> XORSHIFT_B;
		*state ^= *state << XORSHIFT_C;
		p[i] = (uint8_t)*state;
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/* Read exactly n bytes (false at end of file or on an error). */
static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		long got = libos_read(fd, p, n);

		if (got <= 0)
			return false;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

/* Move the report to stage, after everything written before it. */
static void set_stage(enum stage stage)
{
	__atomic_store_n(&report->stage, stage, __ATOMIC_RELEASE);
}

/* Give our time to env until the report reaches stage; false if env
 * ended before. */
static bool await(exo_envid_t env, enum stage stage)
{
	while (__atomic_load_n(&report->stage, __ATOMIC_ACQUIRE) != stage)
		if (sys_yield(env) != E_OK)
			return __atomic_load_n(&report->stage,
					       __ATOMIC_ACQUIRE) == stage;
	return true;
}

/* A child that ends with its verdict. */
static _Noreturn void child_done(bool ok)
{
	libos_exit(ok ? EXIT_OK : EXIT_BAD);
}

static int wait_status(long child)
{
	int status = -1;

	return libos_wait(child, &status) == child ? status : -1;
}

/* Fork a child that runs fn; the parent gets the child's slot. */
static long fork_child(void (*fn)(void))
{
	long child;

	memset(report, 0, sizeof(*report));
	child = libos_fork();
	if (child == 0) {
		fn();
		child_done(true);
	}
	if (child < 0)
		tap_diag("fork failed: %ld", child);
	return child;
}

/* Offer the child a connection; a child left waiting for one is killed,
 * so that a failure does not hang the test. */
static long offer(long child, uint64_t badge, size_t buf_size)
{
	long conn = libos_rpc_offer(child, badge, buf_size);

	if (conn < 0)
		sys_env_kill(child);
	return conn;
}

/* ---- RPC: the server's procedures -------------------------------------------- */

static long p_add(const struct libos_rpc_req *req, uint64_t res[RES])
{
	res[0] = req->arg[0] + req->arg[1] + req->arg[2];
	res[1] = req->arg[0] ^ req->arg[1] ^ req->arg[2];
	res[2] = ~req->arg[0];
	return E_OK;
}

static long p_reverse(const struct libos_rpc_req *req, uint64_t res[RES])
{
	res[0] = req->arg[2];
	res[1] = req->arg[1];
	res[2] = req->arg[0];
	return E_OK;
}

static long p_who(const struct libos_rpc_req *req, uint64_t res[RES])
{
	res[0] = req->badge;
	res[1] = req->caller;
	res[2] = (uint64_t)req->conn;
	return E_OK;
}

static long p_priv(const struct libos_rpc_req *req, uint64_t res[RES])
{
	(void)res;
	return req->badge == BADGE_TRUSTED ? E_OK : -E_PERM;
}

static long p_status(const struct libos_rpc_req *req, uint64_t res[RES])
{
	(void)res;
	return (long)req->arg[0];
}

/* The span [a, a + b) of the buffer, if it lies inside. */
static bool buf_span(const struct libos_rpc_req *req)
{
	return req->buf && req->arg[0] <= req->buf_size &&
	       req->arg[1] <= req->buf_size - req->arg[0];
}

static long p_sum(const struct libos_rpc_req *req, uint64_t res[RES])
{
	if (!buf_span(req))
		return -E_INVAL;
	res[0] = fnv(FNV_OFFSET, req->buf + req->arg[0], req->arg[1]);
	return E_OK;
}

static long p_fill(const struct libos_rpc_req *req, uint64_t res[RES])
{
	uint64_t state = req->arg[2];

	if (!buf_span(req))
		return -E_INVAL;
	pattern(req->buf + req->arg[0], req->arg[1], &state);
	res[0] = fnv(FNV_OFFSET, req->buf + req->arg[0], req->arg[1]);
	return E_OK;
}

/* Hold the server inside a call, giving its time to the other client,
 * until that one has found it busy (or give up).  It writes only the
 * shared, populated report page. */
static long p_slow(const struct libos_rpc_req *req, uint64_t res[RES])
{
	uint64_t end = __builtin_ia32_rdtsc() + SLOW_LIMIT_MS * tsc_khz;

	(void)req;
	(void)res;
	report->slow_entered = true;
	while (!report->tried && __builtin_ia32_rdtsc() < end)
		sys_yield(report->busy_id);
	return report->tried ? E_OK : -E_BUSY;
}

static bool register_procs(void)
{
	static const struct {
		enum proc n;
		libos_rpc_fn fn;
	} procs[] = {{P_ADD, p_add},	 {P_REVERSE, p_reverse},
		     {P_WHO, p_who},	 {P_PRIV, p_priv},
		     {P_STATUS, p_status}, {P_SUM, p_sum},
		     {P_FILL, p_fill},	 {P_SLOW, p_slow}};
	bool ok = true;

	for (unsigned i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		ok = ok && libos_rpc_register(procs[i].n, procs[i].fn) == E_OK;
	return ok;
}

/* ---- RPC: the clients ------------------------------------------------------------ */

static long connect_parent(void)
{
	long slot = libos_rpc_connect(libos_uenv->parent);

	report->slot = slot;
	if (slot < 0)
		child_done(false);
	return slot;
}

/* Many calls with words that change each time. */
static unsigned add_rounds(long slot)
{
	unsigned ok = 0;

	for (uint64_t i = 0; i < RPC_ROUNDS; i++) {
		const uint64_t a[ARGS] = {i << ROUND_SHIFT | i, ~i, i * i};
		uint64_t r[RES] = {0};

		ok += libos_rpc_call(slot, P_ADD, a, r) == E_OK &&
		      r[0] == a[0] + a[1] + a[2] && r[1] == (a[0] ^ a[1] ^ a[2]) &&
		      r[2] == ~a[0];
	}
	return ok;
}

/* Fill the whole buffer here, have the server sum it; then the reverse. */
static void buffer_both_ways(long slot)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	uint64_t res[RES] = {0}, state = SEED_SERVER;

	report->map_status = libos_rpc_map(slot, &buf, &size);
	report->buf_size = size;
	if (report->map_status)
		return;
	pattern(buf, size, &(uint64_t){SEED_CLIENT});
	report->sum_mine = fnv(FNV_OFFSET, buf, size);
	report->sum_status = libos_rpc_call(slot, P_SUM,
					    (uint64_t[ARGS]){0, size, 0}, res);
	report->sum_server = res[0];
	report->fill_status = libos_rpc_call(
		slot, P_FILL, (uint64_t[ARGS]){0, size, SEED_SERVER}, res);
	report->fill_server = res[0];
	report->fill_mine = fnv(FNV_OFFSET, buf, size);
	report->fill_exact = true;
	for (size_t off = 0; off < size; off += CHUNK_MAX) {
		size_t n = size - off < CHUNK_MAX ? size - off : CHUNK_MAX;

		pattern(expect, n, &state);
		report->fill_exact = report->fill_exact &&
				     memcmp(buf + off, expect, n) == 0;
	}
	report->unmap_status = libos_rpc_unmap(buf);
}

static void trusted_client(void)
{
	long slot = connect_parent();

	report->add_status = libos_rpc_call(slot, P_ADD, add_args, report->add);
	report->rev_status = libos_rpc_call(slot, P_REVERSE, add_args,
					    report->rev);
	report->who_status = libos_rpc_call(slot, P_WHO, NULL, report->who);
	report->priv_status = libos_rpc_call(slot, P_PRIV, NULL, NULL);
	report->custom_status = libos_rpc_call(
		slot, P_STATUS, (uint64_t[ARGS]){CUSTOM_STATUS, 0, 0}, NULL);
	report->unknown_status = libos_rpc_call(slot, P_UNREGISTERED, NULL,
						NULL);
	report->beyond_status = libos_rpc_call(slot, LIBOS_RPC_PROCS, NULL,
					       NULL);
	report->rounds_ok = add_rounds(slot);
	buffer_both_ways(slot);
}

static void other_client(void)
{
	long slot = connect_parent();
	uint8_t *buf;
	size_t size;

	report->who_status = libos_rpc_call(slot, P_WHO, NULL, report->who);
	report->priv_status = libos_rpc_call(slot, P_PRIV, NULL, NULL);
	report->map_status = libos_rpc_map(slot, &buf, &size);
	/* The server closes this connection and offers us another. */
	set_stage(STAGE_CALLED);
	await(libos_uenv->parent, STAGE_REOFFERED);
	report->stale_status = libos_rpc_call(slot, P_WHO, NULL, NULL);
	slot = t_find_cap(slot + 1, EXO_CAP_PCT, libos_uenv->parent);
	report->fresh_status = libos_rpc_call(slot, P_WHO, NULL, report->who);
}

static void slow_client(void)
{
	report->slow_status = libos_rpc_call(connect_parent(), P_SLOW, NULL,
					     NULL);
}

/* Call while the server is inside the slow client's call: once by hand
 * (busy), then through the library, which waits its turn. */
static void busy_client(void)
{
	long slot = connect_parent();
	const uint64_t in[LIBOS_PCT_WORDS] = {P_ADD, add_args[0], add_args[1],
					      add_args[2]};

	while (!report->slow_entered)
		sys_yield(EXO_ENV_NONE);
	report->raw_status = sys_pct_call(slot, in, NULL);
	report->tried = true;
	report->busy_status = libos_rpc_call(slot, P_ADD, add_args,
					     report->busy_res);
}

/* ---- RPC: the tests ---------------------------------------------------------------- */

static void rpc_calls(void)
{
	long child = fork_child(trusted_client);
	long conn = offer(child, BADGE_TRUSTED, BUF_BYTES);
	exo_envid_t id = t_env_id(child);
	const uint64_t *a = add_args;
	int status = wait_status(child);

	tap_ok(conn >= 0, "offer a connection with a 1 MiB buffer (%ld)", conn);
	tap_ok(status == EXIT_OK && report->slot > 0,
	       "the client finds its connection (slot %ld, status %d)",
	       report->slot, status);
	tap_ok(report->add_status == E_OK &&
		       report->add[0] == a[0] + a[1] + a[2] &&
		       report->add[1] == (a[0] ^ a[1] ^ a[2]) &&
		       report->add[2] == ~a[0] && report->rev_status == E_OK &&
		       report->rev[0] == a[2] && report->rev[1] == a[1] &&
		       report->rev[2] == a[0],
	       "three argument words there and three result words back, "
	       "for two procedures");
	tap_ok(report->who_status == E_OK && report->who[0] == BADGE_TRUSTED &&
		       report->who[1] == id && report->who[2] == (uint64_t)conn,
	       "the procedure sees the badge, the caller and the connection");
	tap_ok(report->priv_status == E_OK &&
		       report->custom_status == CUSTOM_STATUS,
	       "statuses come back as the procedure returned them (%ld, %ld)",
	       report->priv_status, report->custom_status);
	tap_ok(report->unknown_status == -E_NOSYS &&
		       report->beyond_status == -E_NOSYS,
	       "an unregistered procedure and one out of range: -E_NOSYS "
	       "(%ld, %ld)",
	       report->unknown_status, report->beyond_status);
	tap_ok(report->rounds_ok == RPC_ROUNDS, "%u of %u calls right",
	       report->rounds_ok, RPC_ROUNDS);
	tap_ok(report->map_status == E_OK && report->buf_size == BUF_BYTES,
	       "the client maps the connection's buffer (%ld, %lu bytes)",
	       report->map_status, report->buf_size);
	tap_ok(report->sum_status == E_OK &&
		       report->sum_server == report->sum_mine,
	       "1 MiB written by the client, summed by the server: %lx, %lx",
	       report->sum_mine, report->sum_server);
	tap_ok(report->fill_status == E_OK &&
		       report->fill_server == report->fill_mine &&
		       report->fill_exact,
	       "1 MiB written by the server, checked by the client: %lx, %lx",
	       report->fill_server, report->fill_mine);
	tap_ok(report->unmap_status == E_OK && libos_rpc_close(conn) == E_OK &&
		       libos_rpc_close(conn) == -E_INVAL,
	       "unmap, then close the connection once");
}

static void rpc_badge(void)
{
	long child = fork_child(other_client);
	long conn = offer(child, BADGE_OTHER, 0), again = -1;
	bool other_badge;
	int status;

	if (conn >= 0)
		await(t_env_id(child), STAGE_CALLED);
	other_badge = report->who_status == E_OK &&
		      report->who[0] == BADGE_OTHER;
	if (conn >= 0 && libos_rpc_close(conn) == E_OK)
		again = offer(child, BADGE_FRESH, 0);
	set_stage(STAGE_REOFFERED);
	status = wait_status(child);
	tap_ok(other_badge && report->priv_status == -E_PERM,
	       "another client: its own badge, and the badge check refuses "
	       "it (%ld)",
	       report->priv_status);
	tap_ok(report->map_status == -E_NOENT,
	       "a connection without a buffer has none to map (%ld)",
	       report->map_status);
	tap_ok(again == conn && status == EXIT_OK &&
		       report->stale_status == -E_NOENT &&
		       report->fresh_status == E_OK &&
		       report->who[0] == BADGE_FRESH,
	       "closed, its number serves a new connection, which the old "
	       "capability does not reach (%ld)",
	       report->stale_status);
	libos_rpc_close(again);
	tap_ok(libos_rpc_offer(EXO_SLOT_SELF, 1ull << LIBOS_RPC_BADGE_BITS, 0) ==
			       -E_INVAL &&
		       libos_rpc_register(LIBOS_RPC_USER_PROCS, p_add) ==
			       -E_INVAL,
	       "a badge too wide and a library procedure number are refused");
}

static void rpc_busy(void)
{
	long slow = fork_child(slow_client), busy = fork_child(busy_client);
	long conn_busy, conn_slow;
	int slow_exit, busy_exit;

	/* The busy client is connected before the slow one can call. */
	report->busy_id = t_env_id(busy);
	conn_busy = offer(busy, BADGE_OTHER, 0);
	conn_slow = offer(slow, BADGE_OTHER, 0);
	slow_exit = wait_status(slow);
	busy_exit = wait_status(busy);

	tap_ok(conn_slow >= 0 && conn_busy >= 0 && slow_exit == EXIT_OK &&
		       busy_exit == EXIT_OK && report->raw_status == -E_BUSY,
	       "a call while the server serves another: busy (%ld)",
	       report->raw_status);
	tap_ok(report->busy_status == E_OK && report->slow_status == E_OK &&
		       report->busy_res[0] ==
			       add_args[0] + add_args[1] + add_args[2],
	       "the library gives the server its time and calls again: both "
	       "answered (%ld, %ld)",
	       report->busy_status, report->slow_status);
	libos_rpc_close(conn_slow);
	libos_rpc_close(conn_busy);
}

/* ---- Pipes between parent and child ------------------------------------------- */

static int down[2], up[2];

static void echo(int in, int out)
{
	uint8_t buf[PING_MAX];
	long n;

	while ((n = libos_read(in, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < n; i++)
			buf[i] ^= ECHO_MASK;
		if (libos_write(out, buf, (size_t)n) != n)
			child_done(false);
	}
	report->count = (uint64_t)n;
}

/* Message i down `out`; true if it comes back up `in` echoed. */
static bool round_trip(int out, int in, unsigned i)
{
	uint8_t msg[PING_MAX], got[PING_MAX];
	size_t n = 1 + i % PING_MAX;

	pattern(msg, n, &(uint64_t){i + 1});
	if (libos_write(out, msg, n) != (long)n || !read_full(in, got, n))
		return false;
	for (size_t k = 0; k < n; k++)
		if (got[k] != (msg[k] ^ ECHO_MASK))
			return false;
	return true;
}

static void ping_child(void)
{
	report->offer_status = libos_pipe_offer(down[0]);
	libos_close(down[1]);
	libos_close(up[0]);
	echo(down[0], up[1]);
	child_done(libos_close(down[0]) == E_OK &&
		   libos_close(up[1]) == E_OK);
}

static void pipe_pingpong(void)
{
	uint8_t byte;
	unsigned ok = 0;
	long child, eof;

	bool made = libos_pipe(down) == E_OK && libos_pipe(up) == E_OK;

	tap_ok(made, "make two pipes (%d %d, %d %d)", down[0], down[1], up[0],
	       up[1]);
	child = fork_child(ping_child);
	libos_close(down[0]);
	libos_close(up[1]);
	for (unsigned i = 0; i < PING_ROUNDS; i++)
		ok += round_trip(down[1], up[0], i);
	tap_ok(ok == PING_ROUNDS, "%u of %u round trips came back right", ok,
	       PING_ROUNDS);
	libos_close(down[1]);
	eof = libos_read(up[0], &byte, 1);
	tap_ok(eof == 0 && wait_status(child) == EXIT_OK && report->count == 0,
	       "we close: the child reads end of file, closes, and so do we "
	       "(%ld)",
	       eof);
	tap_ok(report->offer_status == -E_PERM,
	       "a child cannot offer its parent's pipe (%ld)",
	       report->offer_status);
	libos_close(up[0]);
}

/* Write `bytes` of the stream from seed in chunks of changing sizes. */
static bool write_stream(int fd, uint64_t bytes, uint64_t seed,
			 uint64_t *sum)
{
	static const size_t sizes[] = {1, 4093, 70000, 65536, 17, CHUNK_MAX};
	uint64_t state = seed;

	*sum = FNV_OFFSET;
	for (unsigned i = 0; bytes; i++) {
		size_t n = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];

		n = n < bytes ? n : bytes;
		pattern(chunk, n, &state);
		*sum = fnv(*sum, chunk, n);
		if (libos_write(fd, chunk, n) != (long)n)
			return false;
		bytes -= n;
	}
	return true;
}

/* Read to end of file, checking each byte against the stream from seed:
 * the bytes read, or how many came right before the first wrong one. */
static uint64_t read_stream(int fd, uint64_t seed, uint64_t *sum)
{
	static const size_t sizes[] = {1, 5000, 66536, 333};
	uint64_t state = seed, total = 0;
	long n;

	*sum = FNV_OFFSET;
	for (unsigned i = 0;; i++) {
		n = libos_read(fd, chunk, sizes[i % (sizeof(sizes) /
						     sizeof(sizes[0]))]);
		if (n <= 0)
			break;
		pattern(expect, (size_t)n, &state);
		*sum = fnv(*sum, chunk, (size_t)n);
		if (memcmp(chunk, expect, (size_t)n))
			break;
		total += (uint64_t)n;
	}
	return n == 0 ? total : total | (1ull << 63);
}

static int there[2], back[2];

static void large_child(void)
{
	bool ok;

	libos_close(there[0]);
	libos_close(back[1]);
	ok = write_stream(there[1], LARGE_BYTES, SEED_LARGE, &report->sent_sum);
	libos_close(there[1]);
	report->count = read_stream(back[0], SEED_BACK, &report->got_sum);
	child_done(ok && libos_close(back[0]) == E_OK);
}

static void pipe_large(void)
{
	uint64_t got, sum, back_sum;
	long child;
	bool sent;

	libos_pipe(there);
	libos_pipe(back);
	child = fork_child(large_child);
	libos_close(there[1]);
	libos_close(back[0]);
	got = read_stream(there[0], SEED_LARGE, &sum);
	sent = write_stream(back[1], BACK_BYTES, SEED_BACK, &back_sum);
	libos_close(back[1]);
	libos_close(there[0]);
	tap_ok(wait_status(child) == EXIT_OK && got == LARGE_BYTES &&
		       report->sent_sum == sum,
	       "4 MiB from the child through a 64 KiB ring, every byte right, "
	       "checksums equal (%lu bytes, %lx)",
	       got, sum);
	tap_ok(sent && report->count == BACK_BYTES &&
		       report->got_sum == back_sum,
	       "2 MiB back, in writes up to 96 KiB, checked by the child "
	       "(%lu bytes)",
	       report->count);
}

/* ---- End of file and no reader -------------------------------------------------- */

static int data[2], hold[2];

/* Write a little, close, and stay alive until the parent lets us go. */
static void close_child(void)
{
	uint8_t byte;

	libos_close(data[0]);
	libos_close(hold[1]);
	pattern(chunk, SMALL_WRITE, &(uint64_t){SEED_LARGE});
	libos_write(data[1], chunk, SMALL_WRITE);
	libos_close(data[1]);
	child_done(libos_read(hold[0], &byte, 1) == 0);
}

/* Write a little, then let go of every end the way exit would, and stay
 * alive until the parent has seen end of file. */
static void forgetting_child(void)
{
	libos_close(data[0]);
	pattern(chunk, SMALL_WRITE, &(uint64_t){SEED_LARGE});
	libos_write(data[1], chunk, SMALL_WRITE);
	libos_pipe_exit();
	await(libos_uenv->parent, STAGE_SEEN);
}

static void exit_child(void)
{
	libos_close(data[0]);
	pattern(chunk, SMALL_WRITE, &(uint64_t){SEED_LARGE});
	libos_write(data[1], chunk, SMALL_WRITE);
	libos_exit(EXIT_OK); /* the write end still open */
}

/* The other thread of a dying writer: end the env on the spot (no
 * libos_exit, so nothing of the library OS closes anything). */
static void *die(void *arg)
{
	(void)arg;
	sys_env_exit(EXIT_OK);
}

/* Write for ever; once the ring is full our writer waits, lets the other
 * thread run, and the env dies inside the write. */
static void dying_writer(void)
{
	libos_thread_t t;

	libos_close(data[0]);
	libos_write(data[1], chunk, DYING_WRITE);
	if (libos_thread_create(&t, die, NULL))
		child_done(false);
	for (;;)
		libos_write(data[1], chunk, DYING_WRITE);
}

/* Read everything up to end of file; the bytes, or ~0 if there was none
 * within twice the ring. */
static uint64_t drain(int fd)
{
	uint64_t total = 0;
	long n;

	while ((n = libos_read(fd, chunk, CHUNK_MAX)) > 0 &&
	       total <= 2 * LIBOS_PIPE_RING_BYTES)
		total += (uint64_t)n;
	return n == 0 ? total : ~0ull;
}

static void pipe_eof(void)
{
	long child;
	uint64_t sum, got;

	libos_pipe(data);
	libos_pipe(hold);
	child = fork_child(close_child);
	libos_close(data[1]);
	libos_close(hold[0]);
	tap_ok(read_stream(data[0], SEED_LARGE, &sum) == SMALL_WRITE,
	       "the writer closes: its bytes, then end of file while it lives");
	libos_close(hold[1]);
	tap_ok(wait_status(child) == EXIT_OK,
	       "closing the last write end is end of file for the child too");
	libos_close(data[0]);

	libos_pipe(data);
	child = fork_child(forgetting_child);
	libos_close(data[1]);
	got = read_stream(data[0], SEED_LARGE, &sum);
	set_stage(STAGE_SEEN);
	tap_ok(got == SMALL_WRITE && wait_status(child) == EXIT_OK,
	       "libos_pipe_exit lets go of the writer's ends: end of file "
	       "while it lives (%lu)",
	       got);
	libos_close(data[0]);

	libos_pipe(data);
	child = fork_child(exit_child);
	libos_close(data[1]);
	tap_ok(read_stream(data[0], SEED_LARGE, &sum) == SMALL_WRITE &&
		       wait_status(child) == EXIT_OK,
	       "the writer exits without closing: its bytes, then end of file");
	libos_close(data[0]);

	libos_pipe(data);
	child = fork_child(dying_writer);
	libos_close(data[1]);
	tap_ok(libos_read(data[0], chunk, 1) == 1 &&
		       wait_status(child) == EXIT_OK,
	       "a writer dies in the middle of a write");
	tap_ok(drain(data[0]) <= LIBOS_PIPE_RING_BYTES,
	       "what it wrote, then end of file");
	libos_close(data[0]);
}

static void closing_reader(void)
{
	libos_close(data[1]);
	child_done(libos_close(data[0]) == E_OK);
}

static void dying_reader(void)
{
	libos_close(data[1]);
	sys_env_exit(EXIT_OK); /* the read end still open */
}

static void pipe_no_reader(void)
{
	long child, partial;
	uint8_t byte = 0;
	int status;

	libos_pipe(data);
	tap_ok(libos_write(data[0], &byte, 1) == -E_BADCAP &&
		       libos_read(data[1], &byte, 1) == -E_BADCAP &&
		       libos_close(LIBOS_FD_MAX) == -E_BADCAP,
	       "the wrong end, or no descriptor at all: -E_BADCAP");
	tap_ok(libos_close(data[0]) == E_OK &&
		       libos_write(data[1], &byte, 1) == -E_NOENT &&
		       libos_read(data[0], &byte, 1) == -E_BADCAP,
	       "no read end left: a write fails with -E_NOENT");
	tap_ok(libos_close(data[1]) == E_OK && libos_close(data[1]) == -E_BADCAP,
	       "close twice: the second fails");

	libos_pipe(data);
	child = fork_child(closing_reader);
	libos_close(data[0]);
	tap_ok(wait_status(child) == EXIT_OK &&
		       libos_write(data[1], &byte, 1) == -E_NOENT,
	       "the child closed the last read end: a write fails");
	libos_close(data[1]);

	libos_pipe(data);
	child = fork_child(dying_reader);
	libos_close(data[0]);
	status = wait_status(child);
	partial = libos_write(data[1], chunk, CHUNK_MAX);
	tap_ok(status == EXIT_OK && partial == (long)LIBOS_PIPE_RING_BYTES &&
		       libos_write(data[1], &byte, 1) == -E_NOENT,
	       "the reader died without closing: a write fills the ring and "
	       "says how much (%ld), the next fails",
	       partial);
	libos_close(data[1]);
}

/* ---- A pipe connected over RPC --------------------------------------------------- */

static void connected_child(void)
{
	long slot = connect_parent();

	report->bogus = libos_pipe_connect(slot, NO_SUCH_OFFER);
	report->fd_a = libos_pipe_connect(slot, report->offer_a);
	report->fd_b = libos_pipe_connect(slot, report->offer_b);
	if (report->fd_a < 0 || report->fd_b < 0)
		child_done(false);
	set_stage(STAGE_CONNECTED);
	echo((int)report->fd_b, (int)report->fd_a);
	child_done(libos_close((int)report->fd_a) == E_OK &&
		   libos_close((int)report->fd_b) == E_OK);
}

/*
 * The child is forked before the pipes exist.  We offer a's write end
 * and b's read end; it connects to both and echoes what comes down b up
 * a, until end of file.  Returns whether every round trip came back.
 */
static bool connected_round(long *conn, long *child, long *eof)
{
	int a[2], b[2];
	unsigned ok = 0;
	uint8_t byte;

	*child = fork_child(connected_child);
	if (libos_pipe(a) || libos_pipe(b)) {
		sys_env_kill(*child);
		return false;
	}
	report->offer_a = libos_pipe_offer(a[1]);
	report->offer_b = libos_pipe_offer(b[0]);
	libos_close(a[1]);
	libos_close(b[0]);
	*conn = offer(*child, BADGE_PIPE, 0);
	/* Until it connects, only we are counted at the other ends. */
	await(t_env_id(*child), STAGE_CONNECTED);
	for (unsigned i = 0; i < RPC_PIPE_ROUNDS; i++) {
		ok += round_trip(b[1], a[0], i);
		if (i == 0) { /* it holds both ends now: ours may go */
			libos_pipe_withdraw(report->offer_a);
			libos_pipe_withdraw(report->offer_b);
		}
	}
	libos_close(b[1]);
	*eof = libos_read(a[0], &byte, 1);
	libos_close(a[0]);
	return ok == RPC_PIPE_ROUNDS;
}

static void rpc_pipe(void)
{
	long conn = -1, child = -1, eof = -1;
	bool rounds = connected_round(&conn, &child, &eof);
	int status = wait_status(child);

	tap_ok(report->offer_a >= 0 && report->offer_b >= 0 && conn >= 0,
	       "offer two ends, then a connection (%ld %ld %ld)",
	       report->offer_a, report->offer_b, conn);
	tap_ok(report->fd_a >= 0 && report->fd_b >= 0,
	       "a process that did not share the pipes connects to both "
	       "(descriptors %ld, %ld)",
	       report->fd_a, report->fd_b);
	tap_ok(rounds, "%u round trips through the connected ends",
	       RPC_PIPE_ROUNDS);
	tap_ok(eof == 0 && status == EXIT_OK && report->count == 0,
	       "end of file both ways once the offers are withdrawn (%ld, %d)",
	       eof, status);
	tap_ok(report->bogus == -E_NOENT, "no such offer: -E_NOENT (%ld)",
	       report->bogus);
	tap_ok(libos_pipe_withdraw(report->offer_a) == -E_INVAL &&
		       libos_rpc_close(conn) == E_OK,
	       "the offer is gone; close the connection");
}

/*
 * Roles the other way round: the child makes a pipe and offers its read
 * end over a connection to us (we grant it an ENV capability to us for
 * that), writes, and ends without closing once we are connected.  Its
 * frames go with it: our connected end reads its bytes, then end of file.
 */
static void exporting_child(void)
{
	int p[2];

	await(libos_uenv->parent, STAGE_GRANTED);
	if (libos_pipe(p))
		child_done(false);
	report->offer_a = libos_pipe_offer(p[0]);
	report->slot = libos_rpc_offer(report->parent_slot, BADGE_PIPE, 0);
	pattern(chunk, SMALL_WRITE, &(uint64_t){SEED_LARGE});
	if (libos_write(p[1], chunk, SMALL_WRITE) != SMALL_WRITE)
		child_done(false);
	await(libos_uenv->parent, STAGE_CONNECTED);
	libos_exit(EXIT_OK); /* every end still open */
}

static void exporter_dies(void)
{
	long child = fork_child(exporting_child), slot, fd = -1, eof = -1;
	uint8_t byte;
	bool got = false;
	int status;

	report->parent_slot = sys_cap_grant(EXO_SLOT_SELF, child, 0,
					    EXO_SLOT_ANY);
	set_stage(STAGE_GRANTED);
	slot = libos_rpc_connect(t_env_id(child));
	if (slot >= 0)
		fd = libos_pipe_connect(slot, report->offer_a);
	if (fd >= 0) {
		pattern(expect, SMALL_WRITE, &(uint64_t){SEED_LARGE});
		got = read_full((int)fd, chunk, SMALL_WRITE) &&
		      memcmp(chunk, expect, SMALL_WRITE) == 0;
	}
	set_stage(STAGE_CONNECTED);
	status = wait_status(child);
	if (fd >= 0)
		eof = libos_read((int)fd, &byte, 1);
	tap_ok(report->parent_slot > 0 && slot >= 0 && fd >= 0 && got,
	       "a child offers us an end of its pipe; we connect and read "
	       "(%ld, %ld)",
	       slot, fd);
	tap_ok(status == EXIT_OK && eof == 0 && libos_close((int)fd) == E_OK,
	       "it ends without closing, taking the ring with it: end of "
	       "file (%ld)",
	       eof);
}

/* ---- Nothing left behind --------------------------------------------------------- */

/* A connection with a buffer, a pipe shared by fork and one connected
 * over RPC, and everything closed again. */
static bool leak_round(void)
{
	long conn = -1, child = -1, eof = -1;
	bool ok = connected_round(&conn, &child, &eof);

	ok = ok && wait_status(child) == EXIT_OK && eof == 0;
	libos_rpc_close(conn);
	child = fork_child(trusted_client);
	conn = offer(child, BADGE_TRUSTED, BUF_BYTES);
	ok = ok && wait_status(child) == EXIT_OK && report->fill_exact;
	libos_rpc_close(conn);
	return ok;
}

static void no_leak(void)
{
	uint64_t before, after;
	bool first = leak_round(), second;

	before = frames_free();
	second = leak_round();
	after = frames_free();
	tap_ok(first && second, "two rounds of connections, buffers and pipes");
	tap_ok(after == before,
	       "the kernel's free frames are back where they were (%lu, then "
	       "%lu)",
	       before, after);
}

int main(void)
{
	struct exo_sysinfo si;

	tap_plan(45);
	sys_sysinfo(&si);
	tsc_khz = si.tsc_khz;
	tap_ok(vm_reserve(REPORT_VA, EXO_PAGE_SIZE, VM_PROT_READ | VM_PROT_WRITE,
			  VM_SHARED) == E_OK &&
		       vm_populate(REPORT_VA, EXO_PAGE_SIZE) == E_OK &&
		       register_procs(),
	       "a shared page for the children's reports; the procedures");
	rpc_calls();
	rpc_badge();
	rpc_busy();
	pipe_pingpong();
	pipe_large();
	pipe_eof();
	pipe_no_reader();
	rpc_pipe();
	exporter_dies();
	no_leak();
	return tap_done();
}
