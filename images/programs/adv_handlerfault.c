/*
 * adv_handlerfault.c: an adversary whose exception handler faults too.
 * Owned by the adversarial boot tests (tests/boot/adversarial.sh), which
 * run it as `run=adv_handlerfault,good`.  It installs a handler that
 * writes through a null pointer, then reads from an unmapped address
 * (0x8, so the two faults can be told apart).  The first fault must reach
 * the handler as an upcall; the second, on the upcall stack, must get it
 * killed: "killed: exception 14 at rip ... (addr 0x...0) inside its
 * upcall handler".  A kernel that re-entered the handler instead would
 * loop; one that resumed the faulting code would print "still alive".
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
