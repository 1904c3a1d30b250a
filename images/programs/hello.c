/*
 * hello.c: the smallest program in the initrd: prints a line and exits 0.
 */
#include "libos.h"

int main(void)
{
	libos_puts("hello from exo\n");
	return 0;
}
