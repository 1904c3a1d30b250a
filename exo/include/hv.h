/*
 * hv.h: which hypervisor the kernel runs on, from the CPUID hypervisor
 * leaves (exo/arch/x86_64/hv.c).
 */
#ifndef EXO_HV_H
#define EXO_HV_H

#include <stdint.h>

#include <exo/hvc.h>

enum hv_kind {
	HV_NONE,   /* CPUID says bare hardware */
	HV_EXOVMM, /* our monitor: hypercalls are served */
	HV_OTHER,  /* some other hypervisor (QEMU/KVM, ...) */
};

struct hv_info {
	enum hv_kind kind;
	char signature[EXO_HVC_SIGNATURE_LEN + 1]; /* NUL-terminated */
	/* From EXO_HVC_CPUID_INFO under exovmm; 0 when unknown. */
	uint32_t tsc_khz;
	uint32_t lapic_khz;
	uint32_t features;
};

extern struct hv_info hv;

void hv_detect(void);

/*
 * EXO_HVC_CONSOLE: ask exovmm to write len bytes at guest-physical buf.
 * Returns the request's ret field (EXO_HVC_OK or a negative EXO_HVC_E*).
 * Only under exovmm.
 */
int32_t hvc_console(uint64_t buf, uint32_t len);

/* EXO_HVC_CHUNK_RELEASE: give chunks [first, first + count) back. */
int32_t hvc_chunk_release(uint32_t first, uint32_t count);

#endif /* EXO_HV_H */
