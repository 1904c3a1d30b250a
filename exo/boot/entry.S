/*
 * entry.S: the PVH entry, from 32-bit protected mode to exo_main().
 *
 * The loader (exovmm, or QEMU's PVH firmware) jumps to pvh_start32 with
 * paging off, flat 32-bit segments and %ebx = physical address of struct
 * pvh_start_info.  The image is linked at EXO_KERNBASE + physical, so until
 * paging is on every address used here is "symbol - EXO_KERNBASE".  The
 * boot page tables are built statically: they identity-map the low 4 GiB
 * (for the instructions that enable paging), map the same 4 GiB at the
 * direct map, and the first GiB at the kernel window, all with 2 MiB pages.
 * pmap.c replaces them with the final tables.
 */
#include "boot.h"
#include "layout.h"
#include "mmu.h"
#include "seg.h"
#include "x86.h"

#define PA(sym) ((sym) - EXO_KERNBASE)
#define BOOT_TABLE_FLAGS (PTE_P | PTE_W)
#define BOOT_PD_COUNT (EXO_DIRECT_MAP_SIZE >> PT_SHIFT(3))

/* The PVH note (owner PVH_NOTE_OWNER "Xen"): the physical entry. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen" and its NUL */
	.long 4				/* descsz: a 32-bit address */
	.long BOOT_PVH_NOTE_TYPE
	.asciz "Xen"
	.long PA(pvh_start32)

/* For kernel.ld, which places the image with these values. */
	.globl exo_ld_kernbase, exo_ld_load_paddr, exo_ld_window_size
	.set exo_ld_kernbase, EXO_KERNBASE
	.set exo_ld_load_paddr, EXO_KERN_LOAD_PADDR
	.set exo_ld_window_size, EXO_KERN_WINDOW_SIZE

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	lgdt PA(boot_gdtr)
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PA(boot_pml4), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_KCODE, $PA(start64_low)

	.code64
start64_low:
	/* Still running at the identity address: jump to the kernel window. */
	movabsq $start64, %rax
	jmp *%rax

	.text
start64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl %ebx, %edi		/* zero-extends the start info address */
	call exo_main		/* does not return */

	.section .rodata
	.balign 8
boot_gdt:
	.quad 0
	.quad DESC_KCODE64
	.quad DESC_KDATA
boot_gdt_end:
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.quad PA(boot_gdt)

	.data
	.balign PAGE_SIZE
	.globl boot_pml4
boot_pml4:
	.quad PA(boot_pdpt_low) + BOOT_TABLE_FLAGS
	.org boot_pml4 + 8 * EXO_DIRECT_MAP_PML4_INDEX
	.quad PA(boot_pdpt_low) + BOOT_TABLE_FLAGS
	.org boot_pml4 + 8 * EXO_KERN_PML4_INDEX
	.quad PA(boot_pdpt_kern) + BOOT_TABLE_FLAGS

/* Low 4 GiB: shared by the identity view and the direct map. */
	.balign PAGE_SIZE
boot_pdpt_low:
	.set i, 0
	.rept BOOT_PD_COUNT
	.quad PA(boot_pd) + i * PAGE_SIZE + BOOT_TABLE_FLAGS
	.set i, i + 1
	.endr
	.org boot_pdpt_low + PAGE_SIZE

boot_pdpt_kern:
	.org boot_pdpt_kern + 8 * EXO_KERN_PDPT_INDEX
	.quad PA(boot_pd) + BOOT_TABLE_FLAGS
	.org boot_pdpt_kern + PAGE_SIZE

boot_pd:
	.set i, 0
	.rept BOOT_PD_COUNT * PT_ENTRIES
	.quad (i << LARGE_PAGE_SHIFT) + PTE_PS + BOOT_TABLE_FLAGS
	.set i, i + 1
	.endr

	.bss
	.balign PAGE_SIZE
boot_stack:
	.skip EXO_BOOT_STACK_SIZE
	.globl boot_stack_top	/* the kernel stack, for good (cpu.c) */
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
