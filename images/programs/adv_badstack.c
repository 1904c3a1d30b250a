/*
 * adv_badstack.c: an adversary that points the kernel at a bad upcall
 * stack.  Owned by the adversarial boot tests
 * (tests/boot/adversarial.sh), which run it as `run=adv_badstack,good`.
 * It sets its exception entry to a real function but its upcall stack
 * (uenv.upcall_stack_base/size) to its own read-only code pages, then
 * faults.  The kernel must not write the upcall frame there (the code
 * would change) nor enter the handler: it must kill the env with
 * "killed: exception 14 ... and its upcall stack is not mapped writable".
 */
#include "libos.h"

/* An address the compiler cannot see through. */
static volatile uintptr_t null_addr;

static void on_exception(struct exo_upcall_frame *f)
{
	(void)f;
	libos_puts("# adv_badstack: handler entered on a read-only stack\n");
	libos_exit(1);
}

int main(void)
{
	libos_uenv->upcall_stack_base = 0x400000;
	libos_uenv->upcall_stack_size = 2 * EXO_PAGE_SIZE;
	libos_uenv->entry[EXO_UPCALL_EXCEPTION] = (uint64_t)on_exception;
	libos_puts("# adv_badstack: faulting with the upcall stack on its "
		   "code\n");
	*(volatile uint64_t *)null_addr = 0xbad;
	libos_puts("# adv_badstack: still alive after the fault\n");
	return 1;
}
