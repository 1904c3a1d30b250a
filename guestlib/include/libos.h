/*
 * libos.h: the user runtime every program in the initrd links against
 * (guestlib/).  For now: the system-call stub, console output and exit;
 * the library OS proper (memory, threads, IPC, network) comes later.
 */
#ifndef LIBOS_H
#define LIBOS_H

#include <stddef.h>

/* `syscall` with number nr and up to six arguments (see exo/abi.h). */
long libos_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
		   long a5);

/* Write s to the console; returns the bytes written or a negative E_*. */
long libos_puts(const char *s);

/* End this env with the given code. */
_Noreturn void libos_exit(int code);

int main(void);

#endif /* LIBOS_H */
