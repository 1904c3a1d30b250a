/*
 * adv_exit.c: an adversary that exits with a code the exit port cannot
 * carry: 2^32, which is 0 if the kernel cut it to 32 bits.  Owned by the
 * adversarial boot tests (tests/boot/adversarial.sh), which run it as
 * `run=adv_exit,good`.  The kernel must treat it as an offence, not as a
 * clean exit: kill it ("killed: exit code 4294967296 is above 63") so the
 * machine exits 5 once good has finished.
 */
#include "libos.h"

int main(void)
{
	libos_puts("# adv_exit: exiting with code 2^32\n");
	libos_syscall(SYS_ENV_EXIT, 1l << 32, 0, 0, 0, 0, 0);
	libos_puts("# adv_exit: still alive after exiting\n");
	return 1;
}
