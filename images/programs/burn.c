/*
 * burn.c: a CPU-bound tenant for quota experiments and tests.
 *
 * `run=burn -- SECONDS` spins for SECONDS of wall time (default
 * BURN_DEFAULT_SECONDS; the TSC counts wall time even while exovmm has the
 * vCPU parked), counting loops of a fixed piece of arithmetic.  Each
 * second it prints "burn: second K: N loops", and at the end
 * "burn: N loops in S s", so the work done shows the CPU share the
 * quota layer gave this instance.  It exits 0.
 */
#include "libos.h"

#define BURN_DEFAULT_SECONDS 5
#define BURN_MAX_SECONDS 3600
#define LOOP_STEPS 1000 /* arithmetic between two clock reads */
#define KHZ_PER_HZ 1000

/* A fixed amount of work the compiler cannot drop. */
static uint64_t work(uint64_t x)
{
	for (unsigned i = 0; i < LOOP_STEPS; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static unsigned seconds_wanted(void)
{
	unsigned long s;

	if (libos_argc() < 1)
		return BURN_DEFAULT_SECONDS;
	if (!libos_arg_number(0, BURN_MAX_SECONDS, &s)) {
		libos_printf("burn: bad SECONDS \"%s\": want 1 to %u\n",
			     libos_argv(0), BURN_MAX_SECONDS);
		libos_exit(LIBOS_EXIT_FAILURE);
	}
	return (unsigned)s;
}

int main(void)
{
	struct exo_sysinfo si;
	unsigned seconds = seconds_wanted();
	uint64_t tsc_per_second, start, total = 0, x = 1;

	if (sys_sysinfo(&si) != E_OK || !si.tsc_khz) {
		libos_puts("burn: no TSC frequency from the kernel\n");
		return LIBOS_EXIT_FAILURE;
	}
	tsc_per_second = si.tsc_khz * KHZ_PER_HZ;
	start = __builtin_ia32_rdtsc();
	for (unsigned k = 1; k <= seconds; k++) {
		uint64_t loops = 0, end = start + k * tsc_per_second;

		while (__builtin_ia32_rdtsc() < end) {
			x = work(x);
			loops++;
		}
		libos_printf("burn: second %u: %lu loops\n", k,
			     (unsigned long)loops);
		total += loops;
	}
	libos_printf("burn: %lu loops in %u s (%lx)\n", (unsigned long)total,
		     seconds, (unsigned long)(x & 0xf));
	return 0;
}
