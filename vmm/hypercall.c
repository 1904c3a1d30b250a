/*
 * hypercall.c: the hypercalls of include/exo/hvc.h.  A call is an `outl` of
 * the guest-physical address of its request struct to
 * EXO_HVC_PORT(call); handlers are registered by call number below.  Every
 * guest address is checked with guest_ptr() before use.
 */
#include <stddef.h>

#include "exo/hvc.h"
#include "io.h"
#include "memory.h"

typedef enum vmm_action (*hypercall_fn)(struct instance *inst, uint64_t request_gpa);

/*
 * The request struct of a call, or NULL (and the instance stopped) if it
 * is misaligned or lies outside memory.
 */
static void *request(struct instance *inst, const char *call, uint64_t gpa, size_t size)
{
	void *req;

	if (gpa % EXO_HVC_REQUEST_ALIGN) {
		instance_stop(inst, "hypercall %s: request at 0x%llx is not %u-byte aligned", call,
			      (unsigned long long)gpa, EXO_HVC_REQUEST_ALIGN);
		return NULL;
	}
	req = guest_ptr(&inst->mem, gpa, size);
	if (!req)
		instance_stop(inst, "hypercall %s: request at 0x%llx lies outside guest memory",
			      call, (unsigned long long)gpa);
	return req;
}

static enum vmm_action hvc_console(struct instance *inst, uint64_t gpa)
{
	struct exo_hvc_console *req = request(inst, "console", gpa, sizeof(*req));
	uint64_t buf_gpa;
	uint32_t len;
	const void *buf;

	if (!req)
		return VMM_END;
	/* Read each field once: what is checked is what is used. */
	buf_gpa = req->buf;
	len = req->len;
	if (len > EXO_HVC_CONSOLE_MAX) {
		req->ret = EXO_HVC_EINVAL;
		return VMM_CONTINUE;
	}
	buf = guest_ptr(&inst->mem, buf_gpa, len);
	if (!buf) {
		req->ret = EXO_HVC_EFAULT;
		return VMM_CONTINUE;
	}
	console_write(&inst->console, buf, len);
	req->ret = EXO_HVC_OK;
	return VMM_CONTINUE;
}

static enum vmm_action hvc_chunk_release(struct instance *inst, uint64_t gpa)
{
	struct exo_hvc_chunk_release *req = request(inst, "chunk_release", gpa, sizeof(*req));
	int32_t ret;

	if (!req || !memory_release(inst, req->first, req->count, &ret))
		return VMM_END;
	req->ret = ret;
	return VMM_CONTINUE;
}

static const hypercall_fn hypercalls[EXO_HVC_NCALLS] = {
	[EXO_HVC_CONSOLE] = hvc_console,
	[EXO_HVC_CHUNK_RELEASE] = hvc_chunk_release,
};

enum vmm_action hypercall_out(struct instance *inst, uint16_t offset, uint8_t size, uint32_t value)
{
	if (size != sizeof(uint32_t))
		return instance_stop(inst, "hypercall %u: issued with a %u-byte write, not outl",
				     offset, size);
	if (offset >= EXO_HVC_NCALLS || !hypercalls[offset])
		return instance_stop(inst, "unknown hypercall %u", offset);
	return hypercalls[offset](inst, value);
}
