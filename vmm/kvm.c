/*
 * kvm.c: the KVM backend.  Owns /dev/kvm, one VM per instance with the
 * in-kernel interrupt controllers (PIC, IOAPIC, LAPIC), its single vCPU,
 * the CPUID the guest sees (the host's supported leaves plus exovmm's
 * hypervisor leaves), the PVH entry state, and the translation of KVM exits
 * into struct vmm_exit.
 *
 * Timer interrupts, HLT and the interrupt controllers are handled inside
 * the host kernel, so a guest that only computes and takes timer ticks
 * never exits to user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exo/hvc.h"
#include "backend.h"
#include "cpuid.h"

#define KVM_DEVICE "/dev/kvm"
#define KVM_EXPECTED_API_VERSION 12
/*
 * Standard placements of the pages Intel VMX needs for its real-mode
 * emulation (the TSS takes three pages): just below the BIOS area at the
 * top of the 32-bit space, far from guest RAM.
 */
#define KVM_TSS_GPA 0xfffbd000ul
/*
 * KVM's LAPIC timer counts at one tick per nanosecond of bus clock
 * (APIC_BUS_CYCLE_NS_DEFAULT in the host kernel).
 */
#define KVM_LAPIC_TIMER_KHZ 1000000u
#define KVM_CPUID_MAX_ENTRIES 256
/* Breakpoint instructions, for deliver_breakpoint(). */
#define X86_OPCODE_INT3 0xcc
#define X86_OPCODE_INT_IMM8 0xcd
#define X86_VECTOR_BP 3
/* flags, then insn_size and insn_bytes: two u64s of run->internal.data. */
#define KVM_EMULATION_FAILURE_NDATA_WITH_BYTES 2
/* MSI address of the LAPIC of APIC id 0 (x86 MSI format: 0xfee, dest id 0). */
#define KVM_MSI_LAPIC_ADDRESS 0xfee00000u
/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KVM_KICK_SIGNAL SIGUSR1

/* Flat 4 GiB segments for the PVH entry state. */
#define PVH_CODE_SELECTOR 0x08
#define PVH_DATA_SELECTOR 0x10
#define PVH_TSS_SELECTOR 0x18
#define SEG_TYPE_CODE_EXEC_READ_ACCESSED 0xb
#define SEG_TYPE_DATA_READ_WRITE_ACCESSED 0x3
#define SEG_TYPE_TSS32_BUSY 0xb
#define SEG_LIMIT_4G 0xffffffffu
#define TSS32_LIMIT 0x67 /* a 32-bit TSS is 104 bytes */
#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define RFLAGS_RESERVED_ONE (1ull << 1)

struct vmm_vm {
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t vcpu_thread; /* valid while vcpu_thread_known */
	atomic_bool vcpu_thread_known;
};

static int kvm_fd = -1;
static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;
static int kvm_open_errno;
static int kvm_max_slots; /* KVM_CAP_NR_MEMSLOTS */

static void kick_signal_handler(int sig)
{
	(void)sig; /* its only job is to interrupt KVM_RUN with EINTR */
}

static void kvm_open_once(void)
{
	struct sigaction sa;

	kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		kvm_open_errno = errno;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(KVM_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must see EINTR */
}

static int kvm_check(struct vmm_error *err)
{
	pthread_once(&kvm_once, kvm_open_once);
	if (kvm_fd < 0)
		return vmm_errorf(err, "%s: %s", KVM_DEVICE, strerror(kvm_open_errno));
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_EXPECTED_API_VERSION)
		return vmm_errorf(err, "%s: unsupported KVM API version", KVM_DEVICE);
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0)
		return vmm_errorf(err, "%s: the host KVM lacks the in-kernel irqchip, immediate exit or MSI injection",
				  KVM_DEVICE);
	kvm_max_slots = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	return 0;
}

/*
 * The guest's CPUID: what the host KVM supports, with the hypervisor bit
 * set and KVM's own paravirtual leaves replaced by exovmm's.
 */
static int kvm_setup_cpuid(struct vmm_vm *vm, struct vmm_error *err)
{
	size_t bytes = sizeof(struct kvm_cpuid2) +
		       KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, bytes);
	struct vmm_cpuid_leaf ours[VMM_CPUID_LEAVES];
	uint32_t i, kept = 0;
	int tsc_khz, rc = 0;

	if (!cpuid)
		return vmm_errorf(err, "out of memory");
	cpuid->nent = KVM_CPUID_MAX_ENTRIES - VMM_CPUID_LEAVES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		rc = vmm_errorf(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (vmm_cpuid_hypervisor_range(e->function))
			continue;
		if (e->function == VMM_CPUID_LEAF_FEATURES)
			e->ecx |= VMM_CPUID_FEATURES_ECX_HYPERVISOR;
		cpuid->entries[kept++] = *e;
	}
	tsc_khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	vmm_cpuid_leaves(tsc_khz > 0 ? (uint32_t)tsc_khz : 0, KVM_LAPIC_TIMER_KHZ, 0, ours);
	for (i = 0; i < VMM_CPUID_LEAVES; i++)
		cpuid->entries[kept++] = (struct kvm_cpuid_entry2){
			.function = ours[i].function, .eax = ours[i].eax, .ebx = ours[i].ebx,
			.ecx = ours[i].ecx, .edx = ours[i].edx};
	cpuid->nent = kept;
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = vmm_errorf(err, "KVM_SET_CPUID2: %s", strerror(errno));
out:
	free(cpuid);
	return rc;
}

static int kvm_create_vcpu(struct vmm_vm *vm, struct vmm_error *err)
{
	int size;

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return vmm_errorf(err, "KVM_CREATE_VCPU: %s", strerror(errno));
	size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return vmm_errorf(err, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return vmm_errorf(err, "mmap of kvm_run: %s", strerror(errno));
	}
	vm->run_size = (size_t)size;
	return kvm_setup_cpuid(vm, err);
}

static void kvm_destroy(struct vmm_vm *vm)
{
	if (!vm)
		return;
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	free(vm);
}

static int kvm_create(struct vmm_vm **out, struct vmm_error *err)
{
	struct vmm_vm *vm;

	if (kvm_check(err) < 0)
		return -1;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_errorf(err, "out of memory");
	vm->vm_fd = vm->vcpu_fd = -1;
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		vmm_errorf(err, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0) {
		vmm_errorf(err, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	kvm_destroy(vm);
	return -1;
}

/*
 * The interrupt controllers and the vCPU come after the boot memory:
 * memory slots added to a VM that already has an in-kernel irqchip cost
 * the host far more (measured on kvm-pvm: 5.8 ms for 32 slots against
 * 0.6 ms), and every instance adds its slots at boot.
 */
static int kvm_finish_setup(struct vmm_vm *vm, struct vmm_error *err)
{
	if (vm->vcpu_fd >= 0)
		return 0;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_errorf(err, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	return kvm_create_vcpu(vm, err);
}

static int kvm_map_memory(struct vmm_vm *vm, uint32_t slot, uint64_t gpa, void *host,
			  uint64_t size, struct vmm_error *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (slot >= (uint32_t)kvm_max_slots)
		return vmm_errorf(err, "guest memory needs more than the host's %d KVM memory slots",
				  kvm_max_slots);
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return vmm_errorf(err, "mapping guest memory slot %u at 0x%llx: %s", slot,
				  (unsigned long long)gpa, strerror(errno));
	return 0;
}

static int kvm_unmap_memory(struct vmm_vm *vm, uint32_t slot, struct vmm_error *err)
{
	/* A slot of size 0 is deleted. */
	struct kvm_userspace_memory_region region = {.slot = slot};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return vmm_errorf(err, "removing guest memory slot %u: %s", slot, strerror(errno));
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = SEG_LIMIT_4G,
		.selector = selector,
		.type = type,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

static int kvm_set_pvh_entry(struct vmm_vm *vm, uint32_t eip, uint32_t ebx,
			     struct vmm_error *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = eip, .rbx = ebx, .rflags = RFLAGS_RESERVED_ONE};

	if (kvm_finish_setup(vm, err) < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return vmm_errorf(err, "KVM_GET_SREGS: %s", strerror(errno));
	flat_segment(&sregs.cs, PVH_CODE_SELECTOR, SEG_TYPE_CODE_EXEC_READ_ACCESSED);
	flat_segment(&sregs.ds, PVH_DATA_SELECTOR, SEG_TYPE_DATA_READ_WRITE_ACCESSED);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* The PVH spec asks for a valid 32-bit TSS in TR; its base is unused. */
	sregs.tr = (struct kvm_segment){.selector = PVH_TSS_SELECTOR, .type = SEG_TYPE_TSS32_BUSY,
					.limit = TSS32_LIMIT, .present = 1};
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr3 = sregs.cr4 = sregs.efer = 0;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return vmm_errorf(err, "setting the PVH entry state: %s", strerror(errno));
	return 0;
}

static int kvm_set_irq_line(struct vmm_vm *vm, unsigned line, bool level, struct vmm_error *err)
{
	struct kvm_irq_level irq = {.irq = line, .level = level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return vmm_errorf(err, "KVM_IRQ_LINE %u: %s", line, strerror(errno));
	return 0;
}

/*
 * A message-signalled interrupt to the LAPIC: fixed delivery of vector to
 * APIC id 0 (the one vCPU), so the guest needs no IOAPIC routing.
 */
static int kvm_interrupt(struct vmm_vm *vm, uint8_t vector, struct vmm_error *err)
{
	struct kvm_msi msi = {.address_lo = KVM_MSI_LAPIC_ADDRESS, .data = vector};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return vmm_errorf(err, "KVM_SIGNAL_MSI vector %u: %s", vector, strerror(errno));
	return 0;
}

static void kvm_kick(struct vmm_vm *vm)
{
	/*
	 * immediate_exit covers a kick that lands before the thread enters
	 * KVM_RUN; the signal covers one already inside it.  Before
	 * set_pvh_entry() there is no vCPU to kick.
	 */
	if (!vm->run)
		return;
	__atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&vm->vcpu_thread_known))
		pthread_kill(vm->vcpu_thread, KVM_KICK_SIGNAL);
}

static uint64_t kvm_get_rip(struct vmm_vm *vm)
{
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static void describe_failure(struct vmm_vm *vm, struct vmm_exit *exit)
{
	struct kvm_run *run = vm->run;

	exit->reason = VMM_EXIT_FAILED;
	switch (run->exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(exit->what, sizeof(exit->what), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(exit->what, sizeof(exit->what),
			 "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(exit->what, sizeof(exit->what), "unexpected KVM exit %u",
			 run->exit_reason);
	}
}

static void describe_exit(struct vmm_vm *vm, struct vmm_exit *exit)
{
	struct kvm_run *run = vm->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->reason = VMM_EXIT_IO;
		exit->io.port = run->io.port;
		exit->io.size = run->io.size;
		exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.count = run->io.count;
		exit->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		exit->reason = VMM_EXIT_MMIO;
		exit->mmio.gpa = run->mmio.phys_addr;
		exit->mmio.size = (uint8_t)run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = VMM_EXIT_SHUTDOWN;
		break;
	default:
		describe_failure(vm, exit);
	}
}

/* Length of the breakpoint instruction (int3, or int $3) in bytes, or 0. */
static unsigned breakpoint_length(const uint8_t *insn, unsigned size)
{
	if (size >= 1 && insn[0] == X86_OPCODE_INT3)
		return 1;
	if (size >= 2 && insn[0] == X86_OPCODE_INT_IMM8 && insn[1] == X86_VECTOR_BP)
		return 2;
	return 0;
}

/*
 * Some hosts' KVM (kvm-pvm, used where hardware virtualisation is not
 * nested) fail to emulate a breakpoint the guest raises at CPL 0 and report
 * an emulation failure instead.  When the failing instruction is a
 * breakpoint raised at CPL 0, deliver the #BP ourselves, as the CPU would:
 * a trap, so the saved RIP is the next instruction.  (At CPL 3 the IDT
 * gate's DPL decides between #BP and #GP, which only KVM can judge.)
 * Returns true if it did.
 */
static bool deliver_breakpoint(struct vmm_vm *vm)
{
	struct kvm_run *run = vm->run;
	struct kvm_vcpu_events events;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	unsigned length;

	if (run->exit_reason != KVM_EXIT_INTERNAL_ERROR ||
	    run->emulation_failure.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < KVM_EMULATION_FAILURE_NDATA_WITH_BYTES ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return false;
	length = breakpoint_length(run->emulation_failure.insn_bytes,
				   run->emulation_failure.insn_size);
	if (!length || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0 || sregs.cs.dpl != 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return false;
	regs.rip += length;
	events.exception.injected = 1;
	events.exception.nr = X86_VECTOR_BP;
	events.exception.has_error_code = 0;
	return ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) == 0 &&
	       ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &events) == 0;
}

static int kvm_run_vcpu(struct vmm_vm *vm, struct vmm_exit *exit, struct vmm_error *err)
{
	if (!atomic_load(&vm->vcpu_thread_known)) {
		vm->vcpu_thread = pthread_self();
		atomic_store(&vm->vcpu_thread_known, true);
	}
	do {
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				__atomic_store_n(&vm->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				exit->reason = VMM_EXIT_KICKED;
				return 0;
			}
			return vmm_errorf(err, "KVM_RUN: %s", strerror(errno));
		}
	} while (deliver_breakpoint(vm));
	describe_exit(vm, exit);
	return 0;
}

const struct vmm_backend vmm_kvm_backend = {
	.name = "kvm",
	.available = kvm_check,
	.create = kvm_create,
	.map_memory = kvm_map_memory,
	.unmap_memory = kvm_unmap_memory,
	.interrupt = kvm_interrupt,
	.set_pvh_entry = kvm_set_pvh_entry,
	.run = kvm_run_vcpu,
	.set_irq_line = kvm_set_irq_line,
	.kick = kvm_kick,
	.get_rip = kvm_get_rip,
	.destroy = kvm_destroy,
};
