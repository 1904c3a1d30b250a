/*
 * adv_uvpt.c: an adversary that goes after its own page tables and the
 * kernel's part of its address space.  Owned by the adversarial boot
 * tests (tests/boot/adversarial.sh), which run it as `run=adv_uvpt,good`.
 *
 * With an exception handler installed it writes to its own PTE, PD, PDPT
 * and PML4 entries through the read-only UVPT view (each must fault with
 * a protection #PF and change nothing), reads the kernel half's tables
 * through the view and kernel memory directly (both must fault), and asks
 * SYS_PTE_SET to map, and to unmap, the UVPT range, its uenv page, the
 * range between EXO_USER_MAP_LIMIT and the UVPT, kernel addresses and
 * non-canonical ones (each must be refused with E_INVAL).  Last, with the
 * handler removed, it writes its PTE again: the kernel must kill it
 * ("killed: exception 14 error 0x7 ... and no handler").
 */
#include "t_util.h"

/* ---- Probes (T_PROBE, t_util.h): 1 if they faulted, else 0 ---- */
T_PROBE(probe_write, "\tmovq %rsi, (%rdi)");
T_PROBE(probe_read, "\tmovq (%rdi), %rsi");

/* A write of val to the table entry at p must fault and change nothing. */
static void no_write(const char *what, const volatile uint64_t *p,
		     uint64_t val)
{
	uint64_t before = *p, n0 = t_fault.count;
	long r = probe_write((uint64_t)p, val);

	tap_ok(r == 1 && t_fault.count == n0 + 1 &&
		   t_fault.trapno == T_VEC_PF && t_fault.addr == (uint64_t)p &&
		   (t_fault.error & (T_PF_PRESENT | T_PF_WRITE | T_PF_USER)) ==
		       (T_PF_PRESENT | T_PF_WRITE | T_PF_USER) &&
		   *p == before,
	       "write %s at 0x%lx: trap %lu error 0x%lx; entry still 0x%lx",
	       what, (unsigned long)(uint64_t)p, (unsigned long)t_fault.trapno,
	       (unsigned long)t_fault.error, (unsigned long)*p);
}

/*
 * A read of p must fault with a user-mode read #PF.  P is not judged:
 * this host's KVM reports it clear for the direct map's 1 GiB supervisor
 * pages and set for 4 KiB ones.
 */
static void no_read(const char *what, uint64_t p)
{
	uint64_t n0 = t_fault.count;
	long r = probe_read(p, 0);

	tap_ok(r == 1 && t_fault.count == n0 + 1 &&
		   t_fault.trapno == T_VEC_PF && t_fault.addr == p &&
		   (t_fault.error & (T_PF_WRITE | T_PF_USER)) == T_PF_USER,
	       "read %s at 0x%lx: trap %lu error 0x%lx", what, (unsigned long)p,
	       (unsigned long)t_fault.trapno, (unsigned long)t_fault.error);
}

/* Mapping (and unmapping) va must be refused with E_INVAL. */
static void no_map(const char *what, uint64_t va, long slot)
{
	long r0, r1;
	int32_t map = t_pte_set1(EXO_SLOT_SELF, va, (uint32_t)slot, 0,
				 EXO_MAP_READ | EXO_MAP_WRITE, &r0);
	int32_t unmap = t_pte_set1(EXO_SLOT_SELF, va, 0, 0, 0, &r1);

	tap_ok(r0 == 0 && map == -E_INVAL && r1 == 0 && unmap == -E_INVAL,
	       "map and unmap %s (0x%lx): %d, %d (want -%d)", what,
	       (unsigned long)va, map, unmap, E_INVAL);
}

int main(void)
{
	const uint64_t va = 0x400000; /* its first code page */
	const volatile uint64_t *pte = EXO_UVPT_ENTRY(va, 1);
	const volatile uint64_t *self = EXO_UVPT_ENTRY(EXO_UVPT, 4);
	uint64_t pte0, uenv_pte0;
	struct exo_sysinfo info;
	int32_t res;
	long r, slot;

	tap_plan(29);
	r = libos_set_handler(EXO_UPCALL_EXCEPTION, t_on_probe_fault);
	slot = sys_frame_alloc(EXO_FRAME_ANY, 1, 0);
	tap_ok(r == 0 && slot > 0, "handler installed, a frame in slot %ld",
	       slot);
	pte0 = *pte;
	uenv_pte0 = *EXO_UVPT_ENTRY(EXO_UENV, 1);
	tap_ok((pte0 & EXO_PTE_PRESENT) && !(pte0 & EXO_PTE_WRITABLE),
	       "the UVPT view shows its code page: pte 0x%lx",
	       (unsigned long)pte0);

	/* Its own tables are read-only to it, at every level. */
	no_write("its code page's PTE, made writable", pte,
		 pte0 | EXO_PTE_WRITABLE);
	no_write("its code page's PTE, pointed at frame 0", pte,
		 (pte0 & ~EXO_PTE_ADDR));
	no_write("its PD entry", EXO_UVPT_ENTRY(va, 2), 0);
	no_write("its PDPT entry", EXO_UVPT_ENTRY(va, 3), 0);
	no_write("its PML4 entry", EXO_UVPT_ENTRY(va, 4), 0);
	no_write("the PML4's self entry", self, *self | EXO_PTE_WRITABLE);
	no_write("a kernel PML4 entry (copied into its PML4)",
		 EXO_UVPT_ENTRY(T_KERNEL_TEXT_VA, 4), 0);
	no_write("its uenv page's PTE", EXO_UVPT_ENTRY(EXO_UENV, 1),
		 uenv_pte0 & ~EXO_PTE_ADDR);
	/* The kernel half's tables are not user pages: the view hides them. */
	no_read("the kernel image's PDPT through the view",
		(uint64_t)EXO_UVPT_ENTRY(T_KERNEL_TEXT_VA, 3));
	no_read("the direct map's PDPT through the view",
		(uint64_t)EXO_UVPT_ENTRY(T_DIRECT_MAP_VA, 3));
	no_read("the kernel image", T_KERNEL_TEXT_VA);
	no_read("the direct map", T_DIRECT_MAP_VA + 0x100000);
	tap_ok(*pte == pte0 && *EXO_UVPT_ENTRY(EXO_UENV, 1) == uenv_pte0,
	       "its PTEs are as they were");

	/* SYS_PTE_SET maps only below EXO_USER_MAP_LIMIT. */
	no_map("the UVPT view", EXO_UVPT, slot);
	no_map("its PML4 through the view", (uint64_t)self & ~0xfffull, slot);
	no_map("its uenv page", EXO_UENV, slot);
	no_map("EXO_USER_MAP_LIMIT", EXO_USER_MAP_LIMIT, slot);
	no_map("the page below the uenv", EXO_UENV - EXO_PAGE_SIZE, slot);
	no_map("the top of the user half", 0x00007ffffffff000ull, slot);
	no_map("the kernel image", T_KERNEL_TEXT_VA, slot);
	no_map("the direct map", T_DIRECT_MAP_VA, slot);
	no_map("the top page", 0xfffffffffffff000ull, slot);
	no_map("a non-canonical address", 0x0000800000000000ull, slot);
	no_map("another non-canonical address", 0x8000000000000000ull, slot);
	tap_ok(*EXO_UVPT_ENTRY(EXO_UENV, 1) == uenv_pte0 &&
		   *(volatile uint32_t *)&libos_uenv->id == libos_uenv->id &&
		   sys_sysinfo(&info) == 0 && info.self == libos_uenv->id,
	       "its uenv page is still the kernel's, and the kernel answers");
	/* The control: the last page below the limit is its to map. */
	res = t_pte_set1(EXO_SLOT_SELF, EXO_USER_MAP_LIMIT - EXO_PAGE_SIZE,
			 (uint32_t)slot, 0, EXO_MAP_READ | EXO_MAP_WRITE, &r);
	tap_ok(r == 1 && res == 0,
	       "control: the page just below the limit maps: %ld, %d", r, res);
	tap_ok(t_fault.count == 12, "%lu exceptions, one per probe",
	       (unsigned long)t_fault.count);

	/* Now with no handler: the kernel must end it. */
	libos_set_handler(EXO_UPCALL_EXCEPTION, NULL);
	tap_diag("writing its PTE with no handler");
	*(volatile uint64_t *)pte = pte0 | EXO_PTE_WRITABLE;
	tap_diag("still alive after writing its PTE");
	return 1;
}
