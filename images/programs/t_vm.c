/*
 * t_vm.c: tests of the library OS's virtual-memory layer
 * (guestlib/vm.c): demand-zero regions, bad arguments, protection
 * changes with the application's fault handler (a write barrier, as the
 * Appel-Li uses have), the accessed and dirty bits read
 * through the page-table view, and release giving frames back, however
 * many pages.
 */
#include "libos.h"
#include "t_util.h"

#define REGION_VA T_VA(0)
#define REGION_PAGES 16
#define OUTSIDE_VA T_VA(1) /* in no region */
#define BIG_VA T_VA(2)
#define BIG_PAGES 200 /* three batches of unmaps, and part of a fourth */
#define PAGE(i) (REGION_VA + (uint64_t)(i)*EXO_PAGE_SIZE)
#define RW (VM_PROT_READ | VM_PROT_WRITE)

static volatile uint64_t barrier_hits, barrier_addr;

/* A write barrier: note the page, make it writable, let the write go on. */
static bool barrier(uint64_t addr, bool write, struct exo_upcall_frame *f)
{
	(void)f;
	if (!write)
		return false;
	barrier_hits++;
	barrier_addr = addr;
	return vm_protect(addr & ~(EXO_PAGE_SIZE - 1), EXO_PAGE_SIZE, RW) == 0;
}

static void demand_zero(void)
{
	struct vm_stats before, after;
	volatile uint64_t *p = (volatile uint64_t *)PAGE(3);

	tap_ok(vm_reserve(REGION_VA, REGION_PAGES * EXO_PAGE_SIZE, RW, 0) == 0,
	       "reserve %u pages", REGION_PAGES);
	tap_ok(vm_reserve(REGION_VA + EXO_PAGE_SIZE, EXO_PAGE_SIZE, RW, 0) ==
		       -E_BUSY &&
		       vm_reserve(REGION_VA + 1, EXO_PAGE_SIZE, RW, 0) == -E_INVAL &&
		       vm_reserve(EXO_USER_MAP_LIMIT, EXO_PAGE_SIZE, RW, 0) ==
			       -E_INVAL,
	       "overlapping, unaligned and out-of-range reservations refused");
	tap_ok(!vm_mapped(PAGE(3)), "nothing mapped before a touch");
	vm_get_stats(&before);
	tap_ok(*p == 0, "a touched page reads zero");
	*p = 42;
	vm_get_stats(&after);
	tap_ok(vm_mapped(PAGE(3)) && !vm_mapped(PAGE(4)) &&
		       after.zero_fills == before.zero_fills + 1,
	       "only that page got a frame (%lu zero fills)",
	       after.zero_fills - before.zero_fills);
	tap_ok(vm_populate(PAGE(8), 4 * EXO_PAGE_SIZE) == 0 &&
		       vm_mapped(PAGE(8)) && vm_mapped(PAGE(11)),
	       "populate maps pages at once");
}

static void bits(void)
{
	volatile uint64_t *p = (volatile uint64_t *)PAGE(5);
	uint64_t v;

	vm_populate(PAGE(5), EXO_PAGE_SIZE);
	tap_ok(vm_clear_bits(PAGE(5), EXO_PAGE_SIZE) == 0 &&
		       !vm_dirty(PAGE(5)) && !vm_accessed(PAGE(5)),
	       "bits cleared");
	v = *p;
	tap_ok(vm_accessed(PAGE(5)) && !vm_dirty(PAGE(5)),
	       "a read sets accessed only (read %lu)", v);
	*p = v + 1;
	tap_ok(vm_dirty(PAGE(5)), "a write sets dirty");
}

static void protection(void)
{
	volatile uint64_t *p = (volatile uint64_t *)PAGE(3);

	vm_set_fault_handler(barrier);
	tap_ok(vm_protect(PAGE(2), 4 * EXO_PAGE_SIZE, VM_PROT_READ) == 0,
	       "protect 4 pages read-only");
	tap_ok(*p == 42 && barrier_hits == 0, "they still read");
	*p = 43;
	tap_ok(barrier_hits == 1 && barrier_addr == PAGE(3) && *p == 43,
	       "a write faults to the application's handler, which lets it "
	       "through (%lu hits)",
	       (unsigned long)barrier_hits);
	*(volatile uint64_t *)PAGE(4) = 1;
	tap_ok(barrier_hits == 2, "each protected page traps once");
	tap_ok(vm_protect(PAGE(3), EXO_PAGE_SIZE, VM_PROT_NONE) == -E_INVAL &&
		       vm_mapped(PAGE(3)),
	       "PROT_NONE over a mapped page is refused");
	tap_ok(vm_protect(OUTSIDE_VA, EXO_PAGE_SIZE, RW) == -E_INVAL,
	       "protecting memory outside any region: -E_INVAL");
	vm_set_fault_handler(NULL);
}

static void release(void)
{
	struct vm_stats before, after;

	vm_get_stats(&before);
	tap_ok(vm_release(REGION_VA, REGION_PAGES * EXO_PAGE_SIZE) == 0 &&
		       !vm_mapped(PAGE(3)) && !vm_mapped(PAGE(8)),
	       "release unmaps the region");
	vm_get_stats(&after);
	tap_ok(after.pages_mapped < before.pages_mapped,
	       "and lets its frames go (%lu mapped, then %lu)",
	       before.pages_mapped, after.pages_mapped);
	tap_ok(vm_reserve(REGION_VA, EXO_PAGE_SIZE, RW, 0) == 0 &&
		       *(volatile uint64_t *)REGION_VA == 0,
	       "the range can be reserved again, and reads zero");
}

/*
 * A region of more pages than one batch of unmaps holds: a batch that
 * fills is flushed at once, and each page's frame must still be let go
 * (once, one page in every batch stayed held).
 */
static void release_batches(void)
{
	struct vm_stats before, populated, after;

	vm_get_stats(&before);
	tap_ok(vm_reserve(BIG_VA, BIG_PAGES * EXO_PAGE_SIZE, RW, 0) == 0 &&
		       vm_populate(BIG_VA, BIG_PAGES * EXO_PAGE_SIZE) == 0,
	       "reserve and populate %u pages", BIG_PAGES);
	vm_get_stats(&populated);
	tap_ok(vm_release(BIG_VA, BIG_PAGES * EXO_PAGE_SIZE) == 0,
	       "release them");
	vm_get_stats(&after);
	tap_ok(populated.pages_mapped == before.pages_mapped + BIG_PAGES &&
		       after.pages_mapped == before.pages_mapped,
	       "every frame is let go (%lu mapped, %lu, then %lu)",
	       before.pages_mapped, populated.pages_mapped,
	       after.pages_mapped);
}

int main(void)
{
	tap_plan(21);
	demand_zero();
	bits();
	protection();
	release();
	release_batches();
	return tap_done();
}
