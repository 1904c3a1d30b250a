/*
 * hv.c: hypervisor detection.  CPUID.1:ECX bit 31 says a hypervisor is
 * present; leaf EXO_HVC_CPUID_BASE then carries its 12-byte signature.
 */
#include <string.h>

#include "hv.h"
#include "layout.h"
#include "x86.h"

struct hv_info hv;

static void read_signature(void)
{
	struct cpuid_regs r = cpuid(EXO_HVC_CPUID_BASE);
	uint32_t words[] = {r.ebx, r.ecx, r.edx};

	memcpy(hv.signature, words, EXO_HVC_SIGNATURE_LEN);
	hv.signature[EXO_HVC_SIGNATURE_LEN] = '\0';
	if (memcmp(hv.signature, EXO_HVC_SIGNATURE, EXO_HVC_SIGNATURE_LEN) ||
	    r.eax < EXO_HVC_CPUID_INFO) {
		hv.kind = HV_OTHER;
		return;
	}
	r = cpuid(EXO_HVC_CPUID_INFO);
	hv.kind = HV_EXOVMM;
	hv.tsc_khz = r.ebx;
	hv.lapic_khz = r.ecx;
	hv.features = r.edx;
}

void hv_detect(void)
{
	if (cpuid(CPUID_FEATURES).ecx & CPUID_1_ECX_HYPERVISOR)
		read_signature();
	else
		hv.kind = HV_NONE;
}

/*
 * A call's request is a static of the kernel image, so its physical
 * address is KERN_V2P's, known below 4 GiB as outl needs.
 */
#define HVC_REQUEST static __attribute__((aligned(EXO_HVC_REQUEST_ALIGN)))

static void hvc_issue(enum exo_hvc_call call, const void *req)
{
	outl(EXO_HVC_PORT(call), (uint32_t)KERN_V2P(req));
}

int32_t hvc_console(uint64_t buf, uint32_t len)
{
	HVC_REQUEST struct exo_hvc_console req;

	req = (struct exo_hvc_console){.buf = buf, .len = len};
	hvc_issue(EXO_HVC_CONSOLE, &req);
	return req.ret;
}

int32_t hvc_chunk_release(uint32_t first, uint32_t count)
{
	HVC_REQUEST struct exo_hvc_chunk_release req;

	req = (struct exo_hvc_chunk_release){.first = first, .count = count};
	hvc_issue(EXO_HVC_CHUNK_RELEASE, &req);
	return req.ret;
}
