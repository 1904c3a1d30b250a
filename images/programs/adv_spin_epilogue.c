/*
 * adv_spin_epilogue.c: an adversary that registers an epilogue handler
 * and ignores it: the handler counts the request and returns to the
 * spin, which never yields.  Owned by the adversarial boot tests
 * (tests/boot/adversarial.sh), which run it as
 * `run=adv_spin_epilogue,good`.
 *
 * The kernel must preempt it by force at the epilogue bound, log
 * "preempted: no yield within ... of its epilogue", count it in
 * uenv.slice.forced and make it forfeit later slices, while good runs
 * all its yields (the test checks that good exits first).  It spins for
 * SPIN_MS without a system call and exits 0 when it saw all of that.
 */
#include "libos.h"

#define SPIN_MS 2500

static volatile uint64_t epilogues;

static void ignore_epilogue(struct exo_upcall_frame *f)
{
	(void)f;
	epilogues++; /* and carry on spinning */
}

int main(void)
{
	struct exo_sysinfo info;
	uint64_t t0, limit;
	long r;

	tap_plan(5);
	r = sys_sysinfo(&info);
	tap_ok(r == 0 && info.tsc_khz > 0, "tsc at %lu kHz, slices of %lu us",
	       (unsigned long)info.tsc_khz, (unsigned long)info.slice_us);
	r = libos_set_handler(EXO_UPCALL_EPILOGUE, ignore_epilogue);
	tap_ok(r == 0, "epilogue handler installed: %ld", r);
	limit = info.tsc_khz * SPIN_MS;
	t0 = __builtin_ia32_rdtsc();
	while (__builtin_ia32_rdtsc() - t0 < limit)
		__asm__ volatile("" ::: "memory");
	tap_ok(epilogues >= 2, "asked to yield %lu times, never did",
	       (unsigned long)epilogues);
	tap_ok(libos_uenv->slice.forced >= 2,
	       "preempted by force %lu times",
	       (unsigned long)libos_uenv->slice.forced);
	tap_ok(libos_uenv->slice.slices_forfeited >= 2,
	       "charged: %lu slices forfeited",
	       (unsigned long)libos_uenv->slice.slices_forfeited);
	return tap_done();
}
