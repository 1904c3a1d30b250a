/*
 * exit.c: the end of every run: panic() and the exit port.
 */
#include <exo/hvc.h>

#include "console.h"
#include "kern.h"
#include "timer.h"
#include "x86.h"

_Noreturn void exo_exit_quiet(unsigned code)
{
	cli();
	cons_flush();
	outl(EXO_EXIT_PORT, code);
	/* Only reached without an exit device (QEMU without isa-debug-exit). */
	for (;;)
		hlt();
}

_Noreturn void exo_exit(unsigned code)
{
	cli();
	kprintf("exo: ticks %lu\n", timer_ticks);
	kprintf("exo: exit %u\n", code);
	exo_exit_quiet(code);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	cli();
	kprintf("exo: PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	exo_exit(EXO_EXIT_PANIC);
}
