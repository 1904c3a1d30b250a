/*
 * cpu.c: the CPU features behind the kernel's protection and its entry
 * state.  syscall/sysret is the system-call path; SMEP and SMAP keep ring
 * 0 from executing or touching user pages (the kernel reaches env memory
 * only through the direct map, after walking the env's page tables);
 * UMIP hides the descriptor tables from ring 3; PCIDs tag each env's TLB
 * entries so a switch does not flush them; CR0.AM lets an env ask for
 * alignment checks (RFLAGS.AC).
 */
#include "cpu.h"
#include "kern.h"
#include "seg.h"
#include "x86.h"

extern char boot_stack_top[]; /* entry.S */
void syscall_entry(void);     /* vectors.S */

uint64_t cpu_kstack_top;
uint64_t cpu_env_frame_end;
uint64_t cpu_user_rsp;
struct cpu_features cpu_features;

/* syscall clears these: interrupts stay off in the kernel. */
#define SYSCALL_MASKED_FLAGS                                                   \
	(RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT)

static void syscall_init(void)
{
	uint64_t star = ((uint64_t)SEL_KCODE << STAR_KERNEL_SHIFT) |
			((uint64_t)(SEL(GDT_UCODE32) | SEG_RPL_USER)
			 << STAR_USER_SHIFT);

	wrmsr(MSR_STAR, star);
	wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
	wrmsr(MSR_FMASK, SYSCALL_MASKED_FLAGS);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

static void detect(void)
{
	struct cpuid_regs basic = cpuid(CPUID_FEATURES);
	struct cpuid_regs ext = cpuid_sub(CPUID_STRUCTURED, 0);

	cpu_features.pcid = basic.ecx & CPUID_1_ECX_PCID;
	cpu_features.smep = ext.ebx & CPUID_7_EBX_SMEP;
	cpu_features.smap = ext.ebx & CPUID_7_EBX_SMAP;
	cpu_features.umip = ext.ecx & CPUID_7_ECX_UMIP;
}

void cpu_init(void)
{
	uint64_t cr4 = read_cr4();

	detect();
	syscall_init();
	if (cpu_features.smep)
		cr4 |= CR4_SMEP;
	if (cpu_features.smap)
		cr4 |= CR4_SMAP;
	if (cpu_features.umip)
		cr4 |= CR4_UMIP;
	/* PCIDE may only be set while CR3's tag bits are 0, as they are now. */
	if (cpu_features.pcid)
		cr4 |= CR4_PCIDE;
	write_cr4(cr4);
	write_cr0(read_cr0() | CR0_AM);
	cpu_kstack_top = (uintptr_t)boot_stack_top;
	kprintf("exo: cpu: syscall, smep %s, smap %s, umip %s, pcid %s\n",
		cpu_features.smep ? "on" : "absent",
		cpu_features.smap ? "on" : "absent",
		cpu_features.umip ? "on" : "absent",
		cpu_features.pcid ? "on" : "absent");
}

void cpu_set_env_frame(uint64_t frame_end)
{
	cpu_env_frame_end = frame_end;
	tss_set_rsp0(frame_end);
}
