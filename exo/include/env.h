/*
 * env.h: environments, the kernel's only notion of a running program
 * (exo/kern/env.c).  An env is an address space, a capability table,
 * quota containers for frames and slots, a uenv page and one saved
 * context.  Everything else a "process" has is the library OS's business.
 */
#ifndef EXO_ENV_H
#define EXO_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include <exo/abi.h>

#include "cap.h"
#include "quota.h"
#include "trap.h"

#define NENV 64		/* envs at once; envids' index byte */
#define ENV_NAME_MAX 32 /* for log lines */
#define ENV_BOOT_MAX 8	/* programs on the command line */

/* Bits of env.pending: upcalls waiting for the env's next run. */
#define PENDING(kind) (1u << (kind))

struct pct_activation {
	bool active;		  /* running a PCT entry now */
	bool reply_wanted;	  /* SYS_PCT_CALL, not SYS_PCT_SEND */
	exo_envid_t caller;
	struct trapframe saved; /* the context the call interrupted */
};

struct env {
	/*
	 * First, so that its end is 16-byte aligned (the CPU aligns the
	 * stack before pushing an interrupt frame) and entries from ring 3
	 * save straight into it.
	 */
	struct trapframe tf;

	exo_envid_t id;
	uint32_t state; /* EXO_ENV_STATE_* */
	uint32_t exit_code;
	exo_envid_t parent; /* EXO_ENV_NONE for boot envs */
	int boot_index;	    /* place on the command line, or -1 */
	char name[ENV_NAME_MAX];

	uint64_t pml4_pa;
	uint16_t pcid;
	bool tlb_stale; /* its PCID's TLB entries must go at the next load */
	uint64_t uenv_pa;

	struct captab caps;
	struct quota frames, slots;
	uint64_t rmaps; /* reverse-map entries its mappings use */

	uint32_t pending;	 /* PENDING(kind) bits */
	exo_envid_t waiting_on;	 /* WAITING: the callee */
	struct pct_activation pct;

	bool in_epilogue; /* told its slice ended; must yield by the bound */
	uint32_t offences; /* times preempted after the epilogue bound */
	uint32_t forfeit;  /* slices still to skip for offences */

	bool revoking; /* a revocation request is outstanding */
	uint64_t revoke_deadline_tsc;
	uint64_t revoke_stolen_ns; /* the vCPU's stolen time at the request */
	uint64_t withdraw_held; /* its frames in chunks leaving the machine */
} __attribute__((aligned(16)));

_Static_assert(__builtin_offsetof(struct env, tf) == 0 &&
		   sizeof(struct trapframe) % 16 == 0,
	       "entries from ring 3 need the frame's end 16-byte aligned");

extern struct env envs[NENV];
extern struct env *curenv; /* running now, or NULL */

/* The live env with this id (not FREE, not DEAD), or NULL. */
struct env *env_lookup(exo_envid_t id);
/*
 * envs[i] if it is a live child of parent, else NULL: i over [0, NENV)
 * visits parent's children in table order.
 */
struct env *env_child(const struct env *parent, unsigned i);
/* The uenv page of e, through the direct map. */
struct exo_uenv *env_uenv(struct env *e);

/*
 * Make an env with an empty address space (its page-table root and uenv
 * page charged to its new frame quota), slot 0 holding a capability to
 * itself.  Quotas are taken from the parent's containers (or the root's
 * for boot envs, parent NULL).  Returns 0 and *out, or -E_*.
 */
int env_create(struct env *parent, uint64_t frame_quota, uint64_t slot_quota,
	       const char *name, struct env **out);

/* End e and its descendants with exit_code; frees all they held. */
void env_destroy(struct env *e, uint32_t exit_code);
/* Log "exo: env N (name) killed: why" and destroy e with EXO_ENV_KILLED. */
void env_kill(struct env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Load e's page tables (and PCID) and make entries save into e's frame. */
void env_switch_to(struct env *e);

/* The loaded page tables are no longer any env's (uvm_destroy). */
void env_forget_cr3(void);

/* Set the context e resumes with; false if rip is not a user address. */
bool env_set_context(struct env *e, const struct exo_regs *r);
/* The exo_regs view of a trapframe. */
void env_regs_from_tf(const struct trapframe *tf, struct exo_regs *r);
/* Whether va is a canonical user address a context may run at. */
bool env_user_address(uint64_t va);

/* Boot envs: every live env is gone; the kernel's exit code for that. */
bool env_all_dead(void);
unsigned env_boot_exit_code(void);

#endif /* EXO_ENV_H */
