/*
 * x86_mmu.c: the 4-level page walk of x86_mmu.h, with the permission
 * rules of SDM vol. 3, 4.6: write protection under CR0.WP, user pages
 * and SMEP/SMAP for supervisor accesses, NX under EFER.NXE.
 */
#include <string.h>

#include "x86_mmu.h"

#define LEVELS 4
#define INDEX_BITS 9
#define INDEX_MASK ((1u << INDEX_BITS) - 1)
#define PAGE_SHIFT 12
#define LEVEL_SHIFT(level) (PAGE_SHIFT + INDEX_BITS * (level)) /* level 0 = PT */
#define LARGE_PAGE_LEVEL_MAX 2 /* 1 GiB pages at the PDPT, 2 MiB at the PD */

/* What the entries on the way allow, ANDed (W, U) or ORed (NX). */
struct rights {
	bool write, user, nx;
};

/* Does the access break the rights the entries on the way give? */
static bool forbidden(const struct x86_paging *pg, const struct rights *r, unsigned access)
{
	bool user = access & X86_USER;

	if ((access & X86_FETCH) && r->nx && (pg->efer & X86_EFER_NXE))
		return true;
	if (user)
		return !r->user || ((access & X86_WRITE) && !r->write);
	if ((access & X86_WRITE) && !r->write && (pg->cr0 & X86_CR0_WP))
		return true;
	if (!r->user)
		return false;
	if (access & X86_FETCH)
		return pg->cr4 & X86_CR4_SMEP;
	/* A supervisor data access to a user page: SMAP, unless RFLAGS.AC
	 * allows an explicit one. */
	return (pg->cr4 & X86_CR4_SMAP) &&
	       ((access & X86_IMPLICIT) || !(pg->rflags & X86_RFLAGS_AC));
}

static uint32_t error_code(const struct x86_paging *pg, unsigned access, uint32_t cause)
{
	uint32_t e = cause;

	if (access & X86_WRITE)
		e |= X86_PF_W;
	if (access & X86_USER)
		e |= X86_PF_U;
	if ((access & X86_FETCH) && (pg->efer & X86_EFER_NXE || pg->cr4 & X86_CR4_SMEP))
		e |= X86_PF_I;
	return e;
}

bool x86_translate(const struct x86_phys *mem, const struct x86_paging *pg, uint64_t va,
		   unsigned access, uint64_t *gpa, uint32_t *pf_error)
{
	struct rights r = {.write = true, .user = true, .nx = false};
	uint64_t *entry[LEVELS];
	uint64_t table = pg->cr3 & X86_CR3_ADDR, e = 0;
	int level, used = 0;

	for (level = LEVELS - 1; level >= 0; level--) {
		unsigned index = (va >> LEVEL_SHIFT(level)) & INDEX_MASK;
		uint64_t *p = mem->at(mem->ctx, table + index * sizeof(uint64_t), sizeof(uint64_t));

		if (!p) {
			*pf_error = error_code(pg, access, X86_PF_RSVD | X86_PF_P);
			return false;
		}
		e = *p;
		if (!(e & X86_PTE_P)) {
			*pf_error = error_code(pg, access, 0);
			return false;
		}
		if ((e & X86_PTE_NX) && !(pg->efer & X86_EFER_NXE)) {
			*pf_error = error_code(pg, access, X86_PF_RSVD | X86_PF_P);
			return false;
		}
		entry[used++] = p;
		r.write &= !!(e & X86_PTE_W);
		r.user &= !!(e & X86_PTE_U);
		r.nx |= !!(e & X86_PTE_NX);
		if (level == 0 || (level <= LARGE_PAGE_LEVEL_MAX && (e & X86_PTE_PS)))
			break;
		table = e & X86_PTE_ADDR;
	}
	if (forbidden(pg, &r, access)) {
		*pf_error = error_code(pg, access, X86_PF_P);
		return false;
	}
	for (int i = 0; i < used; i++)
		*entry[i] |= X86_PTE_A;
	if (access & X86_WRITE)
		*entry[used - 1] |= X86_PTE_D;
	{
		uint64_t page_mask = (1ull << LEVEL_SHIFT(level)) - 1;

		*gpa = ((e & X86_PTE_ADDR) & ~page_mask) | (va & page_mask);
	}
	return true;
}

bool x86_linear_copy(const struct x86_phys *mem, const struct x86_paging *pg, uint64_t va,
		     void *buf, size_t len, unsigned access, uint64_t *fault_va,
		     uint32_t *pf_error)
{
	/* Two pieces at most: callers copy less than a page. */
	uint64_t gpa[2];
	void *host[2];
	size_t first = X86_PAGE_SIZE - (va & (X86_PAGE_SIZE - 1)), part[2];
	int pieces = len > first ? 2 : 1;
	uint8_t *b = buf;

	part[0] = pieces == 2 ? first : len;
	part[1] = len - part[0];
	for (int i = 0; i < pieces; i++) {
		uint64_t at = va + (i ? part[0] : 0);

		if (!x86_translate(mem, pg, at, access, &gpa[i], pf_error)) {
			*fault_va = at;
			return false;
		}
	}
	for (int i = 0; i < pieces; i++) {
		host[i] = mem->at(mem->ctx, gpa[i], part[i]);
		if (!host[i]) {
			*fault_va = va + (i ? part[0] : 0);
			*pf_error = error_code(pg, access, X86_PF_RSVD | X86_PF_P);
			return false;
		}
	}
	for (int i = 0; i < pieces; i++) {
		if (access & X86_WRITE)
			memcpy(host[i], b, part[i]);
		else
			memcpy(b, host[i], part[i]);
		b += part[i];
	}
	return true;
}
