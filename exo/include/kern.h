/*
 * kern.h: ending the run (exo/kern/exit.c).  Every way out of the kernel
 * goes through the exit port, so the monitor or QEMU reports the code.
 */
#ifndef EXO_KERN_H
#define EXO_KERN_H

#include "printf.h"

/*
 * Print the tick count and the code, flush the console and write the code
 * to EXO_EXIT_PORT.
 */
_Noreturn void exo_exit(unsigned code);
/* Write the code to the exit port with no printing (for nested faults). */
_Noreturn void exo_exit_quiet(unsigned code);
/* Print "exo: PANIC: ..." and exit with EXO_EXIT_PANIC. */
_Noreturn void panic(const char *fmt, ...) EXO_PRINTF(1, 2);

#endif /* EXO_KERN_H */
