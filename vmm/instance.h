/*
 * instance.h: one exokernel instance: its guest memory, its VM in a
 * backend, its devices and console, and the thread that runs it.
 *
 * Life cycle: instance_prepare() reads the image and initrd and checks
 * that they boot in the instance's memory, with no backend yet, so exovmm
 * refuses a bad configuration alike on every host.  instance_create() does
 * the rest of what can fail (the VM, allocating and mapping memory,
 * loading) on the backend exovmm chose, and instance_open_log() opens the
 * log, so nothing runs until every instance is ready.  instance_start()
 * then only starts the log afresh and spawns the thread.
 */
#ifndef VMM_INSTANCE_H
#define VMM_INSTANCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "console.h"
#include "guestmem.h"
#include "memory.h"
#include "uart.h"

#define INSTANCE_REASON_MAX 256

enum instance_outcome {
	INSTANCE_NOT_RUN,     /* the instance never started */
	INSTANCE_EXITED,      /* the guest wrote an exit code */
	INSTANCE_STOPPED,     /* exovmm stopped it: see stop_reason */
	INSTANCE_INTERRUPTED, /* exovmm was asked to stop (SIGINT, SIGTERM) */
};

struct instance {
	const struct vmm_instance_config *cfg;
	const struct vmm_backend *backend;
	struct vmm_vm *vm;
	struct guest_mem mem;
	struct memory_state memory; /* memory.c */
	struct console console;
	struct uart uart;
	/* The files instance_prepare() read, kept until they are loaded. */
	void *image, *initrd;
	size_t image_len, initrd_len;
	pthread_t thread;
	bool started; /* the thread exists and is not joined yet */
	bool ran;     /* the thread was ever started */
	atomic_bool stop_requested;
	atomic_bool finished; /* the run loop has ended */
	atomic_int tid;	      /* the vCPU thread's host id; 0 until it runs */
	atomic_uint_fast64_t exits; /* returns from the guest to exovmm */
	/* The CPU quota layer parks the vCPU here between runs (cpusched.c). */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	bool parked;
	void (*on_finish)(void *); /* called by the instance thread at its end */
	void *on_finish_arg;
	/* Outcome, valid once the thread has ended. */
	enum instance_outcome outcome;
	int exit_code;
	char stop_reason[INSTANCE_REASON_MAX];
};

/* What a device or hypercall handler tells the run loop. */
enum vmm_action {
	VMM_CONTINUE, /* resume the guest */
	VMM_END,      /* the instance's run is over (outcome recorded) */
};

/*
 * Errors say what failed; the caller names the instance.  A failed
 * instance_prepare() leaves nothing to release; after a successful one,
 * instance_destroy() releases the instance whatever happens next.
 */
int instance_prepare(struct instance *inst, const struct vmm_instance_config *cfg,
		     struct vmm_error *err);
int instance_create(struct instance *inst, const struct vmm_backend *backend,
		    struct vmm_error *err);
/*
 * Send the console also to LOG_DIR/NAME.log.  The file's old contents
 * stay until the instance starts, so a run that never starts loses none.
 */
int instance_open_log(struct instance *inst, const char *log_dir, struct vmm_error *err);
int instance_start(struct instance *inst, struct vmm_error *err);
/*
 * Park the vCPU (kick it out of the guest and keep it out) or release it.
 * Safe from any thread; a parked vCPU still stops when asked to.
 */
void instance_park(struct instance *inst, bool parked);
/* Ask a running instance to stop; returns at once. */
void instance_request_stop(struct instance *inst);
void instance_join(struct instance *inst);
/* Release everything; an instance that never ran also loses its log file. */
void instance_destroy(struct instance *inst);

/* End the run: the guest exited with code. */
enum vmm_action instance_exit(struct instance *inst, int code);
/* End the run: exovmm stops the instance because of what fmt says. */
enum vmm_action instance_stop(struct instance *inst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* VMM_INSTANCE_H */
