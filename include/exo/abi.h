/*
 * exo/abi.h: the system-call ABI between the exokernel (ring 0) and the
 * library OS (ring 3).  The single source of truth for both sides.
 *
 * Convention: `syscall` with the call number in %rax and arguments in
 * %rdi, %rsi, %rdx, %r10, %r8, %r9; the result comes back in %rax, a
 * negative E_* code on error.  Call numbers, the structs calls exchange and
 * the layout of the per-env `struct uenv` page are added here as the
 * exokernel core grows; the error codes below are fixed now so that every
 * layer reports failures the same way from the start.
 */
#ifndef EXO_ABI_H
#define EXO_ABI_H

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

/*
 * System call numbers.  The kernel does not run envs yet; these are the
 * calls guestlib's runtime (crt0, print) is written against.
 */
#define SYS_CONS_WRITE 0 /* (const char *buf, size_t len) -> bytes written */
#define SYS_ENV_EXIT 1   /* (int code) -> does not return */
#define SYS_NCALLS 2

#endif /* EXO_ABI_H */
