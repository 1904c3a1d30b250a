/*
 * gdt.c: the kernel's GDT and TSS.  The TSS gives the double-fault handler
 * a stack of its own (IST) and will hold the ring-0 stack for envs; its
 * I/O bitmap offset points past the end, so ring 3 gets no port access.
 */
#include <stdint.h>

#include "cpu.h"
#include "layout.h"
#include "seg.h"

#define TSS_TYPE_AVAILABLE 0x89 /* present, DPL 0, 64-bit TSS (available) */

struct tss {
	uint32_t reserved0;
	uint64_t
	    rsp[3]; /* stack per privilege level, for entries from ring 3 */
	uint64_t reserved1;
	uint64_t ist[7]; /* interrupt stack table, slots 1..7 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct pseudo_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct tss tss;
static uint8_t df_stack[EXO_IST_STACK_SIZE] __attribute__((aligned(16)));

static uint64_t gdt[GDT_ENTRIES] = {
    [GDT_KCODE] = DESC_KCODE64,
    [GDT_KDATA] = DESC_KDATA,
    [GDT_UDATA] = DESC_UDATA,
    [GDT_UCODE] = DESC_UCODE64,
};

/* A 64-bit TSS descriptor takes two GDT slots. */
static void set_tss_desc(void)
{
	uint64_t base = (uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	gdt[GDT_TSS] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		       ((uint64_t)TSS_TYPE_AVAILABLE << 40) |
		       (((limit >> 16) & 0xf) << 48) |
		       (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS + 1] = base >> 32;
}

/* Reload CS with a far return, the data segments and the task register. */
static void load_segments(void)
{
	__asm__ volatile(
	    "pushq %[cs]\n\t"
	    "leaq 1f(%%rip), %%rax\n\t"
	    "pushq %%rax\n\t"
	    "lretq\n"
	    "1:\n\t"
	    "movl %[ds], %%eax\n\t"
	    "movl %%eax, %%ds\n\t"
	    "movl %%eax, %%es\n\t"
	    "movl %%eax, %%ss\n\t"
	    "ltr %w[tr]"
	    :
	    : [cs] "i"(SEL_KCODE), [ds] "i"(SEL_KDATA), [tr] "r"(SEL_TSS)
	    : "rax", "memory");
}

void gdt_init(void)
{
	struct pseudo_desc gdtr = {sizeof(gdt) - 1, (uintptr_t)gdt};

	tss.ist[IST_DOUBLE_FAULT - 1] =
	    (uintptr_t)(df_stack + sizeof(df_stack));
	tss.iomap_base = sizeof(tss);
	set_tss_desc();
	__asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
	load_segments();
}

void tss_set_rsp0(uint64_t rsp0)
{
	tss.rsp[0] = rsp0;
}
