/*
 * libos.h: the library OS every program in the initrd links against
 * (guestlib/): one typed stub per system call, the raw stub, console
 * printing, TAP test helpers, upcall handlers with user-mode resumption, a
 * protected-control-transfer (PCT) server, spawn, fork and wait; and,
 * through the headers it includes, the libc subset (libos_libc.h), virtual
 * memory (libos_vm.h), threads (libos_thread.h) and malloc
 * (libos_malloc.h) and IPC: RPC over PCT and pipes (libos_ipc.h).  The
 * network comes later.
 *
 * One env is one process; its threads are the library OS's own, and only
 * the parts that say so are safe to call from several of them.
 */
#ifndef LIBOS_H
#define LIBOS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <exo/abi.h>

#include "../../exo/lib/format.h"

#include "libos_frame.h"
#include "libos_vm.h"
#include "libos_libc.h"
#include "libos_malloc.h"
#include "libos_thread.h"
#include "libos_ipc.h"

/* ---- Exit codes programs and the runtime use --------------------------- */
#define LIBOS_EXIT_SUCCESS 0
#define LIBOS_EXIT_FAILURE 1   /* a test failed (tap_done) */
#define LIBOS_EXIT_UNHANDLED 2 /* an upcall arrived with no handler for it */
#define LIBOS_EXIT_FAULT 3     /* a fault no one resolved (libos_vm.h) */

/* ---- The uenv page (exo/abi.h), shared with the kernel ------------------ */
#define libos_uenv ((volatile struct exo_uenv *)EXO_UENV)

/* ---- The runtime's fixed addresses --------------------------------------
 * Between the boot stack's top (EXO_USER_STACK_TOP; the stack grows down
 * from it) and EXO_USER_MAP_LIMIT there is a free gigabyte.  The runtime's
 * own stacks live there, each with an unmapped gap below it so that an
 * overflow faults instead of running into something else.
 */
#define LIBOS_STACK_GAP (1ull << 20)
#define LIBOS_UPCALL_STACK_BASE (EXO_USER_STACK_TOP + LIBOS_STACK_GAP)
#define LIBOS_UPCALL_STACK_PAGES 4
#define LIBOS_PCT_STACK_BASE (LIBOS_UPCALL_STACK_BASE + LIBOS_STACK_GAP)
#define LIBOS_PCT_STACK_PAGES 4

_Static_assert(LIBOS_PCT_STACK_BASE + LIBOS_PCT_STACK_PAGES * EXO_PAGE_SIZE <=
		       EXO_USER_MAP_LIMIT,
	       "the runtime's stacks must lie where SYS_PTE_SET can map");

/*
 * The loader's (libos_spawn) windows, in the same gigabyte: a scratch
 * window where it fills a child's frames, and the initrd, mapped
 * read-only up to EXO_USER_MAP_LIMIT the first time a program is loaded.
 */
#define LIBOS_SPAWN_WINDOW (LIBOS_PCT_STACK_BASE + LIBOS_STACK_GAP)
#define LIBOS_SPAWN_WINDOW_PAGES EXO_FRAME_ALLOC_MAX
#define LIBOS_INITRD_BASE                                                      \
	(LIBOS_SPAWN_WINDOW + LIBOS_SPAWN_WINDOW_PAGES * EXO_PAGE_SIZE +       \
	 LIBOS_STACK_GAP)

/* Where the VM layer reads a frame it copies (copy-on-write): one page in
 * the gap above the PCT stack. */
#define LIBOS_VM_SCRATCH (LIBOS_SPAWN_WINDOW - EXO_PAGE_SIZE)

_Static_assert(LIBOS_INITRD_BASE < EXO_USER_MAP_LIMIT,
	       "the initrd window must lie where SYS_PTE_SET can map");

/* ---- System calls -------------------------------------------------------
 * `syscall` with number nr and up to six arguments, exactly as given: for
 * tests that pass wild arguments.  Any call number is safe here, including
 * SYS_PCT_CALL, which overwrites argument registers.
 */
long libos_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
		   long a5);

/*
 * One typed stub per call of exo/abi.h; each returns the kernel's %rax:
 * the documented result, or a negative E_* code.  "slot" is a capability
 * slot of the caller, "env_slot" one holding an ENV capability
 * (EXO_SLOT_SELF for the caller).
 */
long sys_cons_write(const void *buf, size_t len);
_Noreturn void sys_env_exit(int code);
long sys_batch(struct exo_syscall *ops, unsigned long n);
long sys_sysinfo(struct exo_sysinfo *out);
long sys_cap_info(long slot, struct exo_cap_info *out);
long sys_cap_derive(long slot, uint64_t rights, uint64_t offset,
		    uint64_t count);
long sys_cap_grant(long slot, long env_slot, uint64_t rights, long want);
long sys_cap_drop(long slot);
long sys_frame_alloc(uint64_t paddr, uint64_t count, unsigned flags);
long sys_frame_free(long slot, uint64_t first, uint64_t count);
long sys_frame_vital(long slot, bool vital);
long sys_pte_set(long env_slot, struct exo_pte_op *ops, unsigned long n);
long sys_env_create(uint64_t frame_quota, uint64_t slot_quota);
long sys_env_set_regs(long env_slot, const struct exo_regs *regs);
long sys_env_start(long env_slot);
long sys_env_kill(long env_slot);
long sys_env_set_quota(long env_slot, uint64_t frame_quota,
		       uint64_t slot_quota);
long sys_env_status(long env_slot, struct exo_env_status *out);
long sys_slot_alloc(long env_slot, uint64_t count, uint64_t flags);
long sys_slot_free(long slot);
long sys_yield(exo_envid_t donate_to); /* EXO_ENV_NONE: no one */
long sys_pct_create(uint64_t badge);

/*
 * Protected control transfer: LIBOS_PCT_WORDS words each way.  in == NULL
 * sends zeros; out == NULL discards the reply, and out is written only
 * when the call succeeds (returns 0).
 */
#define LIBOS_PCT_WORDS 4
long sys_pct_call(long slot, const uint64_t in[LIBOS_PCT_WORDS],
		  uint64_t out[LIBOS_PCT_WORDS]);
long sys_pct_send(long slot, const uint64_t in[LIBOS_PCT_WORDS]);
_Noreturn void sys_pct_return(const uint64_t out[LIBOS_PCT_WORDS]);

/* End this env with the given code (0..EXO_ENV_EXIT_MAX). */
_Noreturn void libos_exit(int code);

/* ---- Memory --------------------------------------------------------------
 * Allocate `pages` fresh frames (at most EXO_FRAME_ALLOC_MAX) with
 * SYS_FRAME_ALLOC's flags (EXO_FRAME_*) and map them at va in this env
 * with perm (EXO_MAP_*).  Returns the frames' capability slot, or a
 * negative E_*, in which case nothing stays allocated.
 */
long libos_map_new(uint64_t va, unsigned pages, unsigned perm, unsigned flags);

/*
 * Map pages [first, first + pages) of the FRAME or INITRD capability in
 * slot at consecutive pages from va in env_slot's space with perm
 * (EXO_MAP_*; 0 unmaps).  Returns 0 or the first failure's negative E_*;
 * the pages before the failure stay mapped.
 */
long libos_map(long env_slot, uint64_t va, long slot, unsigned first,
	       unsigned pages, unsigned perm);

/* ---- Programs ------------------------------------------------------------
 * libos_spawn(name, frame_quota, slots) starts the initrd program `name`
 * as a child env: frame_quota frames and `slots` time slices (0: none; it
 * then runs only on time donated to it).  Returns the slot of an ENV
 * capability to the child (all rights), or a negative E_*, in which case
 * no child is left.
 *
 * The child's capability table starts as a boot env's does: slot 0
 * itself, EXO_SLOT_INITRD the initrd (if any slices, EXO_SLOT_BOOT_SLICES
 * its TIMESLOTS capability); what the caller grants it next comes after.
 * Its program image and its EXO_USER_STACK_PAGES-page stack at
 * EXO_USER_STACK_TOP are frames of the caller's (at most
 * EXO_FRAME_ALLOC_MAX pages in all); its quota pays for its page tables,
 * its uenv page and whatever it allocates itself.  The child's slices come
 * out of the caller's slot quota: when that has no room the caller gives
 * back that many of its own slices first (its highest), keeping one.
 *
 * libos_spawn_stopped() does everything but SYS_ENV_START, so the caller
 * can grant the child capabilities before it runs.  libos_spawn_free()
 * kills the child if it still lives and frees the frames the loader gave
 * it (by then unmapped from the dead child); the ENV capability stays, so
 * the child's status can still be read.  At most LIBOS_SPAWN_MAX children
 * spawned and not yet freed at once.
 */
#define LIBOS_SPAWN_MAX 16
long libos_spawn(const char *name, uint64_t frame_quota, unsigned slots);
long libos_spawn_stopped(const char *name, uint64_t frame_quota,
			 unsigned slots);
long libos_spawn_free(long env_slot);

/*
 * Boot arguments (args.c): the words after a lone "--" on the kernel
 * command line (`run=init -- hello t_fork`), which every boot env gets in
 * its uenv (struct exo_args).  libos_argc() says how many there are;
 * libos_argv(i) returns word i, NUL-terminated, for 0 <= i < argc (NULL
 * otherwise).  Word 0 is the first word after "--", not the program's
 * name.  The words live in this env's uenv page: read-only by
 * convention, valid while the env lives.  Children have none: neither
 * libos_spawn nor libos_fork passes arguments, and a forked child has a
 * uenv page of its own, so a word's address taken before a fork names
 * an empty string in the child (copy the word first if it needs it).
 */
int libos_argc(void);
const char *libos_argv(int i);
/* Word i as a decimal number from 1 to max, in *out; false if there is no
 * word i or it is not one. */
bool libos_arg_number(int i, unsigned long max, unsigned long *out);

/* ---- Processes (fork.c, proc.c) ------------------------------------------
 * libos_fork() copies this process into a child env, copy-on-write: the
 * child sees every region (libos_vm.h) as it was, at the same addresses,
 * and writes on either side stay on that side; VM_SHARED regions stay
 * shared (fork maps every page of them first, so it fails with -E_NOMEM
 * if they do not fit in the quota).  Only the calling thread goes on in the child.  Returns the
 * child's ENV slot in the parent, 0 in the child, or a negative E_*.  The
 * child gets half the frame quota we have room for (libos_fork_quota says
 * how many instead; at least 64) and a time slice if we can spare one
 * (else it runs on time we donate while we wait).  A child ends when its
 * parent does.  At most 64 forked children at once.
 *
 * libos_wait(child, &status) waits for the child in that ENV slot (forked
 * or spawned), or for any forked child (LIBOS_WAIT_ANY), donating our time
 * to it meanwhile; then frees what it held and drops the slot.  Returns
 * the slot; *status gets its exit code, EXO_ENV_KILLED if it was killed.
 * -E_NOENT when there is no such child.
 */
#define LIBOS_WAIT_ANY (-1)
long libos_fork(void);
long libos_fork_quota(uint64_t frames);
long libos_wait(long child, int *status);

/* ---- Console output ------------------------------------------------------
 * Formats are the kernel's (exo/lib/format.h): %d %i %u %o %x %X %p %s %c
 * %% with flags - 0 + space #, a width and a precision (digits or '*'),
 * and length modifiers hh h l ll z j t.  %p prints "0x" and 16 hex
 * digits.  No floating point.
 */

/* Write s to the console; returns the bytes written or a negative E_*. */
long libos_puts(const char *s);

/* Like C's snprintf and vsnprintf: they return the length the whole
 * output would have.  The formatter the kernel uses too. */
#define libos_snprintf fmt_snprintf
#define libos_vsnprintf fmt_vsnprintf

/*
 * Print with one SYS_CONS_WRITE per call; output longer than
 * LIBOS_PRINTF_MAX bytes is cut.  Returns the bytes written or a negative
 * E_*.  Safe in upcall handlers (the buffer is on the caller's stack).
 */
#define LIBOS_PRINTF_MAX 512
long libos_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long libos_vprintf(const char *fmt, va_list ap);

/* ---- TAP (Test Anything Protocol) ---------------------------------------
 * tap_plan(n) prints "1..n"; tap_ok() prints "ok N - msg" or "not ok N -
 * msg", numbering from 1, and returns cond; tap_diag() prints "# msg";
 * tap_done() prints the plan if tap_plan() was never called and returns
 * LIBOS_EXIT_SUCCESS if every test passed and as many ran as planned,
 * else LIBOS_EXIT_FAILURE:  `return tap_done();` from main.
 */
void tap_plan(unsigned n);
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);

/* ---- Upcalls --------------------------------------------------------------
 * libos_upcall_init() maps LIBOS_UPCALL_STACK_PAGES pages at
 * LIBOS_UPCALL_STACK_BASE, marks them vital (repossession takes them
 * last) and tells the kernel about them (uenv upcall_stack_base/size).  Calling it again does nothing.  Returns 0 or a
 * negative E_*.
 *
 * libos_set_handler(kind, fn) makes upcalls of kind (EXO_UPCALL_*, not
 * EXO_UPCALL_PCT) call fn with the frame, initialising the upcall stack
 * first if needed; fn == NULL removes the handler (uenv entry 0, so the
 * kernel does its default).  When fn returns, the context in frame->regs
 * resumes, without a system call; fn may change frame->regs first (skip a
 * faulting instruction, redirect rip, ...).  regs.rsp must point at
 * writable memory off the upcall stack: resumption uses the
 * LIBOS_RESUME_SIZE bytes below it.
 *
 * libos_resume(frame) resumes frame->regs at once, from anywhere.
 */
typedef void (*libos_upcall_fn)(struct exo_upcall_frame *frame);

long libos_upcall_init(void);
long libos_set_handler(unsigned kind, libos_upcall_fn fn);
bool libos_has_handler(unsigned kind);
_Noreturn void libos_resume(const struct exo_upcall_frame *frame);

/* ---- PCT server --------------------------------------------------------
 * libos_pct_serve(fn) makes this env answer protected control transfers:
 * fn gets the capability's badge, the caller's envid and its words, fills
 * out (zeroed beforehand) and returns; the runtime then returns out to the
 * caller with SYS_PCT_RETURN.  Maps LIBOS_PCT_STACK_PAGES pages at
 * LIBOS_PCT_STACK_BASE (vital) on first use.  fn == NULL stops serving.  Returns 0
 * or a negative E_*.  fn runs on the one PCT stack: a call that re-enters
 * this env while fn runs would overwrite it.
 */
typedef void (*libos_pct_fn)(uint64_t badge, exo_envid_t caller,
			     const uint64_t in[LIBOS_PCT_WORDS],
			     uint64_t out[LIBOS_PCT_WORDS]);

long libos_pct_serve(libos_pct_fn fn);

int main(void);

#endif /* LIBOS_H */
