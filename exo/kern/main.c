/*
 * main.c: the boot sequence, from the first C instruction to the exit
 * port.  Nothing here makes policy; it sets up the mechanisms in order and
 * reports what it found.
 */
#include <exo/hvc.h>

#include "boot.h"
#include "chunks.h"
#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "frames.h"
#include "hv.h"
#include "initrd.h"
#include "kern.h"
#include "load.h"
#include "pmap.h"
#include "sched.h"
#include "seg.h"
#include "selftest.h"
#include "timer.h"
#include "trap.h"
#include "x86.h"

static void print_hello(void)
{
	kprintf("exo: exo %s booting on ", EXO_VERSION);
	if (hv.kind == HV_EXOVMM)
		kprintf("exovmm\n");
	else if (hv.kind == HV_OTHER)
		kprintf("unknown hypervisor \"%s\"\n", hv.signature);
	else
		kprintf("bare hardware\n");
}

static void read_cmdline(struct cmdline *cl)
{
	char err[CMDLINE_ERR_MAX];

	kprintf("exo: cmdline: %s\n",
		*boot_info.cmdline ? boot_info.cmdline : "(none)");
	if (cmdline_parse(boot_info.cmdline, cl, err, sizeof(err)))
		return;
	kprintf("exo: cmdline: %s\n", err);
	exo_exit(EXO_EXIT_BAD_BOOT);
}

static _Noreturn void run_envs(const struct cmdline *cl)
{
	sched_params = (struct sched_params){cl->slice_us, cl->revoke_us};
	if (cl->memory_ignore)
		chunks_ignore_target();
	frames_init();
	load_boot_envs(cl);
	sched_start();
}

_Noreturn void exo_main(uint64_t start_pa)
{
	struct cmdline cl;
	int code;

	hv_detect();
	cons_init();
	print_hello(); /* first, so boot time to first output means something */
	gdt_init();
	trap_init();
	pmap_init();
	cpu_init();
	boot_info_init(start_pa);
	read_cmdline(&cl);
	if (cl.console_uart)
		cons_use_uart();
	boot_print_memmap();
	timer_init(cl.tick_us);
	sti();
	if (!initrd_list())
		exo_exit(EXO_EXIT_BAD_BOOT);
	if (cl.fault) {
		cl.fault->raise();
		panic("fault=%s raised no exception", cl.fault->name);
	}
	if (cl.violation) {
		cl.violation->commit();
		panic("fault=%s: the monitor let it pass", cl.violation->name);
	}
	code = EXO_EXIT_OK;
	if (cl.test_boot && selftest_run())
		code = EXO_EXIT_TEST_FAILED;
	if (code == EXO_EXIT_OK && cl.nrun)
		run_envs(&cl);
	if (!cl.test_boot)
		kprintf("exo: nothing to run (no run= on the command line)\n");
	timer_sleep_us(cl.hold_us);
	timer_spin_us(cl.spin_us);
	exo_exit(code);
}
