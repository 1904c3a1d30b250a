/*
 * thread.c: user-level threads (libos_thread.h): control blocks, stacks,
 * the run queue and the scheduler, mutexes, condition variables, sleep,
 * and what fork needs.
 *
 * Scheduling.  One CPU, one env: a single thread runs at a time, and the
 * library OS chooses which, round robin over a FIFO run queue, inside the
 * env's own time slices.
 *  - Cooperatively: a thread that yields, blocks (a mutex another holds,
 *    a condition wait, a join) or sleeps switches straight to the next
 *    runnable thread (libos_thread_switch, thread_switch.S): no system
 *    call.  Sleepers wait in a list ordered by wake-up time (TSC); each
 *    scheduling decision first moves the due ones to the run queue.
 *    A thread waiting on another env (libos_thread_yield_to) yields the
 *    same way, and gives the env's slice to that env only when no other
 *    thread is runnable.
 *  - Preemptively: while more than one thread exists, the env asks for
 *    an epilogue upcall at the end of every slice (EXO_UENV_SLICE_EACH).
 *    The handler (on_epilogue) runs on the upcall stack between two
 *    instructions of the running thread: it answers the kernel at once
 *    with SYS_YIELD (an env that does not yield within half a slice is
 *    charged), and when the env runs again it saves the interrupted
 *    context (frame->regs) in the running thread, puts the next runnable
 *    thread's context in frame->regs and returns; the upcall runtime then
 *    resumes that thread.
 *  - Idle: when no thread is runnable but some sleep, the env gives its
 *    slice away (SYS_YIELD) and checks the clock again; when none is
 *    runnable and none sleeps, nothing can ever wake one (handlers may
 *    not), which is reported as a deadlock.
 *
 * What the epilogue handler may touch.  It interrupts threads anywhere,
 * including inside the scheduler, so every change to scheduler state
 * (the run queue, the sleep list, thread states, `cur`) happens with
 * preemption disabled: libos_preempt_depth > 0.  The handler then only
 * notes that a switch is wanted (the outermost libos_preempt_enable()
 * yields), and otherwise touches nothing but that state: no lock, no
 * malloc, so a thread preempted holding the heap lock cannot block it.
 * Mutexes and condition variables are built on the same flag, not on
 * atomics: on one CPU, code that cannot be preempted is atomic.
 *
 * Saved contexts.  A thread switched out cooperatively (CTX_SWITCHED)
 * stopped inside the scheduler, with preemption disabled at depth 1, and
 * goes on there; a preempted one (CTX_PREEMPTED) stopped anywhere with
 * depth 0.  The handler sets the depth to match before resuming either.
 * The cooperative path, which runs at depth 1, resumes a preempted thread
 * through libos_thread_unpreempt, which lowers the depth on the thread's
 * own stack and only then restores its registers (see unpreempt()).
 *
 * Stacks are regions of the virtual-memory layer in slots of
 * [VM_STACKS_BASE, VM_STACKS_BASE + VM_STACKS_MAX), an unreserved guard
 * gap below each; released at join.  Control blocks come from malloc and,
 * once joined, are kept with their slot for the next thread.
 */
#include "libos.h"
#include "libos_vm.h"

#define STACK_SLOT_SIZE (LIBOS_THREAD_GUARD_SIZE + LIBOS_THREAD_STACK_SIZE)
#define STACK_SLOTS (VM_STACKS_MAX / STACK_SLOT_SIZE)
#define NO_STACK_SLOT (~0ull) /* the main thread's stack is the boot stack */
#define US_PER_MS 1000
#define RFLAGS_FIXED 0x2ull  /* bit 1 of rflags is always set */
#define RFLAGS_IF 0x200ull   /* user code always runs with interrupts on */

_Static_assert(LIBOS_THREAD_STACK_SIZE % EXO_PAGE_SIZE == 0 &&
		       LIBOS_THREAD_GUARD_SIZE % EXO_PAGE_SIZE == 0,
	       "thread stacks and guards are whole pages");

enum thread_state {
	T_RUNNING,
	T_RUNNABLE, /* on the run queue */
	T_BLOCKED,  /* on a mutex's or condition's queue, or joining */
	T_SLEEPING, /* on the sleep list */
	T_EXITED,   /* waiting to be joined */
};

enum ctx_kind {
	CTX_SWITCHED,  /* resumes inside the scheduler, preemption off */
	CTX_PREEMPTED, /* resumes anywhere, preemption on */
};

struct libos_thread {
	struct exo_upcall_frame ctx; /* saved context: ctx.regs */
	enum ctx_kind ctx_kind;
	enum thread_state state;
	struct libos_thread *link; /* in the one queue or list it is on */
	struct libos_thread *all_prev, *all_next; /* every unjoined thread */
	struct libos_thread *joiner;
	libos_thread_fn fn;
	void *arg, *ret;
	uint64_t wake_tsc;   /* T_SLEEPING: when */
	uint64_t stack_slot; /* NO_STACK_SLOT, or which slot */
	unsigned long id;    /* for messages */
};

/* thread_switch.S */
void libos_thread_switch(struct exo_upcall_frame *save,
			 const struct exo_upcall_frame *next);
void libos_thread_unpreempt(void);

/* Scheduler state.  thread_switch.S decrements libos_preempt_depth. */
volatile unsigned libos_preempt_depth;
static volatile bool preempt_wanted; /* an epilogue came while depth > 0 */
static struct libos_thread main_thread = {
	.state = T_RUNNING,
	.stack_slot = NO_STACK_SLOT,
};
static struct libos_thread *cur = &main_thread;
static struct libos_thread *all = &main_thread;
static struct libos_thread_queue runq;
static struct libos_thread *sleepers; /* earliest wake_tsc first */
static unsigned alive = 1;	      /* threads not yet exited */
static unsigned long next_id = 1;

/* Joined threads' blocks, each with its (released) stack slot. */
static struct libos_thread *spare;
static uint64_t slots_used;

static uint64_t tsc_khz;
static bool epilogue_installed;

/* The compiler must not move memory accesses across these. */
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

void libos_preempt_disable(void)
{
	libos_preempt_depth++;
	barrier();
}

/* Whether we run in an upcall handler, outside every thread. */
static bool on_upcall_stack(void)
{
	uint64_t sp;

	__asm__ volatile("movq %%rsp, %0" : "=r"(sp));
	return sp - libos_uenv->upcall_stack_base <
	       libos_uenv->upcall_stack_size;
}

/* A handler (a page fault's) may use these too, but never switches. */
void libos_preempt_enable(void)
{
	barrier();
	if (--libos_preempt_depth == 0 && preempt_wanted && !on_upcall_stack())
		libos_thread_yield();
}

/* A misuse no caller can recover from: say what (and where), and exit. */
static _Noreturn void die(const char *what, const void *obj)
{
	if (obj)
		libos_printf("libos: thread %lu: %s (%p)\n", cur->id, what, obj);
	else
		libos_printf("libos: thread %lu: %s\n", cur->id, what);
	libos_exit(LIBOS_EXIT_FAILURE);
}

/* ---- Queues ------------------------------------------------------------ */

static void enqueue(struct libos_thread_queue *q, struct libos_thread *t)
{
	t->link = NULL;
	if (q->tail)
		q->tail->link = t;
	else
		q->head = t;
	q->tail = t;
}

static struct libos_thread *dequeue(struct libos_thread_queue *q)
{
	struct libos_thread *t = q->head;

	if (t) {
		q->head = t->link;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

static void make_runnable(struct libos_thread *t)
{
	t->state = T_RUNNABLE;
	enqueue(&runq, t);
}

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

static void sleep_insert(struct libos_thread *t)
{
	struct libos_thread **p = &sleepers;

	while (*p && (*p)->wake_tsc <= t->wake_tsc)
		p = &(*p)->link;
	t->link = *p;
	*p = t;
}

static void wake_due_sleepers(void)
{
	uint64_t now;

	if (!sleepers)
		return;
	now = rdtsc();
	while (sleepers && sleepers->wake_tsc <= now) {
		struct libos_thread *t = sleepers;

		sleepers = t->link;
		make_runnable(t);
	}
}

/* ---- Switching --------------------------------------------------------- */

/*
 * With more than one thread, ask for an epilogue at the end of every
 * slice; a lone thread runs contiguous slots as one long slice.
 */
static void update_slice_mode(void)
{
	if (alive > 1)
		libos_uenv->flags |= EXO_UENV_SLICE_EACH;
	else
		libos_uenv->flags &= ~EXO_UENV_SLICE_EACH;
}

/*
 * Make t's preempted context resumable from the cooperative path: copy
 * its frame onto its own stack, below the LIBOS_RESUME_SIZE bytes that
 * resuming its rsp will use, and make its context the entry of
 * libos_thread_unpreempt with %rsp at that copy.
 */
static void unpreempt(struct libos_thread *t)
{
	uint64_t sp = t->ctx.regs.rsp - LIBOS_RESUME_SIZE -
		      sizeof(struct exo_upcall_frame);
	struct exo_upcall_frame *copy;

	sp &= ~(uint64_t)(LIBOS_STACK_ALIGN - 1);
	copy = (struct exo_upcall_frame *)sp;
	*copy = t->ctx;
	t->ctx.regs.rip = (uint64_t)(uintptr_t)libos_thread_unpreempt;
	t->ctx.regs.rsp = sp;
	t->ctx_kind = CTX_SWITCHED;
}

static _Noreturn void deadlock(void)
{
	die("deadlock: every thread waits for another", NULL);
}

/* The next thread to run, waiting (yielding our slices) while all sleep. */
static struct libos_thread *pick_next(void)
{
	for (;;) {
		wake_due_sleepers();
		if (runq.head)
			return dequeue(&runq);
		if (!sleepers)
			deadlock();
		sys_yield(EXO_ENV_NONE);
	}
}

/*
 * Run the next thread; cur has already been queued wherever it waits (or
 * nowhere, when it exits).  Returns when cur is resumed.  Called with
 * preemption disabled exactly once: that is what a switched-out thread
 * expects when it goes on.
 */
static void reschedule(void)
{
	struct libos_thread *prev = cur, *next;

	if (on_upcall_stack())
		die("a thread call in an upcall handler", NULL);
	if (libos_preempt_depth != 1)
		die("blocking with preemption disabled", NULL);
	next = pick_next();
	preempt_wanted = false; /* this switch is the one wanted */
	next->state = T_RUNNING;
	if (next == prev)
		return;
	if (next->ctx_kind == CTX_PREEMPTED)
		unpreempt(next);
	cur = next;
	prev->ctx_kind = CTX_SWITCHED;
	libos_thread_switch(&prev->ctx, &next->ctx);
}

/* Put cur on q (NULL: nowhere) as state and run someone else. */
static void block(struct libos_thread_queue *q, enum thread_state state)
{
	cur->state = state;
	if (q)
		enqueue(q, cur);
	reschedule();
}

/*
 * The slice is over: give it back, then switch threads unless the
 * running one is in a section that must not be preempted.
 */
static void on_epilogue(struct exo_upcall_frame *frame)
{
	struct libos_thread *next;

	sys_yield(EXO_ENV_NONE);
	preempt_wanted = libos_preempt_depth > 0;
	if (preempt_wanted)
		return;
	wake_due_sleepers();
	if (!runq.head)
		return;
	cur->ctx.regs = frame->regs;
	cur->ctx_kind = CTX_PREEMPTED;
	make_runnable(cur);
	next = dequeue(&runq);
	next->state = T_RUNNING;
	cur = next;
	frame->regs = next->ctx.regs;
	if (next->ctx_kind == CTX_SWITCHED)
		libos_preempt_depth = 1;
}

/* Let the other runnable threads run first; whether there were any. */
static bool run_others(void)
{
	bool others;

	libos_preempt_disable();
	wake_due_sleepers();
	others = runq.head != NULL;
	if (others) {
		make_runnable(cur);
		reschedule();
	}
	preempt_wanted = false;
	libos_preempt_enable();
	return others;
}

void libos_thread_yield(void)
{
	run_others();
}

long libos_thread_yield_to(exo_envid_t env)
{
	return run_others() ? E_OK : sys_yield(env);
}

void libos_thread_sleep_us(uint64_t us)
{
	struct exo_sysinfo si;
	uint64_t ticks;

	if (!tsc_khz && sys_sysinfo(&si) == E_OK)
		tsc_khz = si.tsc_khz;
	if (__builtin_mul_overflow(us, tsc_khz, &ticks))
		ticks = UINT64_MAX; /* for ever, near enough */
	libos_preempt_disable();
	cur->wake_tsc = rdtsc() + ticks / US_PER_MS;
	sleep_insert(cur);
	block(NULL, T_SLEEPING);
	libos_preempt_enable();
}

libos_thread_t libos_thread_self(void)
{
	return cur;
}

/* ---- Creating, ending, joining ----------------------------------------- */

static uint64_t stack_top(const struct libos_thread *t)
{
	return VM_STACKS_BASE + (t->stack_slot + 1) * STACK_SLOT_SIZE;
}

/*
 * The virtual-memory layer's state is shared by every thread and its
 * page-fault handler, so its calls run unpreempted.
 */
static long stack_reserve(struct libos_thread *t)
{
	long err;

	libos_preempt_disable();
	/* Vital: a stack page given away would come back as zeros. */
	err = vm_reserve(stack_top(t) - LIBOS_THREAD_STACK_SIZE,
			 LIBOS_THREAD_STACK_SIZE, VM_PROT_READ | VM_PROT_WRITE,
			 VM_VITAL);
	libos_preempt_enable();
	return err;
}

static long stack_release(struct libos_thread *t)
{
	long err;

	libos_preempt_disable();
	err = vm_release(stack_top(t) - LIBOS_THREAD_STACK_SIZE,
			 LIBOS_THREAD_STACK_SIZE);
	libos_preempt_enable();
	return err;
}

/* A control block with a stack slot: a joined thread's, or a new one. */
static struct libos_thread *tcb_get(void)
{
	struct libos_thread *t;

	libos_preempt_disable();
	t = spare;
	if (t)
		spare = t->link;
	libos_preempt_enable();
	if (t)
		return t;
	t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	libos_preempt_disable();
	t->stack_slot = slots_used < STACK_SLOTS ? slots_used++ : NO_STACK_SLOT;
	libos_preempt_enable();
	if (t->stack_slot == NO_STACK_SLOT) {
		free(t);
		return NULL;
	}
	return t;
}

static void tcb_put(struct libos_thread *t)
{
	libos_preempt_disable();
	t->link = spare;
	spare = t;
	libos_preempt_enable();
}

/*
 * Keep a block whose stack is gone for the next thread; a slot whose
 * region could not be released (or reserved: someone else's region is
 * there) is given up with its block, or every later create would fail.
 */
static void tcb_retire(struct libos_thread *t, long stack_err)
{
	if (stack_err == E_OK || stack_err == -E_NOMEM)
		tcb_put(t);
	else
		free(t);
}

/* A new thread's first instructions, entered as a switched-out thread. */
static _Noreturn void thread_start(void)
{
	libos_preempt_enable();
	libos_thread_exit(cur->fn(cur->arg));
}

/* The context that starts t at thread_start, as if called there. */
static void start_context(struct libos_thread *t)
{
	uint64_t top = stack_top(t);

	t->ctx = (struct exo_upcall_frame){0};
	t->ctx.regs.rip = (uint64_t)(uintptr_t)thread_start;
	t->ctx.regs.rsp = top - LIBOS_WORD; /* a null return address */
	t->ctx.regs.rflags = RFLAGS_IF | RFLAGS_FIXED;
	t->ctx_kind = CTX_SWITCHED;
	/* Touch the top page now: a fault here is an ordinary one. */
	*(volatile uint64_t *)(top - LIBOS_WORD) = 0;
}

/* The epilogue handler, installed once a second thread appears. */
static long threads_init(void)
{
	long err;

	if (epilogue_installed)
		return E_OK;
	err = libos_set_handler(EXO_UPCALL_EPILOGUE, on_epilogue);
	epilogue_installed = err == E_OK;
	return err;
}

static void all_insert(struct libos_thread *t)
{
	t->all_prev = NULL;
	t->all_next = all;
	if (all)
		all->all_prev = t;
	all = t;
}

static void all_remove(struct libos_thread *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
}

long libos_thread_create(libos_thread_t *out, libos_thread_fn fn, void *arg)
{
	struct libos_thread *t;
	long err = threads_init();

	if (err != E_OK)
		return err;
	t = tcb_get();
	if (!t)
		return -E_NOMEM;
	err = stack_reserve(t);
	if (err != E_OK) {
		tcb_retire(t, err);
		return err;
	}
	start_context(t);
	t->fn = fn;
	t->arg = arg;
	t->ret = NULL;
	t->joiner = NULL;
	libos_preempt_disable();
	t->id = next_id++;
	all_insert(t);
	alive++;
	update_slice_mode();
	make_runnable(t);
	libos_preempt_enable();
	*out = t;
	return E_OK;
}

_Noreturn void libos_thread_exit(void *ret)
{
	libos_preempt_disable();
	cur->ret = ret;
	if (--alive == 0)
		libos_exit(LIBOS_EXIT_SUCCESS);
	update_slice_mode();
	if (cur->joiner)
		make_runnable(cur->joiner);
	block(NULL, T_EXITED);
	die("an exited thread ran again", cur);
}

static bool is_thread(const struct libos_thread *t)
{
	for (const struct libos_thread *u = all; u; u = u->all_next)
		if (u == t)
			return true;
	return false;
}

long libos_thread_join(libos_thread_t t, void **ret)
{
	libos_preempt_disable();
	if (t == cur || !is_thread(t) || t->joiner) {
		libos_preempt_enable();
		return -E_INVAL;
	}
	t->joiner = cur;
	if (t->state != T_EXITED)
		block(NULL, T_BLOCKED);
	all_remove(t);
	libos_preempt_enable();
	if (ret)
		*ret = t->ret;
	if (t->stack_slot != NO_STACK_SLOT)
		tcb_retire(t, stack_release(t));
	return E_OK;
}

/* ---- Mutexes and condition variables ----------------------------------- */

/*
 * Unlock hands the mutex to its longest waiter.  Letting the unlocking
 * thread take it again first would starve the waiters whenever the slice
 * epilogue tends to catch the holder inside its critical section (a long
 * one, locked again and again); handing it over costs a switch per
 * unlock while there are waiters, which here is no system call.
 */
void libos_mutex_lock(libos_mutex_t *m)
{
	libos_preempt_disable();
	if (!m->owner)
		m->owner = cur;
	else if (m->owner == cur)
		die("mutex locked twice", m);
	else
		block(&m->waiters, T_BLOCKED); /* unlock hands it to us */
	libos_preempt_enable();
}

bool libos_mutex_trylock(libos_mutex_t *m)
{
	bool got;

	libos_preempt_disable();
	got = !m->owner;
	if (got)
		m->owner = cur;
	libos_preempt_enable();
	return got;
}

/* With preemption disabled: hand m to its first waiter, if any. */
static void mutex_release(libos_mutex_t *m)
{
	if (m->owner != cur)
		die("mutex unlocked by a thread that does not hold it", m);
	m->owner = dequeue(&m->waiters);
	if (m->owner)
		make_runnable(m->owner);
}

void libos_mutex_unlock(libos_mutex_t *m)
{
	libos_preempt_disable();
	mutex_release(m);
	libos_preempt_enable();
}

void libos_cond_wait(libos_cond_t *c, libos_mutex_t *m)
{
	libos_preempt_disable();
	mutex_release(m);
	block(&c->waiters, T_BLOCKED);
	libos_preempt_enable();
	libos_mutex_lock(m);
}

void libos_cond_signal(libos_cond_t *c)
{
	struct libos_thread *t;

	libos_preempt_disable();
	t = dequeue(&c->waiters);
	if (t)
		make_runnable(t);
	libos_preempt_enable();
}

void libos_cond_broadcast(libos_cond_t *c)
{
	struct libos_thread *t;

	libos_preempt_disable();
	while ((t = dequeue(&c->waiters)))
		make_runnable(t);
	libos_preempt_enable();
}

/* ---- fork -------------------------------------------------------------- */

/* The child must see one moment of the parent: no other thread runs. */
void libos_thread_fork_prepare(void)
{
	libos_malloc_fork_prepare();
	libos_preempt_disable();
}

void libos_thread_fork_parent(void)
{
	libos_preempt_enable();
	libos_malloc_fork_parent();
}

/* Runs in the child on the upcall stack, before the forking thread goes on. */

void libos_thread_fork_child(void)
{
	struct libos_thread *t, *next;

	libos_malloc_fork_child();
	libos_preempt_disable();
	for (t = all; t; t = next) {
		next = t->all_next;
		if (t == cur)
			continue;
		all_remove(t);
		if (t->stack_slot != NO_STACK_SLOT)
			tcb_retire(t, stack_release(t));
	}
	runq = (struct libos_thread_queue){NULL, NULL};
	sleepers = NULL;
	cur->joiner = NULL;
	alive = 1;
	update_slice_mode();
	libos_preempt_depth = 0; /* whatever it was in the parent's section */
	preempt_wanted = false;
}
