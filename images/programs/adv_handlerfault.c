/*
 * adv_handlerfault.c: an adversary whose exception handler faults too.
 * Owned by the adversarial boot tests (tests/boot/adversarial.sh), which
 * run it as `run=adv_handlerfault,good`.  It installs a handler that
 * writes through a null pointer, then reads from an unmapped address
 * (0x8, so the two faults can be told apart).  The first fault must reach
 * the handler as an upcall; the second, on the upcall stack, nests: the
 * handler is entered again below its own frame, faults again, and so on
 * until the upcall stack has no room, when the kernel must kill it:
 * "killed: exception 14 error ... (addr 0x...0) and its upcall stack
 * overflowed".  A kernel that nested without a bound would overrun the
 * stack; one that resumed the faulting code would print "still alive".
 */
#include "libos.h"

static volatile uint64_t entered;
/* Addresses the compiler cannot see through. */
static volatile uintptr_t null_addr = 0, unmapped_addr = 8;

static void on_exception(struct exo_upcall_frame *f)
{
	entered++;
	libos_printf("# adv_handlerfault: handler entered (%lu) for trap %lu "
		     "addr 0x%lx; now faulting in it\n",
		     (unsigned long)entered, (unsigned long)f->trapno,
		     (unsigned long)f->addr);
	*(volatile uint64_t *)null_addr = 0xbad;
	libos_puts("# adv_handlerfault: the handler survived its fault\n");
}

int main(void)
{
	uint64_t v;

	if (libos_set_handler(EXO_UPCALL_EXCEPTION, on_exception) != 0)
		return 1;
	v = *(volatile uint64_t *)unmapped_addr;
	libos_printf("# adv_handlerfault: still alive (read 0x%lx)\n",
		     (unsigned long)v);
	return 1;
}
