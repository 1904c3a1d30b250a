/*
 * timer.h: the LAPIC timer tick (exo/arch/x86_64/timer.c) and the
 * clocks it is measured against.
 */
#ifndef EXO_TIMER_H
#define EXO_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_US 1000u
#define TIMER_TICK_DEFAULT_US 10000u /* 10 ms */
#define TIMER_TICK_MAX_US 1000000u   /* 1 s */
/* How long the clocks are measured against a reference when calibrating. */
#define TIMER_CALIBRATE_US 10000u

struct timer_info {
	uint32_t period_us;
	uint64_t lapic_khz; /* timer input, before the divider */
	uint64_t tsc_khz;
	bool calibrated; /* lapic_khz measured here, not told by exovmm */
};

extern struct timer_info timer;
extern volatile uint64_t timer_ticks;

/*
 * Mask the 8259s, find the clock rates and start the periodic tick;
 * prints the "exo: timer:" line.  Interrupts stay disabled.
 */
void timer_init(uint32_t period_us);
/* The tick interrupt handler. */
void timer_tick(void);
/*
 * From now on the LAPIC timer fires once per timer_oneshot_us() call and
 * each interrupt goes to handler (the scheduler's slice timer).
 */
void timer_take_over(void (*handler)(void));
void timer_oneshot_us(uint64_t us);
/* Microseconds to TSC ticks, and the TSC now. */
uint64_t timer_us_to_tsc(uint64_t us);
/* Halt, with interrupts on, for at least us microseconds of ticks. */
void timer_sleep_us(uint64_t us);
/* Busy-wait us microseconds with interrupts off (spin=). */
void timer_spin_us(uint64_t us);

/* The LAPIC (exo/arch/x86_64/lapic.c), xAPIC mode through the direct map. */
void lapic_init(void);
void lapic_eoi(void);
void lapic_oneshot(uint32_t count);
void lapic_periodic(unsigned vector, uint32_t count);
/* One interrupt on vector after count (divided) ticks. */
void lapic_oneshot_irq(unsigned vector, uint32_t count);
uint32_t lapic_current(void);
#define LAPIC_TIMER_DIVISOR 16

/* The legacy PC chips (exo/arch/x86_64/legacy.c); never used under exovmm. */
void pic_disable(void);
void pit_arm(uint32_t us); /* load channel 2, gate closed; us <= 54925 */
void pit_start(void);
void pit_wait(void); /* until channel 2's output goes high */

#endif /* EXO_TIMER_H */
