/* monotonic.c: CLOCK_MONOTONIC for exovmm's waits (monotonic.h). */
#include "monotonic.h"

uint64_t vmm_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VMM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void vmm_cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
}

struct timespec vmm_deadline(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / VMM_NS_PER_S),
				 .tv_nsec = (long)(ns % VMM_NS_PER_S)};
}
