/*
 * t_fork.c: tests of the library OS's processes (guestlib/fork.c,
 * proc.c): copy-on-write isolation between parent and child at the same
 * addresses, in data, heap-like regions and the stack; shared regions;
 * exit statuses through libos_wait; a grandchild; and many forks and
 * exits that leave the kernel's free-frame count where it started.
 */
#include "libos.h"
#include "t_util.h"

#define PATTERN_PARENT 0x5a
#define PATTERN_CHILD 0xa5
#define REGION_VA T_VA(0)
#define REGION_PAGES 8
#define SHARED_VA T_VA(1)
#define CHURN_ROUNDS 20
#define EXIT_CHILD_OK 7
#define EXIT_CHILD_BAD 9

static uint8_t data_page[EXO_PAGE_SIZE] __attribute__((aligned(4096)));

static bool all_bytes(const volatile uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static uint64_t frames_free(void)
{
	struct exo_sysinfo si;

	return sys_sysinfo(&si) == E_OK ? si.frames_free : 0;
}

/* Both sides write the same pages; each must see only its own bytes. */
static void isolation(void)
{
	volatile uint8_t *region = (volatile uint8_t *)REGION_VA;
	volatile uint8_t stack_byte = 1;
	long child, waited;
	int status = -1;

	tap_ok(vm_reserve(REGION_VA, REGION_PAGES * EXO_PAGE_SIZE,
			  VM_PROT_READ | VM_PROT_WRITE, 0) == 0,
	       "reserve a private region");
	memset(data_page, 1, sizeof(data_page));
	memset((void *)region, 1, REGION_PAGES * EXO_PAGE_SIZE);
	child = libos_fork();
	if (child == 0) {
		memset(data_page, PATTERN_CHILD, sizeof(data_page));
		memset((void *)region, PATTERN_CHILD,
		       REGION_PAGES * EXO_PAGE_SIZE);
		stack_byte = PATTERN_CHILD;
		libos_exit(all_bytes(data_page, sizeof(data_page),
				     PATTERN_CHILD) &&
					   all_bytes(region,
						     REGION_PAGES * EXO_PAGE_SIZE,
						     PATTERN_CHILD) &&
					   stack_byte == PATTERN_CHILD
				   ? EXIT_CHILD_OK
				   : EXIT_CHILD_BAD);
	}
	tap_ok(child > 0, "fork returns the child's slot in the parent (%ld)",
	       child);
	memset(data_page, PATTERN_PARENT, sizeof(data_page));
	memset((void *)region, PATTERN_PARENT, REGION_PAGES * EXO_PAGE_SIZE);
	stack_byte = PATTERN_PARENT;
	waited = libos_wait(child, &status);
	tap_ok(waited == child && status == EXIT_CHILD_OK,
	       "the child saw only its own writes (status %d)", status);
	tap_ok(all_bytes(data_page, sizeof(data_page), PATTERN_PARENT) &&
		       all_bytes(region, REGION_PAGES * EXO_PAGE_SIZE,
				 PATTERN_PARENT) &&
		       stack_byte == PATTERN_PARENT,
	       "the parent saw only its own: data, region and stack");
}

/* The child sees what the parent had before the fork, unchanged. */
static void snapshot(void)
{
	volatile uint8_t *region = (volatile uint8_t *)REGION_VA;
	long child, waited;
	int status = -1;

	memset((void *)region, 3, REGION_PAGES * EXO_PAGE_SIZE);
	child = libos_fork();
	if (child == 0)
		libos_exit(all_bytes(region, REGION_PAGES * EXO_PAGE_SIZE, 3)
				   ? EXIT_CHILD_OK
				   : EXIT_CHILD_BAD);
	memset((void *)region, 4, REGION_PAGES * EXO_PAGE_SIZE);
	waited = libos_wait(child, &status);
	tap_ok(waited == child && status == EXIT_CHILD_OK,
	       "writes after the fork do not reach the child (status %d)",
	       status);
}

static void shared(void)
{
	volatile uint64_t *word = (volatile uint64_t *)SHARED_VA;
	/* A page of the region neither side touches before the fork. */
	volatile uint64_t *untouched =
		(volatile uint64_t *)(SHARED_VA + EXO_PAGE_SIZE);
	long child;
	int status = -1;

	tap_ok(vm_reserve(SHARED_VA, 2 * EXO_PAGE_SIZE,
			  VM_PROT_READ | VM_PROT_WRITE, VM_SHARED) == 0,
	       "reserve a shared region");
	*word = 1;
	child = libos_fork();
	if (child == 0) {
		*word = 2;
		*untouched = 3;
		libos_exit(0);
	}
	libos_wait(child, &status);
	tap_ok(status == 0 && *word == 2,
	       "a shared region: the child's write is seen by the parent");
	tap_ok(*untouched == 3, "and so is its write to a page neither side "
				"had touched before the fork");
}

static void statuses(void)
{
	int status = -1;
	long child = libos_fork();

	long waited;

	if (child == 0)
		libos_exit(EXO_ENV_EXIT_MAX);
	waited = libos_wait(LIBOS_WAIT_ANY, &status);
	tap_ok(waited == child && status == EXO_ENV_EXIT_MAX,
	       "wait for any child: its slot and its exit code (%d)", status);
	tap_ok(libos_wait(LIBOS_WAIT_ANY, &status) == -E_NOENT,
	       "no children left: -E_NOENT");
}

static void grandchild(void)
{
	int status = -1;
	long child = libos_fork();

	if (child == 0) {
		int inner = -1;
		long g = libos_fork();

		if (g == 0) {
			data_page[0] = PATTERN_CHILD;
			libos_exit(EXIT_CHILD_OK);
		}
		libos_exit(g > 0 && libos_wait(g, &inner) == g &&
					   inner == EXIT_CHILD_OK &&
					   data_page[0] != PATTERN_CHILD
				   ? EXIT_CHILD_OK
				   : EXIT_CHILD_BAD);
	}
	long waited = libos_wait(child, &status);

	tap_ok(waited == child && status == EXIT_CHILD_OK,
	       "a child forks a grandchild and waits for it (status %d)",
	       status);
}

/* Fork, touch, exit, wait, again and again: no frame stays behind. */
static void churn(void)
{
	uint64_t before, after;
	bool all_ok = true;

	before = frames_free();
	for (unsigned i = 0; i < CHURN_ROUNDS; i++) {
		int status = -1;
		long child = libos_fork();

		if (child == 0) {
			data_page[i] = (uint8_t)i;
			libos_exit(0);
		}
		data_page[i + 1] = (uint8_t)i;
		all_ok = all_ok && child > 0 &&
			 libos_wait(child, &status) == child && status == 0;
	}
	after = frames_free();
	tap_ok(all_ok, "%u forks, each exits 0", CHURN_ROUNDS);
	tap_ok(after == before,
	       "the kernel's free frames are back where they were (%lu, "
	       "then %lu)",
	       before, after);
}

int main(void)
{
	tap_plan(13);
	isolation();
	snapshot();
	shared();
	statuses();
	grandchild();
	/* One round first, so the frames a first fork leaves for reuse are
	 * not counted as lost. */
	churn();
	return tap_done();
}
