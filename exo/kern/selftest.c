/*
 * selftest.c: the kernel's self-tests (test=boot), printed as TAP.  Each
 * checks one mechanism the boot set up, in a way that fails when that
 * mechanism is broken.
 */
#include <stdint.h>
#include <string.h>

#include "boot.h"
#include "cmdline.h"
#include "cpio.h"
#include "fault.h"
#include "hv.h"
#include "initrd.h"
#include "layout.h"
#include "mmu.h"
#include "pmap.h"
#include "printf.h"
#include "selftest.h"
#include "timer.h"
#include "trap.h"
#include "x86.h"

#define US_PER_MS 1000u
#define TICKS_TO_SEE 3
/* Give the ticks ten times their due, plus slack for a busy host. */
#define TICK_WAIT_PERIODS (10 * TICKS_TO_SEE)
#define TICK_WAIT_SLACK_US 500000u
#define TSC_READS 1000
#define FMT_BUF 64

enum result { FAIL, PASS, SKIP };

struct check {
	const char *what;
	enum result (*run)(void);
};

static unsigned tap_count, tap_failed;
static const char *skip_reason;

static enum result pass_if(int cond)
{
	return cond ? PASS : FAIL;
}

static void tap(enum result r, const char *fmt, ...) EXO_PRINTF(2, 3);

static void tap(enum result r, const char *fmt, ...)
{
	va_list ap;

	kprintf("%sok %u - ", r == FAIL ? "not " : "", ++tap_count);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	if (r == SKIP)
		kprintf(" # SKIP %s", skip_reason);
	kprintf("\n");
	tap_failed += r == FAIL;
}

static enum result check_start_info(void)
{
	const struct pvh_start_info *si = boot_info.start;

	return pass_if(si->magic == PVH_START_MAGIC &&
		       si->version >= PVH_START_VERSION &&
		       (si->nr_modules == 0 || si->modlist_paddr != 0));
}

static enum result check_memmap(void)
{
	return pass_if(boot_info.memmap_entries > 0 && boot_info.ram_bytes > 0);
}

static enum result check_image_in_ram(void)
{
	return pass_if(boot_ram_contains(KERN_V2P(_kernel_start),
					 _kernel_end - _kernel_start));
}

static int parses(const char *s, struct cmdline *cl)
{
	char err[CMDLINE_ERR_MAX];

	return cmdline_parse(s, cl, err, sizeof(err));
}

static enum result check_cmdline(void)
{
	static const char *const bad[] = {
	    "tick=0ms", "tick=2s",  "tick=10", "tick=ms", "tick=10ks",
	    "test=no",	"fault=nm", "bogus=1", "tick",	  "=1",
	};
	struct cmdline cl;
	int ok = parses(boot_info.cmdline, &cl) && cl.test_boot &&
		 parses("", &cl) && cl.tick_us == TIMER_TICK_DEFAULT_US &&
		 !cl.test_boot && !cl.fault &&
		 parses("  tick=250us  fault=pf ", &cl) && cl.tick_us == 250 &&
		 cl.fault && cl.fault->vector == T_PF &&
		 parses("tick=1s", &cl) && cl.tick_us == TIMER_TICK_MAX_US;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok = ok && !parses(bad[i], &cl);
	return pass_if(ok);
}

static enum result check_initrd(void)
{
	size_t entries, offset;

	if (!boot_info.initrd) {
		skip_reason = "no initrd";
		return SKIP;
	}
	return pass_if(initrd_scan(boot_info.initrd, boot_info.initrd_size,
				   &entries, &offset) == CPIO_END);
}

/* Raise f with the test hook armed; the handler must see it where it is. */
static enum result check_fault(const struct exo_fault *f)
{
	struct trap_hit hit;

	trap_expect(f->vector, (uintptr_t)f->resume_at);
	f->raise();
	if (!trap_take_hit(&hit))
		return FAIL;
	return pass_if(hit.vector == f->vector &&
		       hit.rip == (uintptr_t)fault_reported_rip(f) &&
		       (f->vector != T_PF || hit.cr2 == FAULT_PF_ADDR));
}

/* A pause loop, not hlt: a dead timer must fail the test, not hang it. */
static enum result check_ticks(void)
{
	uint64_t wait_us =
	    (uint64_t)timer.period_us * TICK_WAIT_PERIODS + TICK_WAIT_SLACK_US;
	uint64_t budget = timer.tsc_khz * wait_us / US_PER_MS;
	uint64_t want = timer_ticks + TICKS_TO_SEE, t0 = rdtsc();

	if (!(read_rflags() & RFLAGS_IF))
		return FAIL;
	while (timer_ticks < want && rdtsc() - t0 < budget)
		cpu_relax();
	return pass_if(timer_ticks >= want);
}

static enum result check_tsc(void)
{
	uint64_t first = rdtsc(), prev = first;

	for (int i = 0; i < TSC_READS; i++) {
		uint64_t now = rdtsc();

		if (now < prev)
			return FAIL;
		prev = now;
	}
	return pass_if(prev > first);
}

static int formats(const char *want, const char *fmt, ...) EXO_PRINTF(2, 3);

static int formats(const char *want, const char *fmt, ...)
{
	char buf[FMT_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return n == (int)strlen(want) && !strcmp(buf, want);
}

static enum result check_printf(void)
{
	char small[4];

	return pass_if(
	    formats("-42 4000000000 beef BEEF", "%d %u %x %X", -42, 4000000000u,
		    0xbeef, 0xbeef) &&
	    formats("[   42][42   ][00042][-0042]", "[%5d][%-5d][%05d][%05d]",
		    42, 42, 42, -42) &&
	    formats("[abc][  abc][abc  ][ab]", "[%s][%5s][%-5s][%.2s]", "abc",
		    "abc", "abc", "abc") &&
	    formats("0x00000000deadbeef", "%p", (void *)0xdeadbeef) &&
	    formats("-9223372036854775808 ffffffff80000000 100%",
		    "%ld %lx %d%%", INT64_MIN, EXO_KERNBASE, 100) &&
	    formats("x", "%c", 'x') &&
	    fmt_snprintf(small, sizeof(small), "%s", "abcdef") == 6 &&
	    !strcmp(small, "abc"));
}

/*
 * Read the start-info page through the boot tables' identity view, then
 * through the final tables' direct map: the same frame, so the same bytes.
 */
static enum result check_direct_map(void)
{
	static uint8_t identity_copy[PAGE_SIZE];
	uint64_t page = boot_info.start_pa & ~(PAGE_SIZE - 1);

	write_cr3(KERN_V2P(boot_pml4));
	memcpy(identity_copy, (const void *)(uintptr_t)page, PAGE_SIZE);
	write_cr3(pmap_kernel_root());
	return pass_if(!memcmp(identity_copy, exo_p2v(page), PAGE_SIZE));
}

/*
 * exovmm refuses console hypercalls whose buffer is not wholly inside
 * guest RAM or is too long, with an error code, and the instance goes on.
 */
static enum result check_hvc_validation(void)
{
	uint64_t ram_end = boot_info.ram_bytes;

	if (hv.kind != HV_EXOVMM) {
		skip_reason = "not under exovmm";
		return SKIP;
	}
	return pass_if(hvc_console(ram_end, 1) == EXO_HVC_EFAULT &&
		       hvc_console(ram_end - 1, 2) == EXO_HVC_EFAULT &&
		       hvc_console(UINT64_MAX, 2) == EXO_HVC_EFAULT &&
		       hvc_console(0, EXO_HVC_CONSOLE_MAX + 1) == EXO_HVC_EINVAL &&
		       hvc_console(KERN_V2P(&tap_count), 0) == EXO_HVC_OK);
}

static const struct check checks[] = {
    {"start info magic and version are sane", check_start_info},
    {"memory map is non-empty and has RAM", check_memmap},
    {"kernel image lies inside RAM", check_image_in_ram},
    {"command line parser accepts and rejects the right words", check_cmdline},
    {"initrd parses to the trailer", check_initrd},
    {"timer ticks advance while waiting", check_ticks},
    {"TSC is monotonic", check_tsc},
    {"fmt_snprintf formats %d %u %x %s %p, width and padding", check_printf},
    {"direct map reads the same bytes as the identity view of the start-info "
     "page",
     check_direct_map},
    {"exovmm refuses console hypercalls outside RAM or too long",
     check_hvc_validation},
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

unsigned selftest_run(void)
{
	kprintf("1..%zu\n", NCHECKS + exo_nfaults);
	for (size_t i = 0; i < NCHECKS; i++)
		tap(checks[i].run(), "%s", checks[i].what);
	for (size_t i = 0; i < exo_nfaults; i++) {
		const struct exo_fault *f = &exo_faults[i];

		tap(check_fault(f),
		    "fault=%s: vector %u reaches the test hook at its rip and "
		    "resumes",
		    f->name, f->vector);
	}
	return tap_failed;
}
