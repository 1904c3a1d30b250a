/*
 * cpu.h: the state the entry code needs and the protection features the
 * kernel turns on (exo/arch/x86_64/cpu.c).  One CPU: exo runs one vCPU
 * per instance, so these are plain globals.
 */
#ifndef EXO_CPU_H
#define EXO_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* Read by vectors.S. */
extern uint64_t cpu_kstack_top;	   /* where C runs after an entry from ring 3 */
extern uint64_t cpu_env_frame_end; /* just past the running env's trapframe */
extern uint64_t cpu_user_rsp;	   /* scratch for syscall_entry */

struct cpu_features {
	bool pcid, smep, smap, umip;
};
extern struct cpu_features cpu_features;

/*
 * Turn on syscall/sysret, SMEP, SMAP, UMIP and PCIDs where the CPU has
 * them, and alignment checking for ring 3; prints the "exo: cpu:" line.
 */
void cpu_init(void);

/* Entries from ring 3 save into the frame ending at frame_end. */
void cpu_set_env_frame(uint64_t frame_end);

/* Set the ring-0 stack the TSS gives interrupts from ring 3 (gdt.c). */
void tss_set_rsp0(uint64_t rsp0);

#endif /* EXO_CPU_H */
