/*
 * libos_ipc.h: communication between processes (envs) of the library OS:
 * remote procedure calls over protected control transfer, with a shared
 * buffer per connection for large transfers (guestlib/rpc.c), and
 * byte-stream pipes (guestlib/pipe.c), between processes forked after
 * the pipe was made or, connected through RPC, between any two.
 *
 * Both are built on shared regions (struct libos_shm, at the end): pages
 * of the VM layer (libos_vm.h) in a window of the address space of their
 * own, handed from the process that made them to another as frame
 * capabilities, run by run, over RPC.
 */
#ifndef LIBOS_IPC_H
#define LIBOS_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <exo/abi.h>

/* ---- RPC ------------------------------------------------------------------
 * A server registers procedures by number and offers connections; a
 * client calls a procedure of a connection with three argument words and
 * gets a status and three result words back.  One call is one
 * SYS_PCT_CALL: the server's procedure runs at once, on the client's time,
 * with no scheduling decision in between.
 *
 * Server:
 *
 *   libos_rpc_register(PROC_ADD, add);
 *   conn = libos_rpc_offer(child, MY_BADGE, 1 << 20);
 *
 *   static long add(const struct libos_rpc_req *req, uint64_t res[3])
 *   {
 *           res[0] = req->arg[0] + req->arg[1];
 *           return E_OK;
 *   }
 *
 * Client:
 *
 *   long srv = libos_rpc_connect(libos_uenv->parent);
 *   long status = libos_rpc_call(srv, PROC_ADD, (uint64_t[3]){1, 2, 0}, res);
 *
 * A procedure (a handler) runs inside the PCT call, interrupting the
 * server wherever it was, even inside malloc or holding a mutex.  So it
 * must not take locks, allocate, call the thread functions or the VM
 * layer, nor touch memory that could fault (memory written before a fork
 * may be copy-on-write): its stack, the connection's buffer and what the
 * server populated in VM_SHARED regions are safe.  It may make system
 * calls, and call other servers.  One call at a time: a call to a server
 * already serving one is retried by libos_rpc_call (see there).
 */
#define LIBOS_RPC_ARGS 3
#define LIBOS_RPC_RESULTS 3

/* Procedure numbers 0 .. LIBOS_RPC_USER_PROCS - 1 are the application's;
 * the rest, up to LIBOS_RPC_PROCS, are the library's own. */
#define LIBOS_RPC_PROCS 64
#define LIBOS_RPC_USER_PROCS 56
#define LIBOS_RPC_PROC_BUFFER 56 /* a run of the connection's buffer */
#define LIBOS_RPC_PROC_PIPE 57	 /* an offered pipe end (pipe.c) */

/* Connections a server has open at once, and the bits of a badge. */
#define LIBOS_RPC_CONNS 32
#define LIBOS_RPC_BADGE_BITS 40

/* What a procedure is called with. */
struct libos_rpc_req {
	unsigned proc;
	long conn;	    /* the connection, as libos_rpc_offer returned */
	uint64_t badge;	    /* its badge, as the server chose it */
	exo_envid_t caller; /* the client's envid */
	long client_env;    /* the server's ENV slot for the client (grants) */
	uint64_t arg[LIBOS_RPC_ARGS];
	uint8_t *buf;	    /* the connection's buffer here, or NULL */
	size_t buf_size;
};

/*
 * A procedure: fill res (zeroed beforehand) and return the status the
 * client's libos_rpc_call returns: E_OK, a negative E_*, or any other
 * value the two sides agree on.
 */
typedef long (*libos_rpc_fn)(const struct libos_rpc_req *req,
			     uint64_t res[LIBOS_RPC_RESULTS]);

/*
 * Make proc (< LIBOS_RPC_USER_PROCS) call fn, replacing what it called
 * before; fn NULL removes it (calls then get -E_NOSYS).  The first
 * registration makes this env an RPC server (libos_pct_serve), so it
 * replaces any other PCT server function.  Returns 0 or a negative E_*.
 * After a fork the child keeps the procedures, but serves nothing until
 * it registers or offers again itself.
 */
long libos_rpc_register(unsigned proc, libos_rpc_fn fn);

/*
 * Offer a connection to the env in env_slot (an ENV capability, which the
 * server must keep while the connection is open: the library grants
 * through it): that env gets a PCT capability (the CALL right only, so it
 * cannot pass it on) whose calls carry badge (below
 * 1 << LIBOS_RPC_BADGE_BITS) to every procedure, so that a procedure can
 * tell its clients apart and no client can pretend to be another.  With
 * buf_size > 0 the connection has a shared buffer of that many bytes
 * (rounded up to pages, at most LIBOS_IPC_SLOT_BYTES), zeroed, populated
 * here and mapped by the client with libos_rpc_map; procedures see it as
 * req->buf.  Returns the connection's number (>= 0) or a negative E_*.
 */
long libos_rpc_offer(long env_slot, uint64_t badge, size_t buf_size);

/*
 * Close a connection: its calls get -E_NOENT from now on (even once its
 * number serves another connection, unless that is its 65536th use), and
 * its buffer goes back to this process's memory.  The client's mapping of the
 * buffer is not taken away, so close only after the client has unmapped
 * it (libos_rpc_unmap) or is gone.  Returns 0 or -E_INVAL.
 */
long libos_rpc_close(long conn);

/*
 * Client: the slot of the connection server offered us, waiting for it
 * (giving our time to the server) until it comes: the lowest slot holding
 * a PCT capability to server.  -E_NOENT if the server is gone.
 */
long libos_rpc_connect(exo_envid_t server);

/*
 * Call procedure proc of the connection in slot with args (NULL: zeros);
 * res (if not NULL) gets the results.  Returns the procedure's status, or:
 * -E_NOSYS for a procedure the server has not registered; -E_NOENT when
 * the server is gone (before or during the call) or closed the
 * connection; -E_BADCAP or -E_PERM when slot holds no PCT capability with
 * the CALL right.
 *
 * When the server is busy with another call (or is itself waiting in a
 * call) the client gives the rest of its slice to the server and tries
 * again, for as long as that lasts: the server finishes on the time given.
 * Only a caller that is itself a procedure gets -E_BUSY at once (a server
 * waits for no one, or two servers calling each other would wait for
 * ever), and so does a process calling itself.
 * The whole env waits during a call, every thread with it.
 */
long libos_rpc_call(long slot, unsigned proc,
		    const uint64_t args[LIBOS_RPC_ARGS],
		    uint64_t res[LIBOS_RPC_RESULTS]);

/*
 * Map the buffer of the connection in slot here: *buf gets its address,
 * *size its bytes.  Both sides then see the same bytes; calls carry
 * offsets and lengths into it.  Costs a call per run of pages plus the
 * mapping.  Returns 0, or a negative E_* (-E_NOENT: the connection has no
 * buffer).  libos_rpc_unmap(buf) undoes it (-E_INVAL if buf is no mapped
 * buffer).  A mapped buffer is not inherited by a fork.
 */
long libos_rpc_map(long slot, uint8_t **buf, size_t *size);
long libos_rpc_unmap(void *buf);

/* ---- Pipes -------------------------------------------------------------------
 * POSIX-like byte streams.  libos_pipe(fd) makes one: fd[0] its read end,
 * fd[1] its write end, small numbers in a table of LIBOS_FD_MAX
 * descriptors per process.  The bytes go through a ring of
 * LIBOS_PIPE_RING_BYTES in a VM_SHARED region, so a forked child shares
 * it and holds copies of every end its parent had open at the fork.  No
 * system call is made unless an end has to wait.
 *
 * libos_read(fd, buf, len) returns the bytes ready, at least one and at
 * most len, waiting until there is one; 0 at end of file: the ring is
 * empty and no process holds a write end any more.  libos_write(fd, buf,
 * len) writes all len bytes, waiting for room as often as needed (any
 * size: a write larger than the ring goes through it piece by piece), and
 * returns len.  Writes do not interleave: one writer at a time, one reader
 * at a time, across processes and threads.  A write fails with -E_NOENT
 * (POSIX's EPIPE) when no read end remains; if part of it was written by
 * then, it returns that part's length instead.  libos_close(fd) closes an
 * end.  Each returns -E_BADCAP for a descriptor that is not an open end
 * of the right kind.  An end must not be closed while another thread
 * reads or writes it.
 *
 * Waiting: an end that must wait lets the process's other runnable
 * threads run first, and otherwise gives its slice to an env holding the
 * other end (libos_thread_yield_to): the ring's header records which envs
 * hold how many ends of each kind.  A process that exits or is killed
 * without closing its ends is found out there: the kernel says the env is
 * gone when we give it our time, and its ends are struck off.  So a
 * reader gets end of file after its last writer died, at its first wait,
 * and a writer -E_NOENT after its last reader died, once the ring is full
 * (until then its bytes go into the ring as usual).  libos_pipe_exit()
 * closes every end without a system call; libos_exit should call it.
 *
 * Between processes that did not share the pipe: a process offers an end
 * of a pipe it made (libos_pipe_offer; it must also be an RPC server
 * with a connection to the other process), and the other connects over
 * that connection (libos_pipe_connect) and gets an end of the same kind
 * as a new descriptor: the ring's frames are granted to it and mapped.
 * An offered end counts as an end the offering process holds until it
 * withdraws the offer, so a reader sees end of file only after that.
 * Ends got this way are the connecting process's own: a fork does not
 * pass them on (the child finds those descriptors closed).  The process
 * that made the ring keeps its memory until no process holds an end of it
 * any more (one that died holding an end counts until someone waits on
 * the ring and finds it gone); if it ends before, the connected ends read
 * end of file and refuse writes.  Connecting hands the other process frame capabilities:
 * offer only to processes trusted with that memory (see libos_shm).
 */
#define LIBOS_FD_MAX 32
#define LIBOS_PIPE_RING_BYTES (64ull << 10)
#define LIBOS_PIPE_READ 0  /* fd[0] */
#define LIBOS_PIPE_WRITE 1 /* fd[1] */

long libos_pipe(int fd[2]);
long libos_read(int fd, void *buf, size_t len);
long libos_write(int fd, const void *buf, size_t len);
long libos_close(int fd);

/*
 * Offer the end fd (of a pipe this process made) to this RPC server's
 * clients: returns the offer's number (>= 0) for libos_pipe_connect, or a
 * negative E_* (-E_PERM: a pipe made by another process).  Every client
 * that connects to it gets an end of its own.  libos_pipe_withdraw ends
 * the offer (0, or -E_INVAL for no such offer).
 */
long libos_pipe_offer(int fd);
long libos_pipe_withdraw(long offer);

/* Client: a new descriptor for offer `offer` of the server in rpc_slot. */
long libos_pipe_connect(long rpc_slot, long offer);

/* Close every end this process holds, touching nothing but the rings'
 * headers: for the exit path, which may be a fault's. */
void libos_pipe_exit(void);

/* fork's hooks: in the parent before the child runs (the child holds
 * copies of our ends), and in the child (ends connected over RPC are not
 * its own; offers stay with the parent).  0 or -E_*. */
long libos_pipe_fork_parent(long child);
void libos_pipe_fork_child(void);

/* ---- Shared regions: what the two are made of (the library's own) -----------
 * A shared region is a VM_SHARED region of the VM layer, populated, in a
 * slot of the IPC window of LIBOS_IPC_SLOTS slots of LIBOS_IPC_SLOT_BYTES
 * above the thread stacks (libos_vm.h), reserved only while in use.  The
 * process that made it exports it: it derives a FRAME capability for each
 * run of its pages that lies in one chunk of the VM layer, at most
 * LIBOS_SHM_RUNS.  Another process imports it over an RPC connection, one
 * call per run: the exporter's procedure grants the run's capability (the
 * READ and WRITE rights) to the caller and says where it goes; the
 * importer maps it there, in a private region of its own window.
 *
 * A capability once granted stays the importer's: when the exporter lets
 * the region go, its pages go back to the exporter's VM layer, not to the
 * kernel, so an importer that kept its capability could map them again.
 * Well-behaved importers unmap and drop them first (libos_shm_destroy),
 * and the pipes and buffers above release a region only after that.  If
 * the exporter ends, its frames are freed: the importer's pages vanish,
 * and touching them faults in fresh zeroed ones.
 */
#define LIBOS_IPC_SLOT_BYTES (16ull << 20)
#define LIBOS_IPC_SLOTS 64
#define LIBOS_SHM_RUNS 32

struct libos_shm_run {
	int32_t slot;	/* the capability, in owner's table */
	uint32_t first; /* its first page in the region */
	uint32_t count; /* pages */
};

struct libos_shm {
	uint64_t va, pages; /* pages 0: not in use */
	exo_envid_t owner;  /* whose table run[].slot are in */
	bool imported;
	unsigned nruns;
	struct libos_shm_run run[LIBOS_SHM_RUNS];
};

/* Make a zeroed, populated region of at least bytes.  0 or -E_*. */
long libos_shm_create(struct libos_shm *s, uint64_t bytes);

/* Derive the capabilities of its runs (once).  0 or -E_*. */
long libos_shm_export(struct libos_shm *s);

/*
 * In a procedure: grant run `run` to the caller (req->client_env) and
 * fill res as libos_shm_import expects, with tag (32 bits) for it to
 * pass on.  0 or -E_*.
 */
long libos_shm_grant(const struct libos_shm *s, uint64_t run, long env_slot,
		     uint32_t tag, uint64_t res[LIBOS_RPC_RESULTS]);

/*
 * Import the region procedure proc of the connection in slot exports,
 * calling it with (arg, run number) for each run; *tag gets its tag.
 * 0 or -E_*, in which case nothing stays mapped.
 */
long libos_shm_import(struct libos_shm *s, long slot, unsigned proc,
		      uint64_t arg, uint32_t *tag);

/* Unmap the region and let its memory go; drop its capabilities if they
 * are ours (a forked child's copy of a parent's region has none). */
void libos_shm_destroy(struct libos_shm *s);

/* Register one of the library's own procedures (>= LIBOS_RPC_USER_PROCS). */
long libos_rpc_register_own(unsigned proc, libos_rpc_fn fn);

#endif /* LIBOS_IPC_H */
