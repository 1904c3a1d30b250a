/*
 * x86.h: x86-64 architectural constants (control registers, MSRs, CPUID
 * bits) and the one-instruction helpers the kernel uses.
 */
#ifndef EXO_X86_H
#define EXO_X86_H

#ifdef __ASSEMBLER__
#define X86_BIT(n) (1 << (n))
#else
#define X86_BIT(n) (1u << (n))
#endif

#define CR0_PE X86_BIT(0)
#define CR0_WP X86_BIT(16) /* ring 0 honours read-only pages */
#define CR0_AM X86_BIT(18) /* alignment checks in ring 3 when RFLAGS.AC */
#define CR0_PG X86_BIT(31)
#define CR4_PAE X86_BIT(5)
#define CR4_PGE X86_BIT(7)
#define CR4_UMIP X86_BIT(11)  /* no sgdt/sidt/smsw/... in ring 3 */
#define CR4_PCIDE X86_BIT(17) /* CR3 carries a 12-bit address-space tag */
#define CR4_SMEP X86_BIT(20)  /* ring 0 never executes user pages */
#define CR4_SMAP X86_BIT(21)  /* ring 0 never touches user pages */

/* CR3 with CR4.PCIDE: the tag in bits 0..11; bit 63 keeps the TLB. */
#define CR3_PCID_MASK 0xfffull
#define CR3_NOFLUSH (1ull << 63)

#define MSR_APIC_BASE 0x1b
#define MSR_EFER 0xc0000080
#define EFER_SCE X86_BIT(0) /* syscall/sysret */
#define EFER_LME X86_BIT(8)
#define EFER_NXE X86_BIT(11)
#define MSR_STAR 0xc0000081   /* syscall/sysret selectors */
#define MSR_LSTAR 0xc0000082  /* 64-bit syscall entry */
#define MSR_FMASK 0xc0000084  /* RFLAGS bits cleared on syscall */
#define STAR_KERNEL_SHIFT 32  /* syscall: CS = this, SS = this + 8 */
#define STAR_USER_SHIFT 48    /* sysret: SS = this + 8, CS = this + 16 */

#define CPUID_FEATURES 1
#define CPUID_1_ECX_PCID X86_BIT(17)
#define CPUID_1_ECX_HYPERVISOR X86_BIT(31)
#define CPUID_STRUCTURED 7
#define CPUID_7_EBX_SMEP X86_BIT(7)
#define CPUID_7_EBX_SMAP X86_BIT(20)
#define CPUID_7_ECX_UMIP X86_BIT(2)
#define CPUID_EXT_FEATURES 0x80000001u
#define CPUID_EXT_EDX_NX X86_BIT(20)
#define CPUID_EXT_EDX_PAGE1GB X86_BIT(26)

#define RFLAGS_CF X86_BIT(0)
#define RFLAGS_PF X86_BIT(2)
#define RFLAGS_AF X86_BIT(4)
#define RFLAGS_ZF X86_BIT(6)
#define RFLAGS_SF X86_BIT(7)
#define RFLAGS_TF X86_BIT(8)
#define RFLAGS_IF X86_BIT(9)
#define RFLAGS_DF X86_BIT(10)
#define RFLAGS_OF X86_BIT(11)
#define RFLAGS_NT X86_BIT(14)
#define RFLAGS_AC X86_BIT(18)
#define RFLAGS_FIXED X86_BIT(1) /* always reads as 1 */
/* What ring 3 may choose: the arithmetic flags, DF and AC. */
#define RFLAGS_USER_MASK                                                       \
	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF |           \
	 RFLAGS_DF | RFLAGS_OF | RFLAGS_AC)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(0));
	return r;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v),
			   "d"((uint32_t)(v >> 32)));
}

#define X86_READ_CR(n)                                                         \
	static inline uint64_t read_cr##n(void)                                \
	{                                                                      \
		uint64_t v;                                                    \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}
X86_READ_CR(0)
X86_READ_CR(2)
X86_READ_CR(3)
X86_READ_CR(4)
#undef X86_READ_CR

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline struct cpuid_regs cpuid_sub(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(sub));
	return r;
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}
#endif

#endif /* EXO_X86_H */
