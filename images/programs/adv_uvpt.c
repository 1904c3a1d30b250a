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
#include "libos.h"

#define KERNEL_TEXT 0xffffffff80100000ull
#define DIRECT_MAP 0xffff800000000000ull
#define SCRATCH_VA 0x20000000ull
#define SENTINEL (-1000)

#define T_PF 14
#define PF_P 0x1
#define PF_W 0x2
#define PF_U 0x4

/* ---- Probes (see adv_exec.c): 0 if done, 1 if it faulted. ---- */
volatile uint64_t probe_armed, probe_resume_rip, probe_resume_rsp;
static volatile struct {
	uint64_t n, trapno, error, addr, rip;
} fault;

#define PROBE(name, body)                                                      \
	__asm__(".text\n.globl " #name "\n.type " #name ", @function\n" #name \
		":\n"                                                          \
		"\tleaq 1f(%rip), %rax\n"                                      \
		"\tmovq %rax, probe_resume_rip(%rip)\n"                        \
		"\tmovq %rsp, probe_resume_rsp(%rip)\n"                        \
		"\tmovq $1, probe_armed(%rip)\n" body "\n"                     \
		"\tmovq $0, probe_armed(%rip)\n"                               \
		"\txorl %eax, %eax\n"                                          \
		"1:\tret\n");                                                   \
	long name(uint64_t a, uint64_t b)

PROBE(probe_write, "\tmovq %rsi, (%rdi)");
PROBE(probe_read, "\tmovq (%rdi), %rsi");

static void on_exception(struct exo_upcall_frame *f)
{
	fault.n++;
	fault.trapno = f->trapno;
	fault.error = f->error;
	fault.addr = f->addr;
	fault.rip = f->regs.rip;
	if (!probe_armed) {
		libos_printf("# unexpected exception %lu error 0x%lx at rip "
			     "0x%lx addr 0x%lx\n",
			     (unsigned long)f->trapno, (unsigned long)f->error,
			     (unsigned long)f->regs.rip,
			     (unsigned long)f->addr);
		libos_exit(3);
	}
	probe_armed = 0;
	f->regs.rip = probe_resume_rip;
	f->regs.rsp = probe_resume_rsp;
	f->regs.rax = 1;
}

/* A write of val to the table entry at p must fault and change nothing. */
static void no_write(const char *what, const volatile uint64_t *p,
		     uint64_t val)
{
	uint64_t before = *p, n0 = fault.n;
	long r = probe_write((uint64_t)p, val);

	tap_ok(r == 1 && fault.n == n0 + 1 && fault.trapno == T_PF &&
		   fault.addr == (uint64_t)p &&
		   (fault.error & (PF_P | PF_W | PF_U)) ==
			   (PF_P | PF_W | PF_U) &&
		   *p == before,
	       "write %s at 0x%lx: trap %lu error 0x%lx; entry still 0x%lx",
	       what, (unsigned long)(uint64_t)p, (unsigned long)fault.trapno,
	       (unsigned long)fault.error, (unsigned long)*p);
}

/*
 * A read of p must fault with a user-mode read #PF.  P is not judged:
 * this host's KVM reports it clear for the direct map's 1 GiB supervisor
 * pages and set for 4 KiB ones.
 */
static void no_read(const char *what, uint64_t p)
{
	uint64_t n0 = fault.n;
	long r = probe_read(p, 0);

	tap_ok(r == 1 && fault.n == n0 + 1 && fault.trapno == T_PF &&
		   fault.addr == p &&
		   (fault.error & (PF_W | PF_U)) == PF_U,
	       "read %s at 0x%lx: trap %lu error 0x%lx", what,
	       (unsigned long)p, (unsigned long)fault.trapno,
	       (unsigned long)fault.error);
}

/* Mapping (and unmapping) va must be refused with E_INVAL. */
static void no_map(const char *what, uint64_t va, long slot)
{
	struct exo_pte_op ops[2] = {
		{va, (uint32_t)slot, 0, EXO_MAP_READ | EXO_MAP_WRITE, SENTINEL},
		{va, 0, 0, 0, SENTINEL},
	};
	long r0 = sys_pte_set(EXO_SLOT_SELF, &ops[0], 1);
	long r1 = sys_pte_set(EXO_SLOT_SELF, &ops[1], 1);

	tap_ok(r0 == 0 && ops[0].result == -E_INVAL && r1 == 0 &&
		   ops[1].result == -E_INVAL,
	       "map and unmap %s (0x%lx): %d, %d (want -%d)", what,
	       (unsigned long)va, ops[0].result, ops[1].result, E_INVAL);
}

int main(void)
{
	const uint64_t va = 0x400000; /* its first code page */
	const volatile uint64_t *pte = EXO_UVPT_ENTRY(va, 1);
	const volatile uint64_t *self = EXO_UVPT_ENTRY(EXO_UVPT, 4);
	uint64_t pte0, uenv_pte0;
	struct exo_sysinfo info;
	long r, slot;

	tap_plan(29);
	r = libos_set_handler(EXO_UPCALL_EXCEPTION, on_exception);
	slot = sys_frame_alloc(EXO_FRAME_ANY, 1);
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
		 EXO_UVPT_ENTRY(KERNEL_TEXT, 4), 0);
	no_write("its uenv page's PTE", EXO_UVPT_ENTRY(EXO_UENV, 1),
		 uenv_pte0 & ~EXO_PTE_ADDR);
	/* The kernel half's tables are not user pages: the view hides them. */
	no_read("the kernel image's PDPT through the view",
		(uint64_t)EXO_UVPT_ENTRY(KERNEL_TEXT, 3));
	no_read("the direct map's PDPT through the view",
		(uint64_t)EXO_UVPT_ENTRY(DIRECT_MAP, 3));
	no_read("the kernel image", KERNEL_TEXT);
	no_read("the direct map", DIRECT_MAP + 0x100000);
	tap_ok(*pte == pte0 && *EXO_UVPT_ENTRY(EXO_UENV, 1) == uenv_pte0,
	       "its PTEs are as they were");

	/* SYS_PTE_SET maps only below EXO_USER_MAP_LIMIT. */
	no_map("the UVPT view", EXO_UVPT, slot);
	no_map("its PML4 through the view", (uint64_t)self & ~0xfffull, slot);
	no_map("its uenv page", EXO_UENV, slot);
	no_map("EXO_USER_MAP_LIMIT", EXO_USER_MAP_LIMIT, slot);
	no_map("the page below the uenv", EXO_UENV - EXO_PAGE_SIZE, slot);
	no_map("the top of the user half", 0x00007ffffffff000ull, slot);
	no_map("the kernel image", KERNEL_TEXT, slot);
	no_map("the direct map", DIRECT_MAP, slot);
	no_map("the top page", 0xfffffffffffff000ull, slot);
	no_map("a non-canonical address", 0x0000800000000000ull, slot);
	no_map("another non-canonical address", 0x8000000000000000ull, slot);
	tap_ok(*EXO_UVPT_ENTRY(EXO_UENV, 1) == uenv_pte0 &&
		   *(volatile uint32_t *)&libos_uenv->id == libos_uenv->id &&
		   sys_sysinfo(&info) == 0 && info.self == libos_uenv->id,
	       "its uenv page is still the kernel's, and the kernel answers");
	/* The control: the last page below the limit is its to map. */
	{
		struct exo_pte_op op = {EXO_USER_MAP_LIMIT - EXO_PAGE_SIZE,
					(uint32_t)slot, 0,
					EXO_MAP_READ | EXO_MAP_WRITE, SENTINEL};

		r = sys_pte_set(EXO_SLOT_SELF, &op, 1);
		tap_ok(r == 1 && op.result == 0,
		       "control: the page just below the limit maps: %ld, %d",
		       r, op.result);
	}
	tap_ok(fault.n == 12, "%lu exceptions, one per probe",
	       (unsigned long)fault.n);

	/* Now with no handler: the kernel must end it. */
	libos_set_handler(EXO_UPCALL_EXCEPTION, NULL);
	tap_diag("writing its PTE with no handler");
	*(volatile uint64_t *)pte = pte0 | EXO_PTE_WRITABLE;
	tap_diag("still alive after writing its PTE");
	return 1;
}
