/*
 * violate.c: deliberate offences against the monitor (see violate.h).
 * Each is a single act; if the monitor lets it pass, the caller panics.
 */
#include <stdint.h>
#include <string.h>

#include <exo/hvc.h>

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

static const struct exo_violation violations[] = {
	{"triple", triple_fault},
	{"port", unowned_port},
	{"mmio", unbacked_mmio},
	{"hvc", wild_hypercall},
};

const struct exo_violation *violation_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++)
		if (strlen(violations[i].name) == len &&
		    !memcmp(violations[i].name, name, len))
			return &violations[i];
	return NULL;
}
