/*
 * adv_nohandler.c: an adversary that faults with no exception handler:
 * it writes through a null pointer (the first 4 MiB are never mapped)
 * without ever registering an upcall.  Owned by the adversarial boot
 * tests (tests/boot/adversarial.sh), which run it as
 * `run=adv_nohandler,good`: the kernel must kill it alone, logging
 * "killed: exception 14 error 0x6 ... (addr 0x...0) and no handler", and
 * good must finish untouched.
 */
#include "libos.h"

/* An address the compiler cannot see through. */
static volatile uintptr_t null_addr;

int main(void)
{
	libos_puts("# adv_nohandler: writing through a null pointer\n");
	*(volatile uint64_t *)null_addr = 0xbad;
	libos_puts("# adv_nohandler: still alive after the fault\n");
	return 1;
}
