/*
 * adv_spin.c: an adversary that never yields and has no upcall handlers.
 * Owned by the adversarial boot tests (tests/boot/adversarial.sh), which
 * run it as `run=adv_spin,good`.
 *
 * After one SYS_SYSINFO (for the TSC rate) it spins for SPIN_MS without a
 * single system call, reading only its uenv page: the kernel must take
 * the CPU from it at the end of each of its slices (its uenv slice count
 * grows while it never gave the CPU up) so that good runs all its yields
 * meanwhile; the test checks that good exits before this env does.  It
 * has no epilogue entry, so the kernel gives it no epilogue bound to
 * break: it is switched out at each slice end without being charged.
 * Exits 0 when it saw itself preempted.
 */
#include "libos.h"

#define SPIN_MS 2500

int main(void)
{
	struct exo_sysinfo info;
	uint64_t t0, slices0, slices1, limit;
	long r;

	tap_plan(3);
	r = sys_sysinfo(&info);
	tap_ok(r == 0 && info.tsc_khz > 0, "tsc at %lu kHz, slices of %lu us",
	       (unsigned long)info.tsc_khz, (unsigned long)info.slice_us);
	limit = info.tsc_khz * SPIN_MS;
	slices0 = libos_uenv->slice.slices;
	t0 = __builtin_ia32_rdtsc();
	while (__builtin_ia32_rdtsc() - t0 < limit)
		__asm__ volatile("" ::: "memory");
	slices1 = libos_uenv->slice.slices;
	tap_ok(slices1 - slices0 >= 10,
	       "preempted without yielding: %lu new slices in %u ms",
	       (unsigned long)(slices1 - slices0), SPIN_MS);
	tap_ok(libos_uenv->slice.forced == 0 &&
		   libos_uenv->slice.slices_forfeited == 0,
	       "without an epilogue entry it was not charged (%lu forced)",
	       (unsigned long)libos_uenv->slice.forced);
	return tap_done();
}
