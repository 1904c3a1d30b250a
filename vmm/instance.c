/*
 * instance.c: one exokernel instance from creation to its end.  Owns its
 * loading, its thread, and the run loop that hands each exit to the device
 * that owns it.  Its guest RAM is memory.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "instance.h"
#include "io.h"
#include "pvh.h"

/* Guest memory as memory_init() lays it out, before there is any. */
static void plan_memory(const struct vmm_instance_config *cfg, struct guest_mem *plan)
{
	plan->size = cfg->memory;
	plan->initrd_top = cfg->memory_min ? cfg->memory_min : cfg->memory;
}

/* Read the image and initrd and check that they boot in the instance's memory. */
static int read_guest(struct instance *inst, struct vmm_error *err)
{
	const struct vmm_instance_config *cfg = inst->cfg;
	struct guest_mem plan = {0};

	if (vmm_read_file(cfg->image, cfg->memory, &inst->image, &inst->image_len, err) < 0)
		return -1;
	if (cfg->initrd &&
	    vmm_read_file(cfg->initrd, cfg->memory, &inst->initrd, &inst->initrd_len, err) < 0)
		return -1;
	plan_memory(cfg, &plan);
	return pvh_check(&plan, inst->image, inst->image_len, cfg->image, inst->initrd,
			 inst->initrd_len, cfg->initrd, cfg->cmdline, err);
}

static void free_guest_files(struct instance *inst)
{
	free(inst->image);
	free(inst->initrd);
	inst->image = inst->initrd = NULL;
}

/* Put the image and initrd, with the boot information, into guest memory. */
static int load_guest(struct instance *inst, struct vmm_error *err)
{
	const struct vmm_instance_config *cfg = inst->cfg;
	struct pvh_boot boot;
	int rc;

	rc = pvh_load(&inst->mem, inst->image, inst->image_len, cfg->image, inst->initrd,
		      inst->initrd_len, cfg->initrd, cfg->cmdline, &boot, err);
	free_guest_files(inst);
	if (rc < 0)
		return -1;
	return inst->backend->set_pvh_entry(inst->vm, boot.entry, boot.start_info, err);
}

int instance_prepare(struct instance *inst, const struct vmm_instance_config *cfg,
		     struct vmm_error *err)
{
	memset(inst, 0, sizeof(*inst));
	pthread_mutex_init(&inst->park_lock, NULL);
	pthread_cond_init(&inst->park_cond, NULL);
	inst->cfg = cfg;
	inst->outcome = INSTANCE_NOT_RUN;
	/* Without a log file first: that cannot fail, and destroy needs it. */
	if (console_open(&inst->console, cfg->name, NULL, err) < 0 ||
	    read_guest(inst, err) < 0) {
		instance_destroy(inst);
		return -1;
	}
	return 0;
}

int instance_create(struct instance *inst, const struct vmm_backend *backend,
		    struct vmm_error *err)
{
	inst->backend = backend;
	if (backend->create(&inst->vm, err) < 0 || memory_init(inst, err) < 0 ||
	    load_guest(inst, err) < 0)
		return -1;
	return 0;
}

int instance_open_log(struct instance *inst, const char *log_dir, struct vmm_error *err)
{
	char *path;
	int rc;

	if (asprintf(&path, "%s/%s.log", log_dir, inst->cfg->name) < 0)
		return vmm_errorf(err, "out of memory");
	console_close(&inst->console);
	rc = console_open(&inst->console, inst->cfg->name, path, err);
	free(path);
	return rc;
}

enum vmm_action instance_exit(struct instance *inst, int code)
{
	inst->outcome = INSTANCE_EXITED;
	inst->exit_code = code;
	return VMM_END;
}

enum vmm_action instance_stop(struct instance *inst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inst->stop_reason, sizeof(inst->stop_reason), fmt, ap);
	va_end(ap);
	inst->outcome = INSTANCE_STOPPED;
	return VMM_END;
}

/* Out of the guest, without using CPU, until released or stopped. */
static void wait_while_parked(struct instance *inst)
{
	pthread_mutex_lock(&inst->park_lock);
	while (inst->parked && !atomic_load(&inst->stop_requested))
		pthread_cond_wait(&inst->park_cond, &inst->park_lock);
	pthread_mutex_unlock(&inst->park_lock);
}

void instance_park(struct instance *inst, bool parked)
{
	bool was;

	pthread_mutex_lock(&inst->park_lock);
	was = inst->parked;
	inst->parked = parked;
	if (was && !parked)
		pthread_cond_signal(&inst->park_cond);
	pthread_mutex_unlock(&inst->park_lock);
	if (parked && !was)
		inst->backend->kick(inst->vm);
}

/* Hand one exit to whoever owns it. */
static enum vmm_action handle_exit(struct instance *inst, const struct vmm_exit *exit)
{
	switch (exit->reason) {
	case VMM_EXIT_IO:
		return io_dispatch(inst, exit);
	case VMM_EXIT_MMIO:
		if (memory_withdrawn_access(inst, exit->mmio.gpa))
			return VMM_END;
		return instance_stop(inst, "unexpected MMIO: %s of %u bytes at 0x%llx",
				     exit->mmio.write ? "write" : "read", exit->mmio.size,
				     (unsigned long long)exit->mmio.gpa);
	case VMM_EXIT_SHUTDOWN:
		return instance_stop(inst, "triple fault (shutdown)");
	case VMM_EXIT_KICKED:
		memory_take_due(inst);
		wait_while_parked(inst);
		if (!atomic_load(&inst->stop_requested))
			return VMM_CONTINUE;
		inst->outcome = INSTANCE_INTERRUPTED;
		return VMM_END;
	case VMM_EXIT_FAILED:
		return instance_stop(inst, "%s", exit->what);
	}
	return instance_stop(inst, "unknown exit reason %d", exit->reason);
}

static void report_outcome(struct instance *inst)
{
	uint64_t rip = inst->backend->get_rip(inst->vm);

	switch (inst->outcome) {
	case INSTANCE_EXITED:
		console_log(&inst->console, "exited with code %d", inst->exit_code);
		break;
	case INSTANCE_STOPPED:
		console_log(&inst->console, "stopped: %s, at rip 0x%llx", inst->stop_reason,
			    (unsigned long long)rip);
		break;
	case INSTANCE_INTERRUPTED:
		console_log(&inst->console, "interrupted at rip 0x%llx", (unsigned long long)rip);
		break;
	case INSTANCE_NOT_RUN:
		break;
	}
}

static void *instance_thread(void *arg)
{
	struct instance *inst = arg;
	struct vmm_exit exit;
	struct vmm_error err;

	atomic_store(&inst->tid, (int)gettid());
	for (;;) {
		if (inst->backend->run(inst->vm, &exit, &err) < 0) {
			instance_stop(inst, "%s", err.msg);
			break;
		}
		atomic_fetch_add(&inst->exits, 1);
		if (handle_exit(inst, &exit) == VMM_END)
			break;
	}
	atomic_store(&inst->finished, true);
	console_flush(&inst->console);
	report_outcome(inst);
	if (inst->on_finish)
		inst->on_finish(inst->on_finish_arg);
	return NULL;
}

int instance_start(struct instance *inst, struct vmm_error *err)
{
	int rc;

	if (console_start(&inst->console, err) < 0)
		return -1;
	rc = pthread_create(&inst->thread, NULL, instance_thread, inst);
	if (rc != 0)
		return vmm_errorf(err, "cannot start its thread: %s", strerror(rc));
	inst->started = inst->ran = true;
	return 0;
}

void instance_request_stop(struct instance *inst)
{
	atomic_store(&inst->stop_requested, true);
	pthread_mutex_lock(&inst->park_lock);
	pthread_cond_signal(&inst->park_cond);
	pthread_mutex_unlock(&inst->park_lock);
	inst->backend->kick(inst->vm);
}

void instance_join(struct instance *inst)
{
	if (inst->started)
		pthread_join(inst->thread, NULL);
	inst->started = false;
}

void instance_destroy(struct instance *inst)
{
	instance_join(inst);
	if (inst->ran)
		console_close(&inst->console);
	else
		console_discard(&inst->console);
	if (inst->vm)
		inst->backend->destroy(inst->vm);
	inst->vm = NULL;
	memory_destroy(inst);
	free_guest_files(inst);
	pthread_cond_destroy(&inst->park_cond);
	pthread_mutex_destroy(&inst->park_lock);
}
