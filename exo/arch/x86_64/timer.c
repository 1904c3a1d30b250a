/*
 * timer.c: the periodic LAPIC tick and the clock rates behind it.  Under
 * exovmm the rates come from CPUID (there is no PIT to measure against);
 * elsewhere both the LAPIC timer and the TSC are timed against PIT
 * channel 2.
 */
#include "timer.h"
#include "hv.h"
#include "kern.h"
#include "trap.h"
#include "x86.h"

#define US_PER_MS 1000u

struct timer_info timer;
volatile uint64_t timer_ticks;

/* Rate in kHz of a counter that advanced `delta` in `us` microseconds. */
static uint64_t khz(uint64_t delta, uint32_t us)
{
	return delta * US_PER_MS / us;
}

static void calibrate_with_pit(void)
{
	uint64_t t0, t1;
	uint32_t c0, c1;

	pit_arm(TIMER_CALIBRATE_US);
	lapic_oneshot(UINT32_MAX);
	t0 = rdtsc();
	c0 = lapic_current();
	pit_start();
	pit_wait();
	t1 = rdtsc();
	c1 = lapic_current();
	timer.lapic_khz =
	    khz((uint64_t)(c0 - c1) * LAPIC_TIMER_DIVISOR, TIMER_CALIBRATE_US);
	timer.tsc_khz = khz(t1 - t0, TIMER_CALIBRATE_US);
	timer.calibrated = true;
}

/* exovmm may not know the TSC rate; the LAPIC timer's is then the ruler. */
static uint64_t tsc_khz_from_lapic(void)
{
	uint64_t count = timer.lapic_khz * TIMER_CALIBRATE_US / US_PER_MS /
			 LAPIC_TIMER_DIVISOR;
	uint64_t t0;

	lapic_oneshot((uint32_t)count);
	t0 = rdtsc();
	while (lapic_current())
		cpu_relax();
	return khz(rdtsc() - t0, TIMER_CALIBRATE_US);
}

static void rates_from_exovmm(void)
{
	if (!hv.lapic_khz)
		panic("timer: exovmm reported no LAPIC timer frequency");
	timer.lapic_khz = hv.lapic_khz;
	timer.tsc_khz = hv.tsc_khz ? hv.tsc_khz : tsc_khz_from_lapic();
	timer.calibrated = false;
}

void timer_init(uint32_t period_us)
{
	uint64_t count;

	pic_disable();
	lapic_init();
	if (hv.kind == HV_EXOVMM)
		rates_from_exovmm();
	else
		calibrate_with_pit();
	count = timer.lapic_khz * period_us / US_PER_MS / LAPIC_TIMER_DIVISOR;
	if (count == 0 || count > UINT32_MAX)
		panic("timer: a %u us tick does not fit the LAPIC timer at %lu "
		      "kHz",
		      period_us, timer.lapic_khz);
	timer.period_us = period_us;
	lapic_periodic(VEC_TIMER, (uint32_t)count);
	kprintf("exo: timer: lapic periodic %u us (input %lu kHz, %s)\n",
		period_us, timer.lapic_khz,
		timer.calibrated ? "calibrated" : "from exovmm");
}

static void (*oneshot_handler)(void);

void timer_tick(void)
{
	timer_ticks++;
	lapic_eoi();
	if (oneshot_handler)
		oneshot_handler();
}

void timer_take_over(void (*handler)(void))
{
	oneshot_handler = handler;
}

void timer_oneshot_us(uint64_t us)
{
	uint64_t count = timer.lapic_khz * us / US_PER_MS / LAPIC_TIMER_DIVISOR;

	if (count == 0)
		count = 1;
	if (count > UINT32_MAX)
		count = UINT32_MAX;
	lapic_oneshot_irq(VEC_TIMER, (uint32_t)count);
}

uint64_t timer_us_to_tsc(uint64_t us)
{
	return timer.tsc_khz * us / US_PER_MS;
}

void timer_sleep_us(uint64_t us)
{
	uint64_t ticks = (us + timer.period_us - 1) / timer.period_us;
	uint64_t until = timer_ticks + ticks;

	while (timer_ticks < until)
		hlt(); /* the next tick wakes us */
}

void timer_spin_us(uint64_t us)
{
	uint64_t until = rdtsc() + timer_us_to_tsc(us);

	cli();
	while (rdtsc() < until)
		cpu_relax();
	sti();
}
