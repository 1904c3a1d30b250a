/*
 * libos_thread.h: user-level threads of the library OS (guestlib/thread.c):
 * create, join, yield, sleep, exit; mutexes and condition variables; and
 * the hooks fork uses.  Threads are scheduled by the library OS inside
 * the env's own time slices: cooperatively whenever a thread yields,
 * blocks or sleeps, and preemptively at the end of each slice (the
 * epilogue upcall), so a thread that never yields still shares the CPU.
 * thread.c's opening comment describes the scheduling in full.
 *
 * While more than one thread exists the library OS owns the epilogue
 * upcall and sets EXO_UENV_SLICE_EACH; a program that uses threads must
 * not install its own epilogue handler.  Upcall handlers (exceptions,
 * revocation, PCT) run outside every thread and must not call anything
 * here: they may interrupt the holder of any mutex.
 */
#ifndef LIBOS_THREAD_H
#define LIBOS_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include <exo/abi.h>

/*
 * Each thread's stack: LIBOS_THREAD_STACK_SIZE bytes, demand-zero (pages
 * cost a frame only once touched), with LIBOS_THREAD_GUARD_SIZE bytes
 * below it left unreserved, so that an overflow faults.
 */
#define LIBOS_THREAD_STACK_SIZE (256ull << 10)
#define LIBOS_THREAD_GUARD_SIZE (256ull << 10)

typedef struct libos_thread *libos_thread_t;
typedef void *(*libos_thread_fn)(void *arg);

/*
 * Start a thread running fn(arg); it is runnable at once, but the caller
 * goes on running.  *t gets its handle.  Returns 0, or -E_NOMEM (no
 * memory for its control block, or no room for its stack's region), or
 * another -E_* of the VM layer (its stack) or of the upcall layer (the
 * first thread), in which case nothing was created.
 */
long libos_thread_create(libos_thread_t *t, libos_thread_fn fn, void *arg);

/*
 * Wait until t has ended and collect it: *ret (if ret is not NULL) gets
 * what fn returned or what t passed to libos_thread_exit, and t's stack
 * and handle are freed.  Every thread must be joined once, and only once
 * (a handle is not valid after its join).  Returns 0, or -E_INVAL for the
 * calling thread itself, a thread another thread is already joining, or
 * a handle that names no thread.
 */
long libos_thread_join(libos_thread_t t, void **ret);

/* Let the other runnable threads run first; returns when we run again. */
void libos_thread_yield(void);

/*
 * Wait a little for another env: let the other runnable threads run
 * first, as libos_thread_yield() does; if there are none, give the rest
 * of the env's slice to env (SYS_YIELD; EXO_ENV_NONE gives it to no
 * one).  Works whether or not the process ever made a thread.  Returns
 * 0, or -E_NOENT when env is gone (nothing was given away then), which
 * is how a caller waiting on env learns that it never will answer.
 */
long libos_thread_yield_to(exo_envid_t env);

/*
 * Sleep at least us microseconds (TSC time).  Other threads run
 * meanwhile; while every thread sleeps or waits, the env gives its slices
 * away (SYS_YIELD) rather than spin.
 */
void libos_thread_sleep_us(uint64_t us);

/* The calling thread.  The thread that ran main() is a thread too. */
libos_thread_t libos_thread_self(void);

/*
 * End the calling thread with ret (returning from fn does the same).
 * When the last thread ends, the env exits with LIBOS_EXIT_SUCCESS;
 * main() returning ends the env at once, every thread with it.
 */
_Noreturn void libos_thread_exit(void *ret);

/*
 * A queue of waiting threads, inside mutexes and condition variables.
 * Its fields belong to thread.c.
 */
struct libos_thread_queue {
	struct libos_thread *head, *tail;
};

/*
 * Mutexes: not recursive.  A thread that locks a mutex it holds, or
 * unlocks one it does not hold, is reported and the env exits with
 * LIBOS_EXIT_FAILURE.  Unlock hands the mutex to the longest waiter, so
 * waiters get it in the order they asked for it.  LIBOS_MUTEX_INIT (or
 * zeroed memory) is an unlocked mutex.
 */
typedef struct {
	struct libos_thread *owner;
	struct libos_thread_queue waiters;
} libos_mutex_t;
#define LIBOS_MUTEX_INIT {.owner = NULL}

void libos_mutex_lock(libos_mutex_t *m);
bool libos_mutex_trylock(libos_mutex_t *m); /* true: now ours */
void libos_mutex_unlock(libos_mutex_t *m);

/*
 * Condition variables: wait unlocks m (which the caller must hold),
 * sleeps until signalled, and locks m again before it returns.  As with
 * POSIX, re-check the condition after a wait.  LIBOS_COND_INIT (or
 * zeroed memory) is a condition variable no one waits on.
 */
typedef struct {
	struct libos_thread_queue waiters;
} libos_cond_t;
#define LIBOS_COND_INIT {.waiters = {NULL, NULL}}

void libos_cond_wait(libos_cond_t *c, libos_mutex_t *m);
void libos_cond_signal(libos_cond_t *c);    /* wakes the longest waiter */
void libos_cond_broadcast(libos_cond_t *c); /* wakes every waiter */

/*
 * Keep the calling thread on the CPU: between disable and enable (they
 * nest) the slice epilogue does not switch threads; it yields the slice
 * and the switch happens at the outermost enable instead.  For short
 * sections that change state another thread's page fault could see (the
 * virtual-memory layer's region list); blocking calls are not allowed
 * inside.
 */
void libos_preempt_disable(void);
void libos_preempt_enable(void);

/*
 * fork's hooks.  fork calls libos_thread_fork_prepare() in the parent
 * before it shares the address space and libos_thread_fork_parent() in
 * the parent afterwards: between them the heap (malloc) is locked and no
 * other thread runs, so the child sees the parent at one moment and gets
 * the heap whole.  libos_thread_fork_child(), in the child, leaves only
 * the calling thread, as POSIX does: the others' stacks and control
 * blocks are freed, the heap unlocked and preemption enabled.  Mutexes
 * and condition variables other threads held or waited on are unusable
 * in the child.
 */
void libos_thread_fork_prepare(void);
void libos_thread_fork_parent(void);
void libos_thread_fork_child(void);

#endif /* LIBOS_THREAD_H */
