/*
 * exo/abi.h: the system-call ABI between the exokernel (ring 0) and the
 * library OS (ring 3).  The single source of truth for both sides: call
 * numbers, capability types and rights, every struct a call exchanges, the
 * fixed user addresses, the `struct uenv` page (with the boot arguments)
 * and the upcall frame.
 *
 * Convention: `syscall` with the call number in %rax and arguments in
 * %rdi, %rsi, %rdx, %r10, %r8, %r9; the result comes back in %rax, a
 * negative E_* code on error.  `syscall` clobbers %rcx and %r11; every
 * other register is preserved, except where a call says otherwise
 * (SYS_PCT_CALL returns four words in %rdi %rsi %rdx %r10).
 *
 * Programs are built without a red zone (-mno-red-zone): upcalls are
 * delivered on the env's own upcall stack, but the library OS resumes an
 * interrupted context by pushing its %rip just below the interrupted %rsp.
 */
#ifndef EXO_ABI_H
#define EXO_ABI_H

#include <stdint.h>

/* ---- Errors (returned negated) ------------------------------------- */
#define E_OK 0
#define E_INVAL 1   /* an argument has a value the call does not accept */
#define E_FAULT 2   /* a pointer or length is outside the caller's memory */
#define E_NOMEM 3   /* no frame, or the caller's quota is used up */
#define E_PERM 4    /* the capability lacks the right the call needs */
#define E_BADCAP 5  /* the slot holds no capability of the needed type */
#define E_NOSYS 6   /* no such system call */
#define E_BUSY 7    /* the resource is bound elsewhere */
#define E_NOENT 8   /* no such object (env, initrd entry, ...) */
#define E_NERRORS 9

/* ---- System calls ---------------------------------------------------
 * Arguments are listed in register order; "slot" is a capability slot in
 * the caller's table; "env" is a slot holding an EXO_CAP_ENV capability
 * (EXO_SLOT_SELF names the caller itself).
 */
#define SYS_CONS_WRITE 0   /* (buf, len <= EXO_CONS_WRITE_MAX) -> len */
#define SYS_ENV_EXIT 1	   /* (code 0..EXO_ENV_EXIT_MAX) -> no return */
#define SYS_BATCH 2	   /* (struct exo_syscall *ops, n) -> ops done */
#define SYS_SYSINFO 3	   /* (struct exo_sysinfo *out) -> 0 */
#define SYS_CAP_INFO 4	   /* (slot, struct exo_cap_info *out) -> 0 */
#define SYS_CAP_DERIVE 5   /* (slot, rights, offset, count) -> new slot */
#define SYS_CAP_GRANT 6	   /* (slot, env, rights, want) -> slot in env's */
#define SYS_CAP_DROP 7	   /* (slot) -> 0 */
#define SYS_FRAME_ALLOC 8  /* (paddr or EXO_FRAME_ANY, count, flags) -> slot */
#define SYS_FRAME_FREE 9   /* (slot, first, count) -> 0 */
#define SYS_FRAME_VITAL 10 /* (slot, vital 0/1) -> 0; see EXO_FRAME_VITAL */
#define SYS_PTE_SET 11	   /* (env, struct exo_pte_op *ops, n) -> ops done */
#define SYS_ENV_CREATE 12  /* (frame quota, slot quota) -> env slot */
#define SYS_ENV_SET_REGS 13 /* (env, const struct exo_regs *) -> 0 */
#define SYS_ENV_START 14   /* (env) -> 0 */
#define SYS_ENV_KILL 15	   /* (env) -> 0; the env and its descendants */
#define SYS_ENV_SET_QUOTA 16 /* (env, frame quota, slot quota) -> 0 */
#define SYS_ENV_STATUS 17  /* (env, struct exo_env_status *out) -> 0 */
#define SYS_SLOT_ALLOC 18  /* (env, count, flags) -> slot of a TIMESLOTS cap */
#define SYS_SLOT_FREE 19   /* (slot) -> 0 */
#define SYS_YIELD 20	   /* (envid to donate to, or EXO_ENV_NONE) -> 0 */
#define SYS_PCT_CREATE 21  /* (badge) -> slot of a PCT cap to the caller */
#define SYS_PCT_CALL 22	   /* (slot, w0, w1, w2, w3) -> 0, words back */
#define SYS_PCT_SEND 23	   /* (slot, w0, w1, w2, w3) -> 0, no reply */
#define SYS_PCT_RETURN 24  /* (w0, w1, w2, w3) -> no return */
#define SYS_NCALLS 25

/*
 * SYS_CAP_GRANT puts the copy in slot `want` of the target's table (E_INVAL
 * if that slot is taken), or in its lowest free slot for EXO_SLOT_ANY.
 *
 * SYS_FRAME_FREE frees pages [first, first + count) of a FRAME capability
 * (count EXO_FRAME_REST: through the end of its range), unmapping each
 * everywhere first; pages already freed are skipped.  A capability whose
 * pages are all freed is dropped from its slot.  Its other pages, and
 * capabilities derived from it, keep working: liveness is per page.
 */
#define EXO_FRAME_REST 0

/* Calls that switch envs; SYS_BATCH refuses them with E_INVAL. */
#define SYS_IN_BATCH_OK(nr)                                                    \
	((nr) != SYS_BATCH && (nr) != SYS_ENV_EXIT && (nr) != SYS_YIELD &&     \
	 (nr) != SYS_PCT_CALL && (nr) != SYS_PCT_SEND &&                       \
	 (nr) != SYS_PCT_RETURN)

#define EXO_ENV_EXIT_MAX 63 /* env exit codes: what the exit port takes */
#define EXO_BATCH_MAX 64     /* ops per SYS_BATCH */
#define EXO_CONS_WRITE_MAX 4096 /* bytes per SYS_CONS_WRITE */
#define EXO_PTE_OPS_MAX 512  /* ops per SYS_PTE_SET */

/* One call of a SYS_BATCH vector; the kernel writes result. */
struct exo_syscall {
	uint64_t nr;
	uint64_t args[6];
	int64_t result;
};

/* ---- Fixed user addresses -------------------------------------------
 * The low half of the address space belongs to the env, below
 * EXO_USER_MAP_LIMIT.  Above it the kernel maps the uenv page and, in
 * PML4 slot EXO_UVPT_SLOT, the env's own page tables read-only: the PTE
 * for va is at EXO_UVPT_PTE(va), its PD entry at EXO_UVPT_PDE(va), ...
 */
#define EXO_PAGE_SIZE 4096ull
#define EXO_UVPT_SLOT 255ull
#define EXO_UVPT (EXO_UVPT_SLOT << 39) /* 0x7f8000000000 */
#define EXO_UENV (EXO_UVPT - EXO_PAGE_SIZE)
#define EXO_USER_MAP_LIMIT (EXO_UVPT - (2ull << 20)) /* pte_set below */
#define EXO_USER_STACK_TOP (EXO_USER_MAP_LIMIT - (1ull << 30))
#define EXO_USER_STACK_PAGES 16 /* what the kernel maps for boot envs */

/* Entry of level (1 = PT .. 4 = PML4) mapping va, in the UVPT view. */
#define EXO_UVPT_INDEX(va, level)                                              \
	(((uint64_t)(va) & 0x0000ffffffffffffull) >> (12 + 9 * ((level)-1)))
#define EXO_UVPT_LEVEL_BASE(level)                                             \
	((level) == 1   ? EXO_UVPT                                             \
	 : (level) == 2 ? EXO_UVPT + (EXO_UVPT_SLOT << 30)                     \
	 : (level) == 3 ? EXO_UVPT + (EXO_UVPT_SLOT << 30) +                   \
			      (EXO_UVPT_SLOT << 21)                            \
			: EXO_UVPT + (EXO_UVPT_SLOT << 30) +                   \
			      (EXO_UVPT_SLOT << 21) + (EXO_UVPT_SLOT << 12))
#define EXO_UVPT_ENTRY(va, level)                                              \
	((const volatile uint64_t *)(EXO_UVPT_LEVEL_BASE(level)) +             \
	 EXO_UVPT_INDEX(va, level))

/* Hardware PTE bits a library OS reads through the UVPT view. */
#define EXO_PTE_PRESENT 0x001ull
#define EXO_PTE_WRITABLE 0x002ull
#define EXO_PTE_ACCESSED 0x020ull
#define EXO_PTE_DIRTY 0x040ull
#define EXO_PTE_NX (1ull << 63)
#define EXO_PTE_ADDR 0x000ffffffffff000ull

/* ---- Capabilities ---------------------------------------------------- */
#define EXO_CAP_SLOTS 256 /* slots per env */
#define EXO_SLOT_SELF 0	  /* every env: an ENV capability to itself */
#define EXO_SLOT_INITRD 1 /* boot envs: the initrd, read-only */
#define EXO_SLOT_BOOT_SLICES 2 /* boot envs: their time slices */
#define EXO_SLOT_IMAGE 3 /* boot envs: the frames of their image and stack */
#define EXO_SLOT_ANY (-1) /* where a call takes a wanted slot: any free */

#define EXO_CAP_NONE 0
#define EXO_CAP_FRAME 1	 /* base: first frame's physical address; count */
#define EXO_CAP_ENV 2	 /* object: envid */
#define EXO_CAP_PCT 3	 /* object: envid of the callee; badge */
#define EXO_CAP_TIMESLOTS 4 /* base: bit mask of time-slice slots */
#define EXO_CAP_INITRD 5 /* base: physical address; count: pages */
#define EXO_CAP_NTYPES 6

/*
 * Rights.  A derived or granted capability has a subset of its source's
 * rights and a sub-range of its range; nothing widens one.
 *   READ, WRITE, EXEC  map frames (or the initrd) with these permissions
 *   GRANT              derive copies for other envs (SYS_CAP_GRANT)
 *   FREE               free frames or slots; kill an env
 *   CONTROL            env: map into it, set its registers, start it,
 *                      give it slots, set its quota; frames: mark vital
 *   CALL               PCT: call the env
 */
#define EXO_R_READ 0x01
#define EXO_R_WRITE 0x02
#define EXO_R_EXEC 0x04
#define EXO_R_GRANT 0x08
#define EXO_R_FREE 0x10
#define EXO_R_CONTROL 0x20
#define EXO_R_CALL 0x40
#define EXO_R_ALL 0x7f

struct exo_cap_info {
	uint32_t type;
	uint32_t rights;
	uint64_t base;	 /* FRAME, INITRD: physical address; TIMESLOTS:
			    mask; PCT: badge */
	uint64_t count;	 /* FRAME, INITRD: pages */
	uint64_t object; /* ENV, PCT: envid; PCT: badge in `base` */
};

/* ---- Physical memory -------------------------------------------------- */
#define EXO_FRAME_ANY (~0ull) /* SYS_FRAME_ALLOC: any free frames */
#define EXO_FRAME_ALLOC_MAX 512 /* frames per SYS_FRAME_ALLOC (2 MiB) */
/*
 * SYS_FRAME_ALLOC flag: frames the env cannot do without (its stacks, the
 * state it needs to answer a revocation).  They come from memory exovmm
 * never takes back (below the instance's memory_min) and are vital from
 * the start: when the kernel repossesses, it takes others first.
 * SYS_FRAME_VITAL marks frames already held only if they lie there too
 * (-E_INVAL otherwise).
 */
#define EXO_FRAME_VITAL 0x1u

/* SYS_PTE_SET permissions; perm 0 unmaps va. */
#define EXO_MAP_READ 0x1
#define EXO_MAP_WRITE 0x2
#define EXO_MAP_EXEC 0x4

/* One mapping change: va -> frame `index` of the capability in `slot`. */
struct exo_pte_op {
	uint64_t va;	/* page aligned, below EXO_USER_MAP_LIMIT */
	uint32_t slot;	/* FRAME or INITRD capability (ignored to unmap) */
	uint32_t index; /* which page of the capability's range */
	uint32_t perm;	/* EXO_MAP_*; 0 unmaps */
	int32_t result; /* written by the kernel: 0 or -E_* */
};

/* ---- Envs ------------------------------------------------------------- */
typedef uint32_t exo_envid_t; /* index in the low byte, generation above */
#define EXO_ENV_NONE 0u	      /* no env has id 0 */
#define EXO_ENV_INDEX(id) ((id)&0xffu)

/* Registers of an env context (SYS_ENV_SET_REGS, upcall frames). */
struct exo_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

#define EXO_ENV_STATE_FREE 0
#define EXO_ENV_STATE_CREATED 1 /* made, not started */
#define EXO_ENV_STATE_RUNNABLE 2
#define EXO_ENV_STATE_WAITING 3 /* in SYS_PCT_CALL */
#define EXO_ENV_STATE_DEAD 4	/* exited or killed; status holds why */

/* How an env ended, in exo_env_status.exit_code for killed envs. */
#define EXO_ENV_KILLED 64

struct exo_env_status {
	uint32_t state;
	uint32_t exit_code; /* DEAD: its code, or EXO_ENV_KILLED */
	exo_envid_t id, parent;
	uint64_t frame_quota, frames_used; /* used includes page tables */
	uint64_t frames_granted;	   /* to its children's quotas */
	uint64_t slot_quota, slots_used;
};

struct exo_sysinfo {
	exo_envid_t self;
	uint32_t nslots;
	uint64_t tsc_khz;
	uint64_t slice_us;
	uint64_t frames_total; /* frames envs can have */
	uint64_t frames_free;
	uint64_t initrd_size; /* bytes */
	uint64_t vital_below; /* physical: EXO_FRAME_VITAL frames lie below */
};

/* ---- Time slices -------------------------------------------------------- */
#define EXO_NSLOTS 64		/* slots in the vector (a TIMESLOTS mask) */
#define EXO_SLOT_CONTIGUOUS 0x1 /* SYS_SLOT_ALLOC: adjacent slots */

/* ---- Upcalls ------------------------------------------------------------
 * The kernel enters an env at uenv.entry[kind] on its upcall stack with
 * %rdi pointing at a struct exo_upcall_frame that holds the interrupted
 * context, and %rsp 8 bytes below the frame (as after a call).  The env
 * resumes that context itself.  Upcalls other than exceptions are
 * delivered only when the env is not already on its upcall stack.  An
 * exception taken on the upcall stack nests: its frame goes
 * EXO_UPCALL_NEST_GAP bytes below the interrupted %rsp (room for the
 * library OS to resume that context), and the kernel kills the env when
 * the stack has no room left, or is not mapped writable.
 */
#define EXO_UPCALL_NEST_GAP 256
#define EXO_UPCALL_EXCEPTION 0	 /* a fault in ring 3 */
#define EXO_UPCALL_PROLOGUE 1	 /* its slice starts */
#define EXO_UPCALL_EPILOGUE 2	 /* its slice ended: save state and yield */
#define EXO_UPCALL_REVOKE 3	 /* uenv.revoke asks for resources back */
#define EXO_UPCALL_REPOSSESSED 4 /* uenv.reposs lists what was taken */
#define EXO_UPCALL_PCT 5	 /* see below */
#define EXO_UPCALL_NKINDS 6

/*
 * The PCT entry is different: no frame.  The callee is entered at
 * entry[EXO_UPCALL_PCT] with %rsp = uenv.pct_stack and
 *   %rdi badge, %rsi caller envid, %rdx w0, %rcx w1, %r8 w2, %r9 w3
 * (a C function of six arguments that must not return: it ends with
 * SYS_PCT_RETURN).
 */

struct exo_upcall_frame {
	uint64_t kind;	 /* EXO_UPCALL_* */
	uint64_t trapno; /* EXCEPTION: vector */
	uint64_t error;	 /* EXCEPTION: CPU error code, else 0 */
	uint64_t addr;	 /* EXCEPTION #PF: faulting address (cr2) */
	struct exo_regs regs; /* the interrupted context */
};

#define EXO_REPOSS_MAX 128 /* frames listed per repossession */

/*
 * uenv.flags.  EXO_UENV_SLICE_EACH: end every slice with an epilogue (and
 * start the next with a prologue) even when the next slot is the env's
 * own, instead of running contiguous slots as one long slice; a library
 * OS that schedules threads asks for it to get a tick per slice.
 */
#define EXO_UENV_SLICE_EACH 0x1ull

/*
 * Boot arguments: the words after a lone "--" on the kernel command line,
 * which the kernel gives every boot env in its uenv (as Linux gives them
 * to init).  text holds the argc words in command-line order, each
 * followed by one NUL, back to back from text[0]; len counts the bytes
 * they take, NULs included (at most EXO_ARGS_MAX), and the rest of text
 * is zero.  A word is a run of non-space characters: never empty, never
 * holding a space or a NUL.  The kernel writes this before the env's
 * first instruction and never again; envs made by other envs get argc 0.
 * An env should treat it as read-only, though nothing stops it writing.
 */
#define EXO_ARGS_MAX 1024

struct exo_args {
	uint32_t argc;
	uint32_t len;
	char text[EXO_ARGS_MAX];
};

/* The uenv page, mapped read-write at EXO_UENV in every env. */
struct exo_uenv {
	/* Set by the env; the kernel reads (and checks) them at each use. */
	uint64_t entry[EXO_UPCALL_NKINDS]; /* 0: none */
	uint64_t upcall_stack_base;	   /* lowest byte */
	uint64_t upcall_stack_size;
	uint64_t pct_stack; /* %rsp for PCT entries */
	uint64_t flags;	    /* EXO_UENV_* */

	/* Written by the kernel. */
	exo_envid_t id, parent;
	struct {
		uint64_t slices;	    /* slices started */
		uint64_t forced;	    /* preempted after the epilogue bound */
		uint64_t slices_forfeited;  /* charged for offences */
		uint64_t slice_start_tsc;
		uint64_t slots_mask; /* slots it owns */
	} slice;
	struct {
		uint64_t seq;		 /* bumped with every new request */
		uint64_t frame_quota;	 /* the new quota */
		uint64_t frames_over;	 /* give back at least this many */
		uint64_t slot_quota;
		uint64_t slots_over;
		uint64_t deadline_tsc; /* after this the kernel takes them */
		/*
		 * Memory leaving the machine: the env must give back the
		 * withdraw_frames frames it holds in physical
		 * [withdraw_lo, withdraw_hi) (each also counts towards
		 * frames_over).  0 when nothing of it is leaving.
		 */
		uint64_t withdraw_frames;
		uint64_t withdraw_lo, withdraw_hi;
	} revoke;
	struct {
		uint64_t seq;	     /* bumped with every repossession */
		uint64_t nframes;    /* entries in frames[] this time */
		uint64_t frames_total; /* frames ever taken */
		uint64_t slots_mask; /* slots taken this time */
		uint64_t frames[EXO_REPOSS_MAX]; /* physical addresses */
	} reposs;
	struct exo_args args; /* boot envs: the command line's, after "--" */
};

_Static_assert(sizeof(struct exo_uenv) <= EXO_PAGE_SIZE,
	       "struct exo_uenv must fit its page");

#endif /* EXO_ABI_H */
