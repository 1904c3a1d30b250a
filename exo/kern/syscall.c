/*
 * syscall.c: the system-call table and dispatch, SYS_BATCH, and the
 * calls that belong to no other mechanism (console output, system
 * information).  Arguments come from the saved frame; every pointer is
 * used only through copy_from_user/copy_to_user.
 */
#include "boot.h"
#include "console.h"
#include "frames.h"
#include "kern.h"
#include "sched.h"
#include "syscall.h"
#include "timer.h"
#include "uvm.h"
#include "x86.h"

#define CONS_CHUNK 256 /* bytes copied from the env at a time */

/* Whole buffers are copied in before anything is printed or done. */
static char cons_buf[EXO_CONS_WRITE_MAX];
static struct exo_syscall batch_buf[EXO_BATCH_MAX];

static SYSCALL_HANDLER(sys_cons_write)
{
	uint64_t len = a[1];
	int err;

	if (len > EXO_CONS_WRITE_MAX)
		return -E_INVAL;
	if ((err = copy_from_user(e, cons_buf, a[0], len)))
		return err;
	for (uint64_t i = 0; i < len; i++)
		cons_putc(cons_buf[i]);
	return (int64_t)len;
}

static SYSCALL_HANDLER(sys_sysinfo)
{
	struct exo_sysinfo info = {
	    .self = e->id,
	    .nslots = EXO_NSLOTS,
	    .tsc_khz = timer.tsc_khz,
	    .slice_us = sched_params.slice_us,
	    .frames_total = root_frames.limit,
	    .frames_free = frametab.nfree,
	    .initrd_size = boot_info.initrd_size,
	    .vital_below = FRAME_PA(frametab.split < frametab.nframes
					? frametab.split
					: frametab.nframes),
	};

	return copy_to_user(e, a[0], &info, sizeof(info));
}

static SYSCALL_HANDLER(sys_batch);

static const syscall_fn table[SYS_NCALLS] = {
    [SYS_CONS_WRITE] = sys_cons_write,
    [SYS_ENV_EXIT] = sys_env_exit,
    [SYS_BATCH] = sys_batch,
    [SYS_SYSINFO] = sys_sysinfo,
    [SYS_CAP_INFO] = sys_cap_info,
    [SYS_CAP_DERIVE] = sys_cap_derive,
    [SYS_CAP_GRANT] = sys_cap_grant,
    [SYS_CAP_DROP] = sys_cap_drop,
    [SYS_FRAME_ALLOC] = sys_frame_alloc,
    [SYS_FRAME_FREE] = sys_frame_free,
    [SYS_FRAME_VITAL] = sys_frame_vital,
    [SYS_PTE_SET] = sys_pte_set,
    [SYS_ENV_CREATE] = sys_env_create,
    [SYS_ENV_SET_REGS] = sys_env_set_regs,
    [SYS_ENV_START] = sys_env_start,
    [SYS_ENV_KILL] = sys_env_kill,
    [SYS_ENV_SET_QUOTA] = sys_env_set_quota,
    [SYS_ENV_STATUS] = sys_env_status,
    [SYS_SLOT_ALLOC] = sys_slot_alloc,
    [SYS_SLOT_FREE] = sys_slot_free,
    [SYS_YIELD] = sys_yield,
    [SYS_PCT_CREATE] = sys_pct_create,
    [SYS_PCT_CALL] = sys_pct_call,
    [SYS_PCT_SEND] = sys_pct_send,
    [SYS_PCT_RETURN] = sys_pct_return,
};

static int64_t call(struct env *e, uint64_t nr, const uint64_t a[6])
{
	return nr < SYS_NCALLS ? table[nr](e, a) : -E_NOSYS;
}

/*
 * Run a vector of calls; stop at the first that fails.  The vector is
 * copied in and written back unchanged before any call runs, so a
 * vector the caller cannot write fails with nothing done.
 */
static SYSCALL_HANDLER(sys_batch)
{
	uint64_t n = a[1], done, bytes = n * sizeof(struct exo_syscall);
	int err;

	if (n > EXO_BATCH_MAX)
		return -E_INVAL;
	if ((err = copy_from_user(e, batch_buf, a[0], bytes)) ||
	    (err = copy_to_user(e, a[0], batch_buf, bytes)))
		return err;
	for (done = 0; done < n; done++) {
		struct exo_syscall *op = &batch_buf[done];

		op->result = SYS_IN_BATCH_OK(op->nr)
				 ? call(e, op->nr, op->args)
				 : -E_INVAL;
		if (op->result < 0 || e->state != EXO_ENV_STATE_RUNNABLE)
			break;
	}
	/* Killed by its own call: its memory and page tables are gone. */
	if (e->state != EXO_ENV_STATE_RUNNABLE)
		return SYSCALL_NO_RESULT;
	/* A call in the vector may have unmapped it: then say how far. */
	copy_to_user(e, a[0], batch_buf,
		     (done < n ? done + 1 : n) * sizeof(struct exo_syscall));
	return (int64_t)done;
}

struct trapframe *syscall_dispatch(struct trapframe *tf)
{
	struct env *e = curenv;
	const uint64_t a[6] = {tf->rdi, tf->rsi, tf->rdx,
			       tf->r10, tf->r8,	 tf->r9};
	int64_t ret = call(e, tf->rax, a);

	if (ret != SYSCALL_NO_RESULT)
		tf->rax = (uint64_t)ret;
	return sched_resume();
}

int sys_cap(struct env *e, uint64_t slot, unsigned type, unsigned rights,
	    struct cap **out)
{
	return captab_get(&e->caps, (int64_t)slot, type, rights, out);
}

int sys_env_cap(struct env *e, uint64_t slot, unsigned rights,
		struct env **out)
{
	struct cap *c;
	int err = sys_cap(e, slot, EXO_CAP_ENV, rights, &c);

	if (err)
		return err;
	*out = env_lookup((exo_envid_t)c->object);
	return *out ? 0 : -E_NOENT;
}

void syscall_entry(void); /* vectors.S */

#define PF_ERROR_FETCH 0x10 /* #PF error code: an instruction fetch */

bool syscall_was_misdelivered(const struct trapframe *tf)
{
	return tf->vector == T_PF && (tf->error & PF_ERROR_FETCH) &&
	       tf->rip == (uintptr_t)syscall_entry;
}

struct trapframe *syscall_dispatch_misdelivered(struct trapframe *tf)
{
	static bool reported;

	if (!reported) {
		kprintf("exo: cpu: this host delivers syscall as a page fault "
			"at its entry; serving it from there\n");
		reported = true;
	}
	/* %rcx is the env's to choose here: a jump to the entry sets it. */
	if (!env_user_address(tf->rcx)) {
		env_kill(curenv, "jumped to the syscall entry with rcx %p",
			 (void *)tf->rcx);
		return sched_resume();
	}
	tf->rip = tf->rcx;
	tf->rflags = (tf->r11 & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_FIXED;
	tf->vector = VEC_KERNEL_BUILT; /* back by iretq, like the fault came */
	return syscall_dispatch(tf);
}
