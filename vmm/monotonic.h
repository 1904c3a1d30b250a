/*
 * monotonic.h: the clock exovmm's threads wait on: CLOCK_MONOTONIC in
 * nanoseconds, condition variables whose timed waits take it (a default
 * one reads its deadline as wall time), and deadlines for them.
 */
#ifndef VMM_MONOTONIC_H
#define VMM_MONOTONIC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define VMM_NS_PER_S 1000000000ull

uint64_t vmm_monotonic_ns(void);
void vmm_cond_init_monotonic(pthread_cond_t *c);
/* The deadline at monotonic time ns, for pthread_cond_timedwait. */
struct timespec vmm_deadline(uint64_t ns);

#endif /* VMM_MONOTONIC_H */
