/*
 * violate.c: deliberate offences against the monitor (see violate.h).
 * Each is a single act; if the monitor lets it pass, the caller panics.
 */
#include <stdint.h>
#include <string.h>

#include <exo/hvc.h>

#include "hv.h"
#include "layout.h"
#include "violate.h"
#include "x86.h"

/* The POST-code port: no exovmm device owns it. */
#define UNOWNED_PORT 0x80
/* Inside the MMIO hole, where no device and no RAM lie. */
#define UNBACKED_PADDR (EXO_MMIO_HOLE_START + 256 * EXO_MIB)
#define VIOLATION_MARK 0xe0
/* An aligned request address at the top of the 32-bit space, far above RAM. */
#define WILD_REQUEST_PADDR 0xfffffff8u

/* An empty IDT makes any exception unrecoverable: #UD -> #GP -> #DF -> shutdown. */
static void triple_fault(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = {0, 0};

	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
}

static void unowned_port(void)
{
	outb(UNOWNED_PORT, VIOLATION_MARK);
}

static void unbacked_mmio(void)
{
	*(volatile uint8_t *)exo_p2v(UNBACKED_PADDR) = VIOLATION_MARK;
}

/* A hypercall whose request struct exovmm cannot even read. */
static void wild_hypercall(void)
{
	outl(EXO_HVC_PORT(EXO_HVC_CONSOLE), WILD_REQUEST_PADDR);
}

/*
 * Give the highest granted chunk back to exovmm, then touch it: what a
 * guest that keeps using a chunk it no longer has does.
 */
static void withdrawn_chunk(void)
{
	struct exo_mailbox *mb = exo_p2v(EXO_MAILBOX_GPA);
	uint32_t c = mb->max_chunks;

	if (!(hv.features & EXO_HVC_F_MAILBOX))
		return; /* no mailbox: nothing is ever withdrawn */
	while (c-- > mb->min_chunks)
		if (exo_mailbox_granted(mb, c))
			break;
	if (c < mb->min_chunks || hvc_chunk_release(c, 1) != EXO_HVC_OK)
		return; /* nothing above memory_min to give back */
	*(volatile uint8_t *)exo_p2v((uint64_t)c << EXO_CHUNK_SHIFT) =
	    VIOLATION_MARK;
}

static const struct exo_violation violations[] = {
	{"triple", triple_fault},
	{"port", unowned_port},
	{"mmio", unbacked_mmio},
	{"hvc", wild_hypercall},
	{"withdrawn", withdrawn_chunk},
};

const struct exo_violation *violation_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++)
		if (strlen(violations[i].name) == len &&
		    !memcmp(violations[i].name, name, len))
			return &violations[i];
	return NULL;
}
