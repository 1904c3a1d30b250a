/*
 * backend.h: the interface every way of running an instance implements.
 *
 * exovmm's instance code (instance.c) drives a VM only through these
 * operations, so the KVM backend (kvm.c) and the later Unicorn and libvirt
 * backends are interchangeable.  A VM has one vCPU; run() and get_rip() are
 * called only from the instance's own thread, kick() from any thread.
 * Error messages say what failed, not which instance: the caller adds that.
 */
#ifndef VMM_BACKEND_H
#define VMM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct vmm_vm; /* a backend's own state for one VM */

enum vmm_exit_reason {
	VMM_EXIT_IO,          /* port I/O the backend does not handle itself */
	VMM_EXIT_MMIO,        /* access to a guest-physical address with no memory */
	VMM_EXIT_SHUTDOWN,    /* triple fault */
	VMM_EXIT_KICKED,      /* kick() was called */
	VMM_EXIT_FAILED,      /* the backend could not go on: see exit.what */
};

struct vmm_exit {
	enum vmm_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;   /* 1, 2 or 4 bytes */
			bool write;
			uint32_t count; /* > 1 for string I/O (rep ins/outs) */
			uint8_t *data;  /* count * size bytes; fill it for reads */
		} io;
		struct {
			uint64_t gpa;
			uint8_t size;
			bool write;
		} mmio;
	};
	char what[128]; /* VMM_EXIT_FAILED: which exit or error, in words */
};

struct vmm_backend {
	const char *name;
	/*
	 * Can this host run the backend at all?  0, or -1 with the host's
	 * reason in err (no /dev/kvm, say).  Cheap; may be called often.
	 */
	int (*available)(struct vmm_error *err);
	/*
	 * Create a VM.  It has its interrupt controller and its one vCPU
	 * by the time set_pvh_entry() returns.
	 */
	int (*create)(struct vmm_vm **vm, struct vmm_error *err);
	/*
	 * Back guest-physical [gpa, gpa + size) with host memory.  slot
	 * identifies the range so it can be withdrawn again later.
	 */
	int (*map_memory)(struct vmm_vm *vm, uint32_t slot, uint64_t gpa,
			  void *host, uint64_t size, struct vmm_error *err);
	/* Withdraw slot: the guest can no longer reach its memory. */
	int (*unmap_memory)(struct vmm_vm *vm, uint32_t slot, struct vmm_error *err);
	/* Start the vCPU at a PVH entry: 32-bit protected mode, paging off. */
	int (*set_pvh_entry)(struct vmm_vm *vm, uint32_t eip, uint32_t ebx,
			     struct vmm_error *err);
	/* Run until an exit exovmm must handle; then describe it in *exit. */
	int (*run)(struct vmm_vm *vm, struct vmm_exit *exit,
		   struct vmm_error *err);
	/* Raise (level true) or lower an interrupt line of the VM. */
	int (*set_irq_line)(struct vmm_vm *vm, unsigned line, bool level,
			    struct vmm_error *err);
	/* Deliver an interrupt on vector to the vCPU; safe from any thread. */
	int (*interrupt)(struct vmm_vm *vm, uint8_t vector, struct vmm_error *err);
	/* Make run() return VMM_EXIT_KICKED soon; safe from any thread. */
	void (*kick)(struct vmm_vm *vm);
	/* Guest %rip at the last exit, for log lines. */
	uint64_t (*get_rip)(struct vmm_vm *vm);
	void (*destroy)(struct vmm_vm *vm);
};

extern const struct vmm_backend vmm_kvm_backend;
#ifdef HAVE_UNICORN
extern const struct vmm_backend vmm_unicorn_backend;
#endif

/* The backend called name, or NULL. */
const struct vmm_backend *vmm_backend_find(const char *name);
/* The backend used when the configuration names none. */
const struct vmm_backend *vmm_backend_default(void);
/* The names of the built-in backends, for messages: "kvm" or "kvm, unicorn". */
const char *vmm_backend_names(void);

#endif /* VMM_BACKEND_H */
