/*
 * syscall.h: the system-call table (exo/kern/syscall.c) and the handlers
 * each mechanism's file provides.  A handler gets the calling env and the
 * six argument registers and returns the result (negative E_* on error).
 * Handlers that switch envs set the caller's result themselves.
 */
#ifndef EXO_SYSCALL_H
#define EXO_SYSCALL_H

#include <stdint.h>

#include "env.h"
#include "trap.h"

/* A handler's result that leaves the caller's %rax alone (it switched). */
#define SYSCALL_NO_RESULT INT64_MIN

typedef int64_t (*syscall_fn)(struct env *e, const uint64_t a[6]);

/* The entry from vectors.S: handle the call in *tf, return what to resume. */
struct trapframe *syscall_dispatch(struct trapframe *tf);

/*
 * Some hosts (kvm-pvm running a guest kernel it does not know) carry out
 * a ring-3 `syscall` as a jump to the entry point that stays in ring 3,
 * so it arrives as a user instruction-fetch page fault at syscall_entry
 * with %rcx and %r11 set as `syscall` sets them.  The kernel recognises
 * that fault and serves the call, so user code always uses `syscall`.
 */
bool syscall_was_misdelivered(const struct trapframe *tf);
struct trapframe *syscall_dispatch_misdelivered(struct trapframe *tf);

/* Look up a capability in e's table, for every handler. */
int sys_cap(struct env *e, uint64_t slot, unsigned type, unsigned rights,
	    struct cap **out);
/* The live env an ENV capability in slot names, with rights. */
int sys_env_cap(struct env *e, uint64_t slot, unsigned rights,
		struct env **out);

#define SYSCALL_HANDLER(name) int64_t name(struct env *e, const uint64_t a[6])

/* exo/kern/sys_cap.c */
SYSCALL_HANDLER(sys_cap_info);
SYSCALL_HANDLER(sys_cap_derive);
SYSCALL_HANDLER(sys_cap_grant);
SYSCALL_HANDLER(sys_cap_drop);
/* exo/kern/sys_mem.c */
SYSCALL_HANDLER(sys_frame_alloc);
SYSCALL_HANDLER(sys_frame_free);
SYSCALL_HANDLER(sys_frame_vital);
SYSCALL_HANDLER(sys_pte_set);
/* exo/kern/sys_env.c */
SYSCALL_HANDLER(sys_env_create);
SYSCALL_HANDLER(sys_env_set_regs);
SYSCALL_HANDLER(sys_env_start);
SYSCALL_HANDLER(sys_env_kill);
SYSCALL_HANDLER(sys_env_set_quota);
SYSCALL_HANDLER(sys_env_status);
SYSCALL_HANDLER(sys_env_exit);
/* exo/kern/sched.c */
SYSCALL_HANDLER(sys_slot_alloc);
SYSCALL_HANDLER(sys_slot_free);
SYSCALL_HANDLER(sys_yield);
/* exo/kern/pct.c */
SYSCALL_HANDLER(sys_pct_create);
SYSCALL_HANDLER(sys_pct_call);
SYSCALL_HANDLER(sys_pct_send);
SYSCALL_HANDLER(sys_pct_return);

#endif /* EXO_SYSCALL_H */
