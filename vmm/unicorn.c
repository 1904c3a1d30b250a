/*
 * unicorn.c: the Unicorn backend, for hosts without /dev/kvm.  Unicorn
 * 2.1 (QEMU's TCG) runs the CPU, the paging, iretq and sysret; this file
 * provides what it lacks, each piece in a function of its own:
 *   - the PVH entry in 32-bit mode, which Unicorn's 64-bit mode cannot
 *     start in (boot_trampoline);
 *   - delivery of exceptions and interrupts through the guest's IDT
 *     (x86_event.c decides, deliver() applies) and `syscall`;
 *   - raising the privilege level for both, which Unicorn's register
 *     interface cannot do: a far call through a call gate in private
 *     pages does it (raise_privilege);
 *   - the local APIC (lapic.c) on its MMIO page, its timer, `hlt`, the
 *     TSC, CPUID;
 *   - port I/O and accesses to withdrawn memory, returned from run() as
 *     the same struct vmm_exit the KVM backend produces.
 *
 * Unicorn calls port I/O back in the middle of a translated block, and
 * the guest reads the result with the next instruction, so an exit must
 * be handled before the hook returns.  The emulator therefore runs in a
 * coroutine on the instance's own thread: a hook switches back to run()'s
 * caller with the exit, and the next run() resumes it inside the hook.
 * Everything touches the emulator from that one thread (Unicorn is not
 * thread-safe).  kick(), interrupt() and the APIC timer only set a flag
 * that a hook at the start of every translated block reads: Unicorn
 * 2.1.1 cannot be stopped from another thread safely, because such a
 * stop may land in the middle of a block and resume it from its start
 * with half its registers already changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <cpuid.h>
#include <ucontext.h>
#include <unicorn/unicorn.h>
#include <x86intrin.h>

#include "exo/hvc.h"
#include "backend.h"
#include "cpuid.h"
#include "lapic.h"
#include "monotonic.h"
#include "x86_event.h"

/*
 * Guest clocks.  The APIC timer's input counts nanoseconds.  The TSC is
 * the host's (Unicorn 2.1.1 cannot hook rdtsc): its rate is measured once
 * against CLOCK_MONOTONIC_RAW over TSC_MEASURE_NS and told through CPUID,
 * where the host says its TSC is invariant (else 0, and the kernel times
 * it against the APIC timer, which a busy host makes imprecise).
 */
#define UC_LAPIC_KHZ 1000000u
#define TSC_MEASURE_NS 5000000ull
#define CPUID_EXT_POWER 0x80000007u
#define CPUID_EXT_POWER_EDX_INVARIANT_TSC (1u << 8)
#define NS_PER_KHZ_MS 1000000ull /* ticks per ns * this = kHz */
/* The CPU model: SMEP, SMAP and PCID, which the kernel uses. */
#define UC_CPU_MODEL UC_CPU_X86_BROADWELL
/*
 * Translated code per instance: Unicorn's default reserves 1 GiB each,
 * which dozens of instances cannot have.  When full, it is flushed and
 * refilled.
 */
#define UC_TCG_BUFFER_SIZE (32u << 20)
/* The stack the emulator's coroutine runs on. */
#define UC_COROUTINE_STACK (8u << 20)
/* Where emulation never stops by itself: not a canonical address. */
#define UC_NO_UNTIL 0x8000000000000000ull
#define UC_IO_DATA_MAX 8

/*
 * Private pages for the trampolines, outside guest RAM (at most 3 GiB),
 * the mailbox and the APIC page.  The guest kernel's direct map covers
 * them, but nothing in it uses them, and an env cannot map them; ring 3
 * may read (never write) the one page it runs in the trampoline.
 */
#define UC_SCRATCH_GPA 0xfe000000ull
#define PAGE 4096u
#define ID_PDS 4 /* page directories of the identity map: 4 GiB */
#define LARGE_PAGE (2ull << 20)
#define PTE_LARGE 0x80ull
enum scratch_page {
	SP_BOOT,       /* 64-bit -> 32-bit trampoline, its far pointer and GDT */
	SP_PML4,       /* page tables mapping the pages below, VA = GPA */
	SP_PDPT,
	SP_PD,
	SP_PT,
	/*
	 * Ring 0: where the call lands and emulation stops.  After stopping
	 * at an address Unicorn translates the byte before it, so that byte
	 * lies in a supervisor page (SP_PT) where the translation succeeds.
	 */
	SP_LANDING,
	SP_USER_CODE,  /* ring 3: lcall through the gate, and its far pointer */
	SP_GDT,        /* null, the handler's code segment, the call gate */
	SP_TSS,
	SP_STACK,
	/*
	 * An identity map of the low 4 GiB in 2 MiB pages, for unmapping
	 * (uc_unmap_memory): one top level whose entry lets ring 3 in, one
	 * that does not.
	 */
	SP_ID_PML4_USER,
	SP_ID_PML4_SUPERVISOR,
	SP_ID_PDPT,
	SP_ID_PD,
	SP_COUNT = SP_ID_PD + ID_PDS,
};
#define SCRATCH_SIZE (SP_COUNT * PAGE)
#define SCRATCH_VA(page) (UC_SCRATCH_GPA + (uint64_t)(page) * PAGE)
#define PT_INDEX(va, level) (((va) >> (12 + 9 * (level))) & 0x1ffu)

/* Descriptors and selectors of the trampolines' own GDTs. */
#define SEL_NULL 0x00
#define SEL_SCRATCH_CODE 0x08
#define SEL_SCRATCH_DATA 0x10
#define SEL_GATE 0x10 /* raise GDT: a 16-byte call gate in slots 2-3 */
#define DESC_CODE32 0x00cf9b000000ffffull /* flat, 32-bit, DPL 0 */
#define DESC_DATA32 0x00cf93000000ffffull
#define DESC_CODE64 0x00af9b000000ffffull /* 64-bit, DPL 0: what syscall loads */
#define GATE_CALL64_DPL3 0xec00u /* present, DPL 3, 64-bit call gate */
#define RAISE_GDT_LIMIT (4 * 8 - 1)
#define TSS64_LIMIT 0x67u
#define TR_FLAGS_BUSY64 0x8b00u /* present, type 11: 64-bit busy TSS */
#define PTE_TABLE 0x7ull       /* present, writable, user */
#define PTE_SUPERVISOR 0x3ull  /* present, writable */
#define PTE_USER_RO 0x5ull     /* present, user, read-only */
/* The far call runs alone; a stop before it is retried, this often at most. */
#define RAISE_TRIES 100
#define TRAMPOLINE_BLOCKS_MAX 64

/* Opcodes of the trampolines. */
static const uint8_t boot_code64[] = {0xff, 0x2d};       /* ljmp *rel32(%rip) */
static const uint8_t boot_code32[] = {
	0xb8, SEL_SCRATCH_DATA, 0, 0, 0, /* mov $data, %eax */
	0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0x8e, 0xe0, 0x8e, 0xe8, /* ds es ss fs gs */
	0xea,				  /* ljmp $code, $entry: completed below */
};
static const uint8_t lcall_rel32[] = {0x48, 0xff, 0x1d}; /* rex.w lcall *rel32(%rip) */
#define REL32_LEN 4
#define BOOT_FARPTR_OFF 0x100
#define BOOT_CODE32_OFF 0x200
#define BOOT_GDT_OFF 0x400
#define BOOT_GDT_LIMIT (3 * 8 - 1) /* null, code, data */
#define USER_FARPTR_OFF 0x100

#define RFLAGS_RESERVED_ONE 0x2ull
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define EFER_SCE 1ull
#define STAR_KERNEL_SHIFT 32
#define STAR_SELECTOR_MASK 0xfffcu
#define SYSCALL_INSN_LEN 2

/* Why uc_emu_start returned, as the hooks recorded it. */
enum stop_cause {
	STOP_NONE,	/* hlt */
	STOP_REQUESTED, /* the block hook saw stop_wanted */
	STOP_EXCEPTION, /* the CPU raised vector stop_vector */
	STOP_SYSCALL,
	STOP_ENDED,	/* an exit was posted and exovmm ended the run */
	STOP_IO_FAULT,	/* port I/O the privilege level forbids: #GP */
};

struct vmm_vm {
	uc_engine *uc;
	uint8_t *scratch;
	/* Guest memory, by 2 MiB granule below 4 GiB: slot or -1. */
	struct uc_slot {
		uint64_t gpa, size;
		uint8_t *host;
	} *slots;
	uint32_t n_slots;
	int32_t *granule_slot;

	/* The coroutine the emulator runs in, and run()'s side. */
	ucontext_t emu_ctx, run_ctx;
	void *stack;
	bool started;
	struct vmm_exit *exit; /* run()'s, while the coroutine runs */
	uint8_t io_data[UC_IO_DATA_MAX];
	uc_context *ctx;       /* the CPU state, saved at every stop (take_exception) */
	uc_context *io_fault;  /* the CPU at a forbidden port access */

	enum stop_cause stop;
	uint32_t stop_vector, stop_error; /* STOP_EXCEPTION, read in the hook */
	bool stop_software;		  /* it came from int n, int3 or into */
	uint64_t stop_cr2;
	bool halted;

	/*
	 * Shared with kick(), interrupt() and the alarm thread.  Each of them
	 * only sets stop_wanted (a block hook reads it: the vCPU leaves the
	 * emulator and looks at kick_pending and the APIC) and signals wake
	 * (for a halted vCPU).  The alarm thread sleeps until alarm_at, the
	 * APIC timer's next event, which the vCPU's thread updates.
	 */
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* the vCPU waits here while halted */
	pthread_cond_t alarm;  /* the alarm thread waits here */
	struct lapic lapic;
	bool kick_pending, alarm_quit;
	uint64_t alarm_at;
	atomic_bool stop_wanted; /* leave the emulator at the next block */
	atomic_bool irq_pending; /* ... or at the next with RFLAGS.IF set */
	_Atomic uint64_t timer_at; /* the APIC timer's next event, for the block hook */
	unsigned blocks_unchecked; /* blocks run since the hook last read the clock */
	unsigned trampoline_blocks; /* blocks the privilege trampoline has run */
	bool preemptible;	 /* the vCPU thread's: the guest runs, not a trampoline */
	pthread_t alarm_thread;
	bool alarm_started;
	uint64_t t0;
};

/* ---- calibration: where Unicorn keeps the exception's error code ---- */

/*
 * Unicorn reports an exception's vector but not its error code or
 * whether it came from `int n`, and it never delivers the exception, so
 * QEMU's record of the "exception in flight" stays set and would turn the
 * next exception into a #DF.  All three live in the CPU state Unicorn's
 * context saves, in QEMU's CPUX86State: error_code, exception_is_int
 * right after it, and old_exception OLD_EXCEPTION_DELTA bytes further
 * (past exception_next_eip, dr[8] and the four breakpoint pointers).
 * Their offsets are fixed for one build of the library: find them once by
 * raising known exceptions in a throwaway engine, and check each.
 */
#define OLD_EXCEPTION_DELTA (2 * 4 + 8 + 8 * 8 + 4 * 8)
#define NO_EXCEPTION (-1)

static struct {
	pthread_once_t once;
	size_t error_offset; /* 0: not found */
	size_t context_size;
	uint32_t leaf1[4];   /* CPUID 1 as the model answers it */
	uint32_t tsc_khz;    /* the host TSC's rate, or 0 */
	char why[128];
} calib = {.once = PTHREAD_ONCE_INIT};

#define PROBE_CODE 0x1000ull
#define PROBE_GDT 0x2000ull
#define PROBE_GDT_LIMIT 7 /* the null descriptor alone */
#define PROBE_SEL_A 0x1238
#define PROBE_SEL_B 0x2470
#define PROBE_INT_VECTOR 0x41
static const uint8_t probe_code[] = {
	0x8e, 0xd8,		  /* mov %eax, %ds: #GP(selector) */
	0xcd, PROBE_INT_VECTOR,	  /* int $0x41 */
	0x0f, 0xa2, 0xf4,	  /* cpuid; hlt */
};
#define PROBE_INT_AT (PROBE_CODE + 2)
#define PROBE_CPUID_AT (PROBE_CODE + 4)

static void probe_intr(uc_engine *uc, uint32_t intno, void *arg)
{
	*(uint32_t *)arg = intno;
	uc_emu_stop(uc);
}

static int32_t word_at(const uint8_t *blob, size_t off)
{
	int32_t v;

	memcpy(&v, blob + off, sizeof(v));
	return v;
}

/*
 * Save the engine's state in ctx (and, where blob is not NULL, a copy
 * there) and forget its exception in flight (old_exception), as
 * delivering it would.  QEMU also records one where Unicorn reports
 * nothing (the 32-bit entry's switch to long mode, and the translation
 * Unicorn makes after every stop), so this runs after every stop, not
 * only after exceptions.  Before calibration has found the offsets it
 * only saves.
 */
static int take_exception(uc_engine *uc, uc_context *ctx, uint8_t *blob)
{
	size_t old = calib.error_offset + OLD_EXCEPTION_DELTA;
	int32_t none = NO_EXCEPTION;

	if (uc_context_save(uc, ctx) != UC_ERR_OK)
		return -1;
	if (blob)
		memcpy(blob, ctx, calib.context_size);
	if (!calib.error_offset || word_at((const uint8_t *)ctx, old) == NO_EXCEPTION)
		return 0;
	memcpy((uint8_t *)ctx + old, &none, sizeof(none));
	return uc_context_restore(uc, ctx) == UC_ERR_OK ? 0 : -1;
}

/* Read the error code and kind of the exception just raised, keeping the engine as it is. */
static void read_exception(struct vmm_vm *vm)
{
	const uint8_t *saved = (const uint8_t *)vm->ctx;

	vm->stop_error = 0;
	vm->stop_software = false;
	if (uc_context_save(vm->uc, vm->ctx) == UC_ERR_OK) {
		vm->stop_error = (uint32_t)word_at(saved, calib.error_offset);
		vm->stop_software = word_at(saved, calib.error_offset + 4) != 0;
	}
}

/* Run the probe at `at` with %rax = rax; the vector it raised, or -1. */
static int probe_run(uc_engine *uc, uc_context *ctx, uint64_t at, uint64_t rax, uint8_t *blob)
{
	uint32_t vector = UINT32_MAX;
	uc_hook h;

	if (uc_reg_write(uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK ||
	    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)probe_intr, &vector, 1, 0) != UC_ERR_OK)
		return -1;
	if (uc_emu_start(uc, at, UC_NO_UNTIL, 0, 0) != UC_ERR_OK || take_exception(uc, ctx, blob) < 0)
		vector = UINT32_MAX;
	uc_hook_del(uc, h);
	return vector == UINT32_MAX ? -1 : (int)vector;
}

/* error_code: the one word that is each probe's selector, then 0 (not int n). */
static size_t find_error_offset(const uint8_t *a)
{
	size_t found = 0, matches = 0;

	for (size_t off = 0; off + OLD_EXCEPTION_DELTA + 4 <= calib.context_size; off += 4)
		if (word_at(a, off) == PROBE_SEL_A && word_at(a, off + 4) == 0 &&
		    word_at(a, off + OLD_EXCEPTION_DELTA) == X86_VEC_GP) {
			found = off;
			matches++;
		}
	return matches == 1 ? found : 0;
}

static void probe_exceptions(uc_engine *uc, uc_context *ctx, uint8_t *a, uint8_t *b,
			     uint8_t *soft)
{
	size_t off;

	if (probe_run(uc, ctx, PROBE_CODE, PROBE_SEL_A, a) != X86_VEC_GP ||
	    !(off = find_error_offset(a))) {
		snprintf(calib.why, sizeof(calib.why),
			 "this Unicorn build hides exception error codes");
		return;
	}
	calib.error_offset = off;
	/* Forgetting the first #GP must keep the second from becoming a #DF. */
	if (take_exception(uc, ctx, NULL) < 0 ||
	    probe_run(uc, ctx, PROBE_CODE, PROBE_SEL_B, b) != X86_VEC_GP ||
	    word_at(b, off) != PROBE_SEL_B ||
	    probe_run(uc, ctx, PROBE_INT_AT, 0, soft) != PROBE_INT_VECTOR ||
	    word_at(soft, off) != 0 || word_at(soft, off + 4) != 1) {
		calib.error_offset = 0;
		snprintf(calib.why, sizeof(calib.why),
			 "this Unicorn build keeps its exception state where exovmm cannot clear it");
	}
}

static void probe_cpuid(uc_engine *uc)
{
	static const int regs[4] = {UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX,
				    UC_X86_REG_EDX};
	uint64_t leaf = VMM_CPUID_LEAF_FEATURES, zero = 0;

	uc_reg_write(uc, UC_X86_REG_RAX, &leaf);
	uc_reg_write(uc, UC_X86_REG_RCX, &zero);
	if (uc_emu_start(uc, PROBE_CPUID_AT, UC_NO_UNTIL, 0, 0) != UC_ERR_OK)
		return;
	for (int i = 0; i < 4; i++) {
		uint64_t v = 0;

		uc_reg_read(uc, regs[i], &v);
		calib.leaf1[i] = (uint32_t)v;
	}
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * VMM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t host_tsc_khz(void)
{
	struct timespec pause = {.tv_nsec = (long)TSC_MEASURE_NS};
	unsigned a, b, c, d;
	uint64_t ns0, t0, ns, t;

	if (!__get_cpuid(CPUID_EXT_POWER, &a, &b, &c, &d) ||
	    !(d & CPUID_EXT_POWER_EDX_INVARIANT_TSC))
		return 0;
	ns0 = clock_ns(CLOCK_MONOTONIC_RAW);
	t0 = __rdtsc();
	nanosleep(&pause, NULL);
	ns = clock_ns(CLOCK_MONOTONIC_RAW) - ns0;
	t = __rdtsc() - t0;
	return (uint32_t)(t * NS_PER_KHZ_MS / ns);
}

static void calibrate(void)
{
	uc_x86_mmr gdtr = {.base = PROBE_GDT, .limit = PROBE_GDT_LIMIT};
	uint8_t *a = NULL, *b = NULL, *soft = NULL;
	uc_context *ctx = NULL;
	uc_engine *uc;

	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
		snprintf(calib.why, sizeof(calib.why), "cannot open a Unicorn engine");
		return;
	}
	uc_ctl_set_cpu_model(uc, UC_CPU_MODEL);
	uc_ctl_set_tcg_buffer_size(uc, UC_TCG_BUFFER_SIZE);
	calib.context_size = uc_context_size(uc);
	a = calloc(1, calib.context_size);
	b = calloc(1, calib.context_size);
	soft = calloc(1, calib.context_size);
	if (!a || !b || !soft || uc_context_alloc(uc, &ctx) != UC_ERR_OK ||
	    uc_mem_map(uc, PROBE_CODE, 2 * PAGE, UC_PROT_ALL) != UC_ERR_OK ||
	    uc_mem_write(uc, PROBE_CODE, probe_code, sizeof(probe_code)) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK)
		snprintf(calib.why, sizeof(calib.why), "the Unicorn probe of exceptions failed");
	else
		probe_exceptions(uc, ctx, a, b, soft);
	probe_cpuid(uc);
	calib.tsc_khz = host_tsc_khz();
	free(a);
	free(b);
	free(soft);
	if (ctx)
		uc_context_free(ctx);
	uc_close(uc);
}

/* ---- time ---- */


static uint64_t guest_ns(const struct vmm_vm *vm)
{
	return vmm_monotonic_ns() - vm->t0;
}


/* ---- guest-physical memory ---- */

#define GRANULE_SHIFT 21
#define GRANULES (1u << (32 - GRANULE_SHIFT)) /* below 4 GiB */

static void *phys_at(void *arg, uint64_t gpa, size_t len)
{
	struct vmm_vm *vm = arg;
	struct uc_slot *s;
	int32_t i;

	if (gpa >> 32 || len == 0)
		return NULL;
	i = vm->granule_slot[gpa >> GRANULE_SHIFT];
	if (i < 0)
		return NULL;
	s = &vm->slots[i];
	if (gpa < s->gpa || gpa + len > s->gpa + s->size)
		return NULL;
	return s->host + (gpa - s->gpa);
}

/* ---- waking the vCPU: kicks, interrupts and the timer ---- */

/* Something the vCPU must see soon happened: stop it, or wake it if halted. */
static void notify_locked(struct vmm_vm *vm)
{
	atomic_store(&vm->stop_wanted, true);
	pthread_cond_signal(&vm->wake);
}

/*
 * The APIC changed: note whether an interrupt waits for RFLAGS.IF, and
 * tell the alarm thread if the timer's next event moved.
 */
static void apic_changed_locked(struct vmm_vm *vm)
{
	uint64_t next = lapic_next_event(&vm->lapic);

	atomic_store(&vm->irq_pending, lapic_deliverable(&vm->lapic) >= 0);
	atomic_store(&vm->timer_at, next);
	if (next != vm->alarm_at) {
		vm->alarm_at = next;
		pthread_cond_signal(&vm->alarm);
	}
}

/*
 * The alarm thread: sleeps until the APIC timer's next event, then
 * notifies the vCPU, once per deadline (the vCPU's thread rearms it when
 * it has taken the event).
 */
static void *alarm_main(void *arg)
{
	struct vmm_vm *vm = arg;
	struct timespec until;

	pthread_mutex_lock(&vm->lock);
	while (!vm->alarm_quit) {
		if (vm->alarm_at == LAPIC_NO_EVENT) {
			pthread_cond_wait(&vm->alarm, &vm->lock);
			continue;
		}
		if (guest_ns(vm) >= vm->alarm_at) {
			notify_locked(vm);
			vm->alarm_at = LAPIC_NO_EVENT;
			continue;
		}
		until = vmm_deadline(vm->t0 + vm->alarm_at);
		pthread_cond_timedwait(&vm->alarm, &vm->lock, &until);
	}
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* ---- registers ---- */

static uint64_t reg(struct vmm_vm *vm, int id)
{
	uint64_t v = 0;

	uc_reg_read(vm->uc, id, &v);
	return v;
}

static void set_reg(struct vmm_vm *vm, int id, uint64_t v)
{
	uc_reg_write(vm->uc, id, &v);
}

static uint64_t msr(struct vmm_vm *vm, uint32_t index)
{
	uc_x86_msr m = {.rid = index};

	uc_reg_read(vm->uc, UC_X86_REG_MSR, &m);
	return m.value;
}

static void read_cpu(struct vmm_vm *vm, struct x86_cpu *c)
{
	uc_x86_mmr idtr, gdtr, tr;

	uc_reg_read(vm->uc, UC_X86_REG_IDTR, &idtr);
	uc_reg_read(vm->uc, UC_X86_REG_GDTR, &gdtr);
	uc_reg_read(vm->uc, UC_X86_REG_TR, &tr);
	*c = (struct x86_cpu){
		.rip = reg(vm, UC_X86_REG_RIP),
		.rsp = reg(vm, UC_X86_REG_RSP),
		.rflags = reg(vm, UC_X86_REG_RFLAGS),
		.cr2 = reg(vm, UC_X86_REG_CR2),
		.cs = (uint16_t)reg(vm, UC_X86_REG_CS),
		.ss = (uint16_t)reg(vm, UC_X86_REG_SS),
		.pg = {.cr0 = reg(vm, UC_X86_REG_CR0),
		       .cr3 = reg(vm, UC_X86_REG_CR3),
		       .cr4 = reg(vm, UC_X86_REG_CR4),
		       .efer = msr(vm, MSR_EFER),
		       .rflags = reg(vm, UC_X86_REG_RFLAGS)},
		.idt_base = idtr.base, .idt_limit = idtr.limit,
		.gdt_base = gdtr.base, .gdt_limit = gdtr.limit,
		.tss_base = tr.base, .tss_limit = tr.limit, .tr = tr.selector,
	};
}

/* ---- exits to exovmm: switch to run()'s caller and back ---- */

/* Hand *e to run()'s caller; returns when run() is called again. */
static void post_exit(struct vmm_vm *vm, const struct vmm_exit *e)
{
	*vm->exit = *e;
	swapcontext(&vm->emu_ctx, &vm->run_ctx);
}

static void post_failure(struct vmm_vm *vm, const char *fmt, const char *detail)
{
	struct vmm_exit e = {.reason = VMM_EXIT_FAILED};

	snprintf(e.what, sizeof(e.what), fmt, detail);
	post_exit(vm, &e);
}

static void post_io(struct vmm_vm *vm, uint32_t port, int size, bool write)
{
	struct vmm_exit e = {.reason = VMM_EXIT_IO};

	e.io.port = (uint16_t)port;
	e.io.size = (uint8_t)size;
	e.io.write = write;
	e.io.count = 1;
	e.io.data = vm->io_data;
	post_exit(vm, &e);
}

/*
 * The 8259 PICs: KVM's in-kernel irqchip has them, so exovmm's devices
 * do not.  Interrupts here come only through the APIC, so the PICs stay
 * masked: writes are taken and ignored, and reads say all masked.
 */
#define PIC_MASTER 0x20u
#define PIC_SLAVE 0xa0u
#define PIC_PORTS 2u
#define PIC_ALL_MASKED 0xffu

static bool pic_port(uint32_t port)
{
	return (port - PIC_MASTER) < PIC_PORTS || (port - PIC_SLAVE) < PIC_PORTS;
}

/*
 * Unicorn 2.1.1 lets every privilege level do port I/O: the check is
 * ours.  Above IOPL, the TSS's I/O bitmap must clear every port of the
 * access (SDM vol. 1, 19.5).
 */
#define TSS_IOMAP_BASE 0x66
#define TSS_MIN_LIMIT 0x67
#define RFLAGS_IOPL_SHIFT 12
static bool io_permitted(struct vmm_vm *vm, uint32_t port, int size)
{
	struct x86_phys mem = {.at = phys_at, .ctx = vm};
	uint16_t base, bits;
	uint64_t fault_va;
	uint32_t error;
	struct x86_cpu c;

	/* The kernel's own accesses, nearly all of them, need only two registers. */
	if ((reg(vm, UC_X86_REG_CS) & X86_SEL_RPL) <=
	    ((reg(vm, UC_X86_REG_RFLAGS) >> RFLAGS_IOPL_SHIFT) & X86_SEL_RPL))
		return true;
	read_cpu(vm, &c);
	if (c.tss_limit < TSS_MIN_LIMIT ||
	    !x86_linear_copy(&mem, &c.pg, c.tss_base + TSS_IOMAP_BASE, &base, sizeof(base),
			     X86_IMPLICIT, &fault_va, &error) ||
	    (uint32_t)base + port / 8 + 1 > c.tss_limit ||
	    !x86_linear_copy(&mem, &c.pg, c.tss_base + base + port / 8, &bits, sizeof(bits),
			     X86_IMPLICIT, &fault_va, &error))
		return false;
	return !((bits >> (port % 8)) & ((1u << size) - 1));
}

/*
 * A forbidden access raises #GP at the instruction.  The hook runs in
 * the middle of a translated block, which goes on after it, so the CPU as
 * it was at the instruction is kept and put back once emulation has
 * stopped, and CR3 is pointed at the private tables, which map nothing of
 * the env: the block's next access to memory faults before it happens,
 * and the block's end stops emulation.
 */
static void io_fault(struct vmm_vm *vm)
{
	uc_context_save(vm->uc, vm->io_fault);
	set_reg(vm, UC_X86_REG_CR3, SCRATCH_VA(SP_PML4));
	vm->stop = STOP_IO_FAULT;
	uc_emu_stop(vm->uc);
}

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *arg)
{
	struct vmm_vm *vm = arg;

	(void)uc;
	if (vm->stop == STOP_IO_FAULT)
		return; /* the rest of a block that made a forbidden access */
	if (!io_permitted(vm, port, size)) {
		io_fault(vm);
		return;
	}
	if (pic_port(port))
		return;
	memcpy(vm->io_data, &value, (size_t)size);
	post_io(vm, port, size, true);
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *arg)
{
	struct vmm_vm *vm = arg;
	uint32_t value = 0;

	(void)uc;
	if (vm->stop == STOP_IO_FAULT)
		return 0; /* the rest of a block that made a forbidden access */
	if (!io_permitted(vm, port, size)) {
		io_fault(vm);
		return 0;
	}
	if (pic_port(port))
		return PIC_ALL_MASKED;
	memset(vm->io_data, 0xff, sizeof(vm->io_data)); /* nobody there reads all ones */
	post_io(vm, port, size, false);
	memcpy(&value, vm->io_data, (size_t)size);
	return value;
}

/* An access to guest-physical memory that is not there: a withdrawn chunk, say. */
static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t gpa, int size,
			  int64_t value, void *arg)
{
	struct vmm_vm *vm = arg;
	struct vmm_exit e = {.reason = VMM_EXIT_MMIO};

	(void)value;
	e.mmio.gpa = gpa;
	e.mmio.size = (uint8_t)size;
	e.mmio.write = type == UC_MEM_WRITE_UNMAPPED;
	post_exit(vm, &e);
	/* exovmm ends the run on such an exit; should it resume, stop all the same. */
	vm->stop = STOP_ENDED;
	uc_emu_stop(uc);
	return false;
}

/*
 * The exception's details are read here: once emulation has stopped,
 * Unicorn translates the byte before the stop address, and a fault there
 * overwrites them.
 */
static void hook_intr(uc_engine *uc, uint32_t intno, void *arg)
{
	struct vmm_vm *vm = arg;

	if (vm->stop == STOP_IO_FAULT) {
		uc_emu_stop(uc); /* io_fault()'s, after the forbidden access */
		return;
	}
	vm->stop = STOP_EXCEPTION;
	vm->stop_vector = intno;
	read_exception(vm);
	vm->stop_cr2 = reg(vm, UC_X86_REG_CR2);
	uc_emu_stop(uc);
}

/*
 * Every this many blocks the block hook reads the clock itself, so the
 * APIC timer fires even when the host is slow to run the alarm thread
 * (a loaded host, valgrind running one thread at a time).
 */
#define BLOCKS_PER_CLOCK_CHECK 4096u

static bool timer_due(struct vmm_vm *vm)
{
	if (++vm->blocks_unchecked < BLOCKS_PER_CLOCK_CHECK)
		return false;
	vm->blocks_unchecked = 0;
	return guest_ns(vm) >= atomic_load_explicit(&vm->timer_at, memory_order_relaxed);
}

/*
 * At the start of every block: stop here, where nothing of it has run,
 * if asked to, if the timer is due, or if an interrupt waits and the
 * guest has just enabled interrupts (sti, popf, iretq and sysret cannot
 * be hooked).
 */
static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *arg)
{
	struct vmm_vm *vm = arg;

	(void)address;
	(void)size;
	if (!vm->preemptible) {
		/* The trampoline takes two blocks; a guest that rewrote it does not stop. */
		if (++vm->trampoline_blocks > TRAMPOLINE_BLOCKS_MAX)
			uc_emu_stop(uc);
		return;
	}
	if (vm->stop != STOP_NONE)
		return; /* stopping already (a forbidden port access) */
	if (atomic_load_explicit(&vm->stop_wanted, memory_order_relaxed) || timer_due(vm) ||
	    (atomic_load_explicit(&vm->irq_pending, memory_order_relaxed) &&
	     (reg(vm, UC_X86_REG_RFLAGS) & X86_RFLAGS_IF))) {
		vm->stop = STOP_REQUESTED;
		uc_emu_stop(uc);
	}
}

/* Unicorn reports #UD here, not through the interrupt hook. */
static bool hook_invalid(uc_engine *uc, void *arg)
{
	struct vmm_vm *vm = arg;

	if (vm->stop != STOP_IO_FAULT) {
		vm->stop = STOP_EXCEPTION;
		vm->stop_vector = X86_VEC_UD;
	}
	uc_emu_stop(uc);
	return true;
}

static void hook_syscall(uc_engine *uc, void *arg)
{
	struct vmm_vm *vm = arg;

	if (vm->stop != STOP_IO_FAULT)
		vm->stop = STOP_SYSCALL;
	uc_emu_stop(uc);
}

static int hook_cpuid(uc_engine *uc, void *arg)
{
	struct vmm_vm *vm = arg;
	uint32_t leaf = (uint32_t)reg(vm, UC_X86_REG_RAX);
	struct vmm_cpuid_leaf ours[VMM_CPUID_LEAVES];
	uint32_t out[4] = {0};

	(void)uc;
	if (leaf == VMM_CPUID_LEAF_FEATURES) {
		memcpy(out, calib.leaf1, sizeof(out));
		out[2] |= VMM_CPUID_FEATURES_ECX_HYPERVISOR;
	} else if (vmm_cpuid_hypervisor_range(leaf)) {
		vmm_cpuid_leaves(calib.tsc_khz, UC_LAPIC_KHZ, EXO_HVC_F_TCG, ours);
		for (int i = 0; i < VMM_CPUID_LEAVES; i++)
			if (ours[i].function == leaf) {
				out[0] = ours[i].eax;
				out[1] = ours[i].ebx;
				out[2] = ours[i].ecx;
				out[3] = ours[i].edx;
			}
	} else {
		return 0; /* the model answers */
	}
	set_reg(vm, UC_X86_REG_RAX, out[0]);
	set_reg(vm, UC_X86_REG_RBX, out[1]);
	set_reg(vm, UC_X86_REG_RCX, out[2]);
	set_reg(vm, UC_X86_REG_RDX, out[3]);
	return 1;
}

static uint64_t apic_read(uc_engine *uc, uint64_t offset, unsigned size, void *arg)
{
	struct vmm_vm *vm = arg;
	uint32_t v;

	(void)uc;
	(void)size;
	pthread_mutex_lock(&vm->lock);
	v = lapic_read(&vm->lapic, (uint32_t)offset, guest_ns(vm));
	pthread_mutex_unlock(&vm->lock);
	return v;
}

static void apic_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *arg)
{
	struct vmm_vm *vm = arg;

	(void)uc;
	(void)size;
	pthread_mutex_lock(&vm->lock);
	lapic_write(&vm->lapic, (uint32_t)offset, (uint32_t)value, guest_ns(vm));
	apic_changed_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

/* ---- privilege: the call-gate trampoline ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Page tables mapping every scratch page at VA = GPA; ring 3 may run SP_USER_CODE. */
static void build_scratch_tables(struct vmm_vm *vm)
{
	uint8_t *s = vm->scratch;
	uint64_t base = UC_SCRATCH_GPA;

	put_u64(s + SP_PML4 * PAGE + PT_INDEX(base, 3) * 8, SCRATCH_VA(SP_PDPT) | PTE_TABLE);
	put_u64(s + SP_PDPT * PAGE + PT_INDEX(base, 2) * 8, SCRATCH_VA(SP_PD) | PTE_TABLE);
	put_u64(s + SP_PD * PAGE + PT_INDEX(base, 1) * 8, SCRATCH_VA(SP_PT) | PTE_TABLE);
	for (unsigned p = 0; p < SP_COUNT; p++)
		put_u64(s + SP_PT * PAGE + PT_INDEX(SCRATCH_VA(p), 0) * 8,
			SCRATCH_VA(p) | (p == SP_USER_CODE ? PTE_USER_RO : PTE_SUPERVISOR));
	memcpy(s + SP_USER_CODE * PAGE, lcall_rel32, sizeof(lcall_rel32));
	{
		int32_t rel = USER_FARPTR_OFF - (int32_t)(sizeof(lcall_rel32) + REL32_LEN);
		uint8_t *farptr = s + SP_USER_CODE * PAGE + USER_FARPTR_OFF;
		uint16_t gate = SEL_GATE | X86_SEL_RPL;

		memcpy(s + SP_USER_CODE * PAGE + sizeof(lcall_rel32), &rel, REL32_LEN);
		put_u64(farptr, 0); /* the offset is ignored for a call gate */
		memcpy(farptr + 8, &gate, sizeof(gate));
	}
	{
		/* The 16-byte call gate to SEL_SCRATCH_CODE:landing, in slots 2-3. */
		uint64_t landing = SCRATCH_VA(SP_LANDING);
		uint64_t low = (landing & 0xffff) | (uint64_t)SEL_SCRATCH_CODE << 16 |
			       (uint64_t)GATE_CALL64_DPL3 << 32 | ((landing >> 16) & 0xffff) << 48;

		put_u64(s + SP_GDT * PAGE + 2 * 8, low);
		put_u64(s + SP_GDT * PAGE + 3 * 8, landing >> 32);
	}
	put_u64(s + SP_TSS * PAGE + X86_TSS_RSP0, SCRATCH_VA(SP_STACK) + PAGE);
	put_u64(s + SP_ID_PML4_USER * PAGE, SCRATCH_VA(SP_ID_PDPT) | PTE_TABLE);
	put_u64(s + SP_ID_PML4_SUPERVISOR * PAGE, SCRATCH_VA(SP_ID_PDPT) | PTE_SUPERVISOR);
	for (unsigned d = 0; d < ID_PDS; d++) {
		put_u64(s + SP_ID_PDPT * PAGE + d * 8, SCRATCH_VA(SP_ID_PD + d) | PTE_TABLE);
		for (unsigned e = 0; e < PAGE / 8; e++) {
			uint64_t gpa = ((uint64_t)d * (PAGE / 8) + e) * LARGE_PAGE;

			put_u64(s + (SP_ID_PD + d) * PAGE + e * 8, gpa | PTE_LARGE | PTE_TABLE);
		}
	}
}

/*
 * Take the CPU from ring 3 to ring 0 with cs_desc as its code segment,
 * the one thing Unicorn's register interface cannot do: point GDTR, TR
 * and CR3 at the private pages, let the CPU make a far call from ring 3
 * through a call gate into ring 0, then give the guest its GDTR, TR and
 * CR3 back.  The caller then sets the registers the event needs.
 */
static int raise_privilege(struct vmm_vm *vm, uint64_t cs_desc)
{
	uc_x86_mmr gdtr, tr, raise_gdtr = {.base = SCRATCH_VA(SP_GDT), .limit = RAISE_GDT_LIMIT};
	uc_x86_mmr raise_tr = {.selector = SEL_NULL, .base = SCRATCH_VA(SP_TSS),
			       .limit = TSS64_LIMIT, .flags = TR_FLAGS_BUSY64};
	uint64_t cr3 = reg(vm, UC_X86_REG_CR3), rip;
	int tries = 0;

	put_u64(vm->scratch + SP_GDT * PAGE + SEL_SCRATCH_CODE, cs_desc);
	uc_reg_read(vm->uc, UC_X86_REG_GDTR, &gdtr);
	uc_reg_read(vm->uc, UC_X86_REG_TR, &tr);
	uc_reg_write(vm->uc, UC_X86_REG_GDTR, &raise_gdtr);
	uc_reg_write(vm->uc, UC_X86_REG_TR, &raise_tr);
	set_reg(vm, UC_X86_REG_CR3, SCRATCH_VA(SP_PML4));
	/* No trap flag or alignment checks in the trampoline; the event sets RFLAGS after. */
	set_reg(vm, UC_X86_REG_RFLAGS, RFLAGS_RESERVED_ONE);
	do {
		vm->trampoline_blocks = 0;
		uc_emu_start(vm->uc, SCRATCH_VA(SP_USER_CODE), SCRATCH_VA(SP_LANDING), 0, 0);
		rip = reg(vm, UC_X86_REG_RIP);
	} while (rip == SCRATCH_VA(SP_USER_CODE) && ++tries < RAISE_TRIES);
	/* Forget what Unicorn's translation after the stop left, as every stop does. */
	take_exception(vm->uc, vm->ctx, NULL);
	set_reg(vm, UC_X86_REG_CR3, cr3);
	uc_reg_write(vm->uc, UC_X86_REG_GDTR, &gdtr);
	uc_reg_write(vm->uc, UC_X86_REG_TR, &tr);
	return rip == SCRATCH_VA(SP_LANDING) && (reg(vm, UC_X86_REG_CS) & X86_SEL_RPL) == 0 ? 0 : -1;
}

/*
 * Unicorn 2.1.1 writes a value given for CR2 into CR3 as well: give CR3
 * back its own.  Only a fault during delivery changes CR2 (the CPU's own
 * page faults set it already), so this is rare.
 */
static void set_cr2(struct vmm_vm *vm, uint64_t cr2)
{
	uint64_t cr3 = reg(vm, UC_X86_REG_CR3);

	if (reg(vm, UC_X86_REG_CR2) == cr2)
		return;
	set_reg(vm, UC_X86_REG_CR2, cr2);
	set_reg(vm, UC_X86_REG_CR3, cr3);
}

/* Put the CPU in the state *c describes, raising the privilege first if it drops to ring 0. */
static int enter_state(struct vmm_vm *vm, const struct x86_cpu *c, uint64_t cs_desc)
{
	if ((reg(vm, UC_X86_REG_CS) & X86_SEL_RPL) > (c->cs & X86_SEL_RPL) &&
	    raise_privilege(vm, cs_desc) < 0)
		return -1;
	set_reg(vm, UC_X86_REG_RIP, c->rip);
	set_reg(vm, UC_X86_REG_RSP, c->rsp);
	set_reg(vm, UC_X86_REG_RFLAGS, c->rflags);
	set_cr2(vm, c->cr2);
	uc_reg_write(vm->uc, UC_X86_REG_CS, &c->cs);
	uc_reg_write(vm->uc, UC_X86_REG_SS, &c->ss);
	return 0;
}

/* ---- events ---- */

/* Deliver ev through the IDT; false if the instance cannot go on. */
static bool deliver(struct vmm_vm *vm, struct x86_event ev)
{
	struct x86_phys mem = {.at = phys_at, .ctx = vm};
	struct x86_delivery d;
	struct x86_cpu c;

	read_cpu(vm, &c);
	d = x86_deliver(&mem, &c, ev);
	if (d.triple_fault) {
		struct vmm_exit e = {.reason = VMM_EXIT_SHUTDOWN};

		post_exit(vm, &e);
		return false;
	}
	if (enter_state(vm, &c, d.cs_desc) < 0) {
		post_failure(vm, "%s", "Unicorn could not enter ring 0 for an event");
		return false;
	}
	return true;
}

static bool deliver_exception(struct vmm_vm *vm)
{
	struct x86_event ev = {.vector = (uint8_t)vm->stop_vector, .kind = X86_EV_EXCEPTION,
			       .error = vm->stop_error};

	if (vm->stop_software) {
		ev.kind = X86_EV_SOFTWARE;
		ev.error = 0;
	} else {
		ev.has_error = ev.vector < X86_VEC_EXCEPTIONS && x86_exception_has_error(ev.vector);
		if (!ev.has_error)
			ev.error = 0;
	}
	if (ev.vector == X86_VEC_PF)
		ev.cr2 = vm->stop_cr2;
	return deliver(vm, ev);
}

/* syscall: ring 0 at LSTAR with STAR's selectors and FMASK's flags cleared. */
static bool do_syscall(struct vmm_vm *vm)
{
	uint64_t star = msr(vm, MSR_STAR), rflags = reg(vm, UC_X86_REG_RFLAGS);
	struct x86_cpu c;

	if (!(msr(vm, MSR_EFER) & EFER_SCE)) {
		set_reg(vm, UC_X86_REG_RIP, reg(vm, UC_X86_REG_RIP) - SYSCALL_INSN_LEN);
		return deliver(vm, (struct x86_event){.vector = X86_VEC_UD,
						      .kind = X86_EV_EXCEPTION});
	}
	read_cpu(vm, &c);
	set_reg(vm, UC_X86_REG_RCX, c.rip);
	set_reg(vm, UC_X86_REG_R11, rflags & ~X86_RFLAGS_RF);
	c.cs = (uint16_t)((star >> STAR_KERNEL_SHIFT) & STAR_SELECTOR_MASK);
	c.ss = (uint16_t)(c.cs + 8);
	c.rip = msr(vm, MSR_LSTAR);
	c.rflags = rflags & ~msr(vm, MSR_FMASK) & ~X86_RFLAGS_RF;
	if (enter_state(vm, &c, DESC_CODE64) < 0) {
		post_failure(vm, "%s", "Unicorn could not enter ring 0 for syscall");
		return false;
	}
	return true;
}

/*
 * Is the next instruction hlt?  `sti; hlt` ends a block after sti, and an
 * interrupt taken there must wake the hlt, not return to it: the CPU
 * would take it only once hlt runs (sti's one-instruction shadow).
 */
#define OPCODE_HLT 0xf4
#define HLT_LEN 1
static bool at_hlt(struct vmm_vm *vm)
{
	struct x86_phys mem = {.at = phys_at, .ctx = vm};
	uint64_t fault_va;
	uint32_t error;
	struct x86_cpu c;
	uint8_t op;

	read_cpu(vm, &c);
	return x86_linear_copy(&mem, &c.pg, c.rip, &op, sizeof(op),
			       X86_FETCH | ((c.cs & X86_SEL_RPL) == X86_SEL_RPL ? X86_USER : 0),
			       &fault_va, &error) &&
	       op == OPCODE_HLT;
}

/* Take the highest deliverable interrupt if the guest accepts interrupts. */
static bool take_interrupt(struct vmm_vm *vm)
{
	bool interruptible = reg(vm, UC_X86_REG_RFLAGS) & X86_RFLAGS_IF;
	int vector;

	pthread_mutex_lock(&vm->lock);
	lapic_advance(&vm->lapic, guest_ns(vm));
	apic_changed_locked(vm);
	vector = interruptible ? lapic_deliverable(&vm->lapic) : -1;
	if (vector >= 0) {
		lapic_accept(&vm->lapic, (uint8_t)vector);
		apic_changed_locked(vm);
	}
	pthread_mutex_unlock(&vm->lock);
	if (vector < 0)
		return true;
	if (!vm->halted && at_hlt(vm))
		set_reg(vm, UC_X86_REG_RIP, reg(vm, UC_X86_REG_RIP) + HLT_LEN);
	vm->halted = false;
	return deliver(vm, (struct x86_event){.vector = (uint8_t)vector,
					      .kind = X86_EV_EXTERNAL});
}

/* hlt: sleep until an interrupt the guest would take, or a kick. */
static void wait_halted(struct vmm_vm *vm)
{
	bool interruptible = reg(vm, UC_X86_REG_RFLAGS) & X86_RFLAGS_IF;
	struct timespec until;

	pthread_mutex_lock(&vm->lock);
	for (;;) {
		uint64_t now = guest_ns(vm), next;

		lapic_advance(&vm->lapic, now);
		apic_changed_locked(vm);
		if (vm->kick_pending || (interruptible && lapic_deliverable(&vm->lapic) >= 0))
			break;
		next = lapic_next_event(&vm->lapic);
		if (next == LAPIC_NO_EVENT) {
			pthread_cond_wait(&vm->wake, &vm->lock);
			continue;
		}
		until = vmm_deadline(vm->t0 + next);
		pthread_cond_timedwait(&vm->wake, &vm->lock, &until);
	}
	pthread_mutex_unlock(&vm->lock);
}

static bool take_kick(struct vmm_vm *vm)
{
	bool kicked;

	pthread_mutex_lock(&vm->lock);
	kicked = vm->kick_pending;
	vm->kick_pending = false;
	pthread_mutex_unlock(&vm->lock);
	if (kicked) {
		struct vmm_exit e = {.reason = VMM_EXIT_KICKED};

		post_exit(vm, &e);
	}
	return kicked;
}

/* Run the guest until it stops for a reason; false if the run is over. */
static bool emulate(struct vmm_vm *vm)
{
	uc_err err;

	vm->stop = STOP_NONE;
	vm->preemptible = true;
	err = uc_emu_start(vm->uc, reg(vm, UC_X86_REG_RIP), UC_NO_UNTIL, 0, 0);
	vm->preemptible = false;
	take_exception(vm->uc, vm->ctx, NULL);
	switch (vm->stop) {
	case STOP_EXCEPTION:
		return deliver_exception(vm);
	case STOP_SYSCALL:
		return do_syscall(vm);
	case STOP_ENDED:
		return false;
	case STOP_IO_FAULT:
		uc_context_restore(vm->uc, vm->io_fault);
		uc_ctl_flush_tlb(vm->uc); /* filled from the private tables meanwhile */
		return deliver(vm, (struct x86_event){.vector = X86_VEC_GP,
						      .kind = X86_EV_EXCEPTION,
						      .has_error = true});
	case STOP_REQUESTED:
		return true;
	case STOP_NONE:
		break;
	}
	if (err != UC_ERR_OK) {
		post_failure(vm, "Unicorn: %s", uc_strerror(err));
		return false;
	}
	vm->halted = true;
	return true;
}

/* The guest's life, event after event, until an exit ends it. */
static void guest_loop(struct vmm_vm *vm)
{
	for (;;) {
		/* Everything asked for before this is seen below. */
		atomic_store(&vm->stop_wanted, false);
		if (take_kick(vm))
			continue;
		if (vm->halted)
			wait_halted(vm);
		if (!take_interrupt(vm))
			return;
		if (vm->halted)
			continue; /* woken by a kick */
		if (!emulate(vm))
			return;
	}
}

/* The coroutine's body; makecontext passes the vm pointer as two ints. */
static void emu_main(unsigned high, unsigned low)
{
	struct vmm_vm *vm = (struct vmm_vm *)(((uintptr_t)high << 32) | low);

	for (;;) {
		guest_loop(vm);
		post_failure(vm, "%s", "the guest cannot go on after its last exit");
	}
}

/* ---- the backend's operations ---- */

static int uc_available(struct vmm_error *err)
{
	pthread_once(&calib.once, calibrate);
	if (!calib.error_offset)
		return vmm_errorf(err, "Unicorn: %s", calib.why);
	return 0;
}

static int uc_fail(struct vmm_error *err, const char *what, uc_err e)
{
	return vmm_errorf(err, "Unicorn: %s: %s", what, uc_strerror(e));
}

/*
 * Never called: its range is an address nothing can access.  Unicorn
 * 2.1.1 stops checking a RAM page's writes against translated code after
 * the first write through a TLB entry, so code the kernel writes into a
 * reused frame would run as the old code's translation (seen: a spawned
 * env ran bytes of the program that had the frame before).  While any
 * write hook exists it checks every write, whatever the hook's range.
 */
static void hook_write_never(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
			     int64_t value, void *arg)
{
	(void)uc;
	(void)type;
	(void)address;
	(void)size;
	(void)value;
	(void)arg;
}

static int add_hooks(struct vmm_vm *vm, struct vmm_error *err)
{
	static const struct {
		int type;
		void *cb;
		int insn;
	} hooks[] = {
		{UC_HOOK_BLOCK, (void *)hook_block, 0},
		{UC_HOOK_INTR, (void *)hook_intr, 0},
		{UC_HOOK_INSN_INVALID, (void *)hook_invalid, 0},
		{UC_HOOK_INSN, (void *)hook_syscall, UC_X86_INS_SYSCALL},
		{UC_HOOK_INSN, (void *)hook_in, UC_X86_INS_IN},
		{UC_HOOK_INSN, (void *)hook_out, UC_X86_INS_OUT},
		{UC_HOOK_INSN, (void *)hook_cpuid, UC_X86_INS_CPUID},
		{UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, 0},
	};
	uc_hook h;
	uc_err e;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (hooks[i].type == UC_HOOK_INSN)
			e = uc_hook_add(vm->uc, &h, hooks[i].type, hooks[i].cb, vm, 1, 0,
					hooks[i].insn);
		else
			e = uc_hook_add(vm->uc, &h, hooks[i].type, hooks[i].cb, vm, 1, 0);
		if (e != UC_ERR_OK)
			return uc_fail(err, "adding a hook", e);
	}
	e = uc_hook_add(vm->uc, &h, UC_HOOK_MEM_WRITE, (void *)hook_write_never, vm, UC_NO_UNTIL,
			UC_NO_UNTIL);
	if (e != UC_ERR_OK)
		return uc_fail(err, "adding the write hook", e);
	e = uc_mmio_map(vm->uc, LAPIC_DEFAULT_BASE, LAPIC_SIZE, apic_read, vm, apic_write, vm);
	if (e != UC_ERR_OK)
		return uc_fail(err, "mapping the local APIC", e);
	return 0;
}

static void uc_destroy(struct vmm_vm *vm)
{
	if (!vm)
		return;
	if (vm->alarm_started) {
		pthread_mutex_lock(&vm->lock);
		vm->alarm_quit = true;
		pthread_cond_signal(&vm->alarm);
		pthread_mutex_unlock(&vm->lock);
		pthread_join(vm->alarm_thread, NULL);
	}
	/* A coroutine left inside a hook is simply dropped with the engine. */
	if (vm->io_fault)
		uc_context_free(vm->io_fault);
	if (vm->ctx)
		uc_context_free(vm->ctx);
	if (vm->uc)
		uc_close(vm->uc);
	if (vm->stack)
		munmap(vm->stack, UC_COROUTINE_STACK);
	if (vm->scratch)
		munmap(vm->scratch, SCRATCH_SIZE);
	pthread_cond_destroy(&vm->alarm);
	pthread_cond_destroy(&vm->wake);
	pthread_mutex_destroy(&vm->lock);
	free(vm->granule_slot);
	free(vm->slots);
	free(vm);
}


static void *map_anonymous(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int uc_create(struct vmm_vm **out, struct vmm_error *err)
{
	struct vmm_vm *vm;
	uc_err e;

	if (uc_available(err) < 0)
		return -1;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_errorf(err, "out of memory");
	pthread_mutex_init(&vm->lock, NULL);
	vmm_cond_init_monotonic(&vm->wake);
	vmm_cond_init_monotonic(&vm->alarm);
	lapic_init(&vm->lapic, UC_LAPIC_KHZ);
	vm->alarm_at = LAPIC_NO_EVENT;
	atomic_store(&vm->timer_at, LAPIC_NO_EVENT);
	vm->t0 = vmm_monotonic_ns();
	vm->granule_slot = malloc(GRANULES * sizeof(*vm->granule_slot));
	vm->scratch = map_anonymous(SCRATCH_SIZE);
	vm->stack = map_anonymous(UC_COROUTINE_STACK);
	if (!vm->granule_slot || !vm->scratch || !vm->stack) {
		vmm_errorf(err, "out of memory");
		goto fail;
	}
	memset(vm->granule_slot, 0xff, GRANULES * sizeof(*vm->granule_slot));
	e = uc_open(UC_ARCH_X86, UC_MODE_64, &vm->uc);
	if (e != UC_ERR_OK) {
		vm->uc = NULL;
		uc_fail(err, "uc_open", e);
		goto fail;
	}
	uc_ctl_set_cpu_model(vm->uc, UC_CPU_MODEL);
	uc_ctl_set_tcg_buffer_size(vm->uc, UC_TCG_BUFFER_SIZE);
	e = uc_context_alloc(vm->uc, &vm->io_fault);
	if (e == UC_ERR_OK)
		e = uc_context_alloc(vm->uc, &vm->ctx);
	if (e != UC_ERR_OK) {
		uc_fail(err, "uc_context_alloc", e);
		goto fail;
	}
	build_scratch_tables(vm);
	e = uc_mem_map_ptr(vm->uc, UC_SCRATCH_GPA, SCRATCH_SIZE, UC_PROT_ALL, vm->scratch);
	if (e != UC_ERR_OK) {
		uc_fail(err, "mapping the backend's pages", e);
		goto fail;
	}
	if (add_hooks(vm, err) < 0)
		goto fail;
	if (pthread_create(&vm->alarm_thread, NULL, alarm_main, vm) != 0) {
		vmm_errorf(err, "cannot start the timer thread");
		goto fail;
	}
	vm->alarm_started = true;
	*out = vm;
	return 0;
fail:
	uc_destroy(vm);
	return -1;
}

static int uc_map_memory(struct vmm_vm *vm, uint32_t slot, uint64_t gpa, void *host,
			 uint64_t size, struct vmm_error *err)
{
	uc_err e;

	if (slot >= vm->n_slots) {
		struct uc_slot *more = realloc(vm->slots, (slot + 1) * sizeof(*more));

		if (!more)
			return vmm_errorf(err, "out of memory");
		memset(more + vm->n_slots, 0, (slot + 1 - vm->n_slots) * sizeof(*more));
		vm->slots = more;
		vm->n_slots = slot + 1;
	}
	if (gpa + size > 1ull << 32)
		return vmm_errorf(err, "guest memory at 0x%llx lies above 4 GiB",
				  (unsigned long long)gpa);
	e = uc_mem_map_ptr(vm->uc, gpa, size, UC_PROT_ALL, host);
	if (e != UC_ERR_OK)
		return vmm_errorf(err, "mapping guest memory slot %u at 0x%llx: %s", slot,
				  (unsigned long long)gpa, uc_strerror(e));
	vm->slots[slot] = (struct uc_slot){.gpa = gpa, .size = size, .host = host};
	for (uint64_t g = gpa >> GRANULE_SHIFT; g <= (gpa + size - 1) >> GRANULE_SHIFT; g++)
		vm->granule_slot[g] = (int32_t)slot;
	return 0;
}

/*
 * Unicorn 2.1.1 drops the translated code of an unmapped range by looking
 * the range's guest-physical addresses up as virtual ones, with the
 * guest's page tables, at its privilege level; a miss there is a page
 * fault that corrupts the CPU's state.  Under an identity map of the
 * right privilege the lookup is right.
 */
static uc_err unmap_identity(struct vmm_vm *vm, uint64_t gpa, uint64_t size)
{
	uint64_t cr3 = reg(vm, UC_X86_REG_CR3);
	bool user = (reg(vm, UC_X86_REG_CS) & X86_SEL_RPL) == X86_SEL_RPL;
	uc_err e;

	set_reg(vm, UC_X86_REG_CR3, SCRATCH_VA(user ? SP_ID_PML4_USER : SP_ID_PML4_SUPERVISOR));
	e = uc_mem_unmap(vm->uc, gpa, size);
	set_reg(vm, UC_X86_REG_CR3, cr3);
	return e;
}

static int uc_unmap_memory(struct vmm_vm *vm, uint32_t slot, struct vmm_error *err)
{
	struct uc_slot *s;
	uc_err e;

	if (slot >= vm->n_slots || !vm->slots[slot].size)
		return vmm_errorf(err, "removing guest memory slot %u: not mapped", slot);
	s = &vm->slots[slot];
	e = unmap_identity(vm, s->gpa, s->size);
	if (e != UC_ERR_OK)
		return vmm_errorf(err, "removing guest memory slot %u: %s", slot, uc_strerror(e));
	for (uint64_t g = s->gpa >> GRANULE_SHIFT; g <= (s->gpa + s->size - 1) >> GRANULE_SHIFT; g++)
		vm->granule_slot[g] = -1;
	*s = (struct uc_slot){0};
	return 0;
}

/*
 * Unicorn starts in 64-bit mode; PVH enters in 32-bit protected mode with
 * paging off.  A far jump through a private GDT gets there (EFER.LMA stays
 * set with paging off, which QEMU's CPU treats as plain protected mode
 * until the guest turns paging on), loads flat data segments and jumps
 * to the entry with %ebx as PVH says.
 */
static int uc_set_pvh_entry(struct vmm_vm *vm, uint32_t eip, uint32_t ebx,
			    struct vmm_error *err)
{
	uint8_t *page = vm->scratch + SP_BOOT * PAGE;
	uint64_t base = SCRATCH_VA(SP_BOOT);
	int32_t farptr_rel = BOOT_FARPTR_OFF - (int32_t)(sizeof(boot_code64) + REL32_LEN);
	uint32_t code32_va = (uint32_t)(base + BOOT_CODE32_OFF);
	uint16_t code_sel = SEL_SCRATCH_CODE;
	uc_x86_mmr gdtr = {.base = base + BOOT_GDT_OFF, .limit = BOOT_GDT_LIMIT};
	uint8_t *p;

	memcpy(page, boot_code64, sizeof(boot_code64));
	memcpy(page + sizeof(boot_code64), &farptr_rel, REL32_LEN);
	memcpy(page + BOOT_FARPTR_OFF, &code32_va, 4);
	memcpy(page + BOOT_FARPTR_OFF + 4, &code_sel, 2);
	p = page + BOOT_CODE32_OFF;
	memcpy(p, boot_code32, sizeof(boot_code32));
	p += sizeof(boot_code32);
	memcpy(p, &eip, 4);
	memcpy(p + 4, &code_sel, 2);
	put_u64(page + BOOT_GDT_OFF + SEL_SCRATCH_CODE, DESC_CODE32);
	put_u64(page + BOOT_GDT_OFF + SEL_SCRATCH_DATA, DESC_DATA32);
	if (uc_reg_write(vm->uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK)
		return vmm_errorf(err, "Unicorn: setting the entry GDT");
	set_reg(vm, UC_X86_REG_RBX, ebx);
	set_reg(vm, UC_X86_REG_RIP, base);
	return 0;
}

static int uc_run(struct vmm_vm *vm, struct vmm_exit *exit, struct vmm_error *err)
{
	vm->exit = exit;
	if (!vm->started) {
		uintptr_t p = (uintptr_t)vm;

		if (getcontext(&vm->emu_ctx) < 0)
			return vmm_errorf(err, "getcontext: %s", strerror(errno));
		vm->emu_ctx.uc_stack.ss_sp = vm->stack;
		vm->emu_ctx.uc_stack.ss_size = UC_COROUTINE_STACK;
		vm->emu_ctx.uc_link = NULL;
		makecontext(&vm->emu_ctx, (void (*)(void))emu_main, 2, (unsigned)(p >> 32),
			    (unsigned)p);
		vm->started = true;
	}
	if (swapcontext(&vm->run_ctx, &vm->emu_ctx) < 0)
		return vmm_errorf(err, "swapcontext: %s", strerror(errno));
	return 0;
}

static int uc_set_irq_line(struct vmm_vm *vm, unsigned line, bool level, struct vmm_error *err)
{
	(void)vm;
	(void)level;
	return vmm_errorf(err, "interrupt line %u: the Unicorn backend has no IOAPIC", line);
}

static int uc_interrupt(struct vmm_vm *vm, uint8_t vector, struct vmm_error *err)
{
	(void)err;
	pthread_mutex_lock(&vm->lock);
	lapic_raise(&vm->lapic, vector);
	apic_changed_locked(vm);
	notify_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void uc_kick(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->kick_pending = true;
	notify_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

static uint64_t uc_get_rip(struct vmm_vm *vm)
{
	return reg(vm, UC_X86_REG_RIP);
}

const struct vmm_backend vmm_unicorn_backend = {
	.name = "unicorn",
	.available = uc_available,
	.create = uc_create,
	.map_memory = uc_map_memory,
	.unmap_memory = uc_unmap_memory,
	.set_pvh_entry = uc_set_pvh_entry,
	.run = uc_run,
	.set_irq_line = uc_set_irq_line,
	.interrupt = uc_interrupt,
	.kick = uc_kick,
	.get_rip = uc_get_rip,
	.destroy = uc_destroy,
};
