/*
 * x86_mmu.h: the guest's 4-level page walk, done by exovmm for the
 * accesses an emulating backend makes on the CPU's behalf (reading the
 * IDT, GDT and TSS, pushing an exception frame).  Portable C over a
 * guest-physical memory callback, so it is unit-tested on the host.
 */
#ifndef VMM_X86_MMU_H
#define VMM_X86_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define X86_PTE_P (1ull << 0)
#define X86_PTE_W (1ull << 1)
#define X86_PTE_U (1ull << 2)
#define X86_PTE_A (1ull << 5)
#define X86_PTE_D (1ull << 6)
#define X86_PTE_PS (1ull << 7)
#define X86_PTE_NX (1ull << 63)
#define X86_PTE_ADDR 0x000ffffffffff000ull

/* #PF error code bits. */
#define X86_PF_P (1u << 0)
#define X86_PF_W (1u << 1)
#define X86_PF_U (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I (1u << 4)

#define X86_CR0_WP (1ull << 16)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_EFER_NXE (1ull << 11)
#define X86_RFLAGS_AC (1ull << 18)
#define X86_CR3_ADDR X86_PTE_ADDR
#define X86_PAGE_SIZE 4096u

/* The guest's physical memory: a host pointer to [gpa, gpa + len), or NULL. */
struct x86_phys {
	void *(*at)(void *ctx, uint64_t gpa, size_t len);
	void *ctx;
};

/* The paging state a walk depends on. */
struct x86_paging {
	uint64_t cr0, cr3, cr4, efer, rflags;
};

enum x86_access {
	X86_READ = 0,
	X86_WRITE = 1 << 0,
	X86_FETCH = 1 << 1,
	X86_USER = 1 << 2, /* made at CPL 3 (not an implicit supervisor access) */
	X86_IMPLICIT = 1 << 3, /* a supervisor access made by the CPU itself */
};

/*
 * Translate linear address va for access; set the accessed (and, for a
 * write, dirty) bits as the CPU does.  Returns true and *gpa, or false
 * with the #PF error code in *pf_error (the caller raises #PF with CR2 =
 * va).  A table outside guest memory is reported as a reserved-bit fault.
 */
bool x86_translate(const struct x86_phys *mem, const struct x86_paging *pg, uint64_t va,
		   unsigned access, uint64_t *gpa, uint32_t *pf_error);

/*
 * Copy len bytes between buf and linear address va (write: buf to guest).
 * On a fault returns false with *fault_va and *pf_error; nothing is
 * written unless every page of the range translates.
 */
bool x86_linear_copy(const struct x86_phys *mem, const struct x86_paging *pg, uint64_t va,
		     void *buf, size_t len, unsigned access, uint64_t *fault_va,
		     uint32_t *pf_error);

#endif /* VMM_X86_MMU_H */
