/*
 * exo/hvc.h: the hypercall ABI between the exokernel (guest) and exovmm.
 *
 * This header is the single source of truth for both sides: exo/ includes
 * it to make calls, vmm/ includes it to serve them.  It owns
 *   - how the guest detects exovmm (a CPUID hypervisor leaf),
 *   - the I/O ports of the hypercall range and the exit port,
 *   - the request structs passed by guest-physical address,
 *   - memory chunks and the mailbox page exovmm shares with the guest,
 *   - the instance exit codes the exokernel uses.
 *
 * Calling convention (as Solo5's hvt): the guest places a request struct in
 * its own memory and executes `outl %eax, $port` with the struct's
 * guest-physical address in %eax.  One VM exit per call.  exovmm checks that
 * the whole struct, and every buffer it names, lies inside memory granted
 * to the instance before it reads or writes a byte; a bad address fails the
 * call with EXO_HVC_EFAULT in the struct's `ret` field when the struct
 * itself is readable, and stops the instance when it is not.  A request
 * struct must be EXO_HVC_REQUEST_ALIGN-aligned.
 */
#ifndef EXO_HVC_H
#define EXO_HVC_H

#include <stdint.h>

/* --- Detection ----------------------------------------------------------- */

/*
 * CPUID leaf EXO_HVC_CPUID_BASE returns the highest exovmm leaf in %eax and
 * the 12-byte signature EXO_HVC_SIGNATURE in %ebx, %ecx, %edx (in that
 * order, as every hypervisor leaf does).
 */
#define EXO_HVC_CPUID_BASE 0x40000000u
#define EXO_HVC_SIGNATURE "ExoVMMExoVMM"
#define EXO_HVC_SIGNATURE_LEN 12

/*
 * CPUID leaf EXO_HVC_CPUID_INFO:
 *   %eax  ABI version (EXO_HVC_VERSION)
 *   %ebx  TSC frequency in kHz (0 if unknown)
 *   %ecx  LAPIC timer input frequency in kHz (the bus clock the timer
 *         divides; 0 if unknown)
 *   %edx  feature bits (EXO_HVC_F_*)
 * Knowing both clocks lets the guest skip timer calibration.
 */
#define EXO_HVC_CPUID_INFO (EXO_HVC_CPUID_BASE + 1)
#define EXO_HVC_CPUID_MAX EXO_HVC_CPUID_INFO
#define EXO_HVC_VERSION 1u

/* Feature: the batched console hypercall is served. */
#define EXO_HVC_F_CONSOLE (1u << 0)
/* Feature: the mailbox is mapped and memory comes and goes in chunks. */
#define EXO_HVC_F_MAILBOX (1u << 1)
/*
 * Not a feature but a warning: the CPU is QEMU's TCG (exovmm's Unicorn
 * backend), which departs from the SDM where a guest can see it: #GP
 * where #SS is due, and no #AC.  Tests name these and check TCG's way.
 */
#define EXO_HVC_F_TCG (1u << 2)
/* QEMU's own hypervisor signature when it runs a guest with TCG. */
#define EXO_HVC_TCG_SIGNATURE "TCGTCGTCGTCG"

/* --- Ports --------------------------------------------------------------- */

/* Hypercall ports: EXO_HVC_PORT_BASE + call number. */
#define EXO_HVC_PORT_BASE 0x500u
#define EXO_HVC_PORT_COUNT 16u
#define EXO_HVC_PORT(call) (EXO_HVC_PORT_BASE + (call))

/*
 * The exit port, at the address of QEMU's isa-debug-exit device so one
 * image ends its run the same way under exovmm and QEMU.  The guest writes
 * a 32-bit exit code.  exovmm ends the instance with exactly that code;
 * QEMU exits with (code << 1) | 1.  Codes are 0..EXO_EXIT_CODE_MAX; a
 * larger value is a protocol violation and exovmm stops the instance.
 */
#define EXO_EXIT_PORT 0xf4u
#define EXO_EXIT_PORT_SIZE 4u
#define EXO_EXIT_CODE_MAX 63u

/* The 16550 UART every VMM has: COM1. */
#define EXO_UART_PORT 0x3f8u
#define EXO_UART_PORT_COUNT 8u

/* --- Calls --------------------------------------------------------------- */

enum exo_hvc_call {
	EXO_HVC_CONSOLE = 0,	   /* write a buffer to the instance console */
	EXO_HVC_CHUNK_RELEASE = 1, /* give memory chunks back to exovmm */
	EXO_HVC_NCALLS
};

#define EXO_HVC_REQUEST_ALIGN 8u

/* Results in a request's `ret` field. */
#define EXO_HVC_OK 0
#define EXO_HVC_EFAULT (-1) /* an address or length was outside granted memory */
#define EXO_HVC_EINVAL (-2) /* a field had a value the call does not accept */

/*
 * EXO_HVC_CONSOLE: write `len` bytes at guest-physical `buf` to the
 * console.  The guest batches output (a line or a buffer-full per call)
 * because each call is a VM exit.  len <= EXO_HVC_CONSOLE_MAX.
 */
#define EXO_HVC_CONSOLE_MAX 4096u
struct exo_hvc_console {
	uint64_t buf; /* guest-physical address of the bytes */
	uint32_t len;
	int32_t ret; /* written by exovmm */
};

/*
 * EXO_HVC_CHUNK_RELEASE: the guest no longer uses chunks [first, first +
 * count) and gives them back; it must not touch them again.  Every chunk
 * must be granted and at or above mailbox.min_chunks, else EINVAL and
 * none is released.
 */
struct exo_hvc_chunk_release {
	uint32_t first;
	uint32_t count;
	int32_t ret; /* written by exovmm */
	uint32_t pad;
};

/* --- Memory chunks and the mailbox ---------------------------------------- */

/*
 * Guest RAM starts at guest-physical 0 and is granted in chunks of
 * EXO_CHUNK_SIZE.  Chunk c covers [c * EXO_CHUNK_SIZE, (c + 1) *
 * EXO_CHUNK_SIZE).  At most EXO_CHUNKS_MAX chunks: RAM stays below the
 * 32-bit MMIO hole.
 */
#define EXO_CHUNK_SHIFT 21
#define EXO_CHUNK_SIZE (1ull << EXO_CHUNK_SHIFT)
#define EXO_CHUNKS_MAX 1536u /* 3 GiB */
#define EXO_CHUNK_WORD_BITS 64u
#define EXO_CHUNK_WORDS (EXO_CHUNKS_MAX / EXO_CHUNK_WORD_BITS)

/*
 * The mailbox: one page at EXO_MAILBOX_GPA (the first page of the MMIO
 * hole, past any RAM), present when CPUID advertises EXO_HVC_F_MAILBOX.
 * exovmm writes the first part and interrupts the guest with
 * EXO_MAILBOX_VECTOR after each change; the guest writes the second part.
 *
 * The memory protocol:
 *   - `granted` is the truth: a chunk whose bit is set is the guest's
 *     memory.  Only exovmm changes it, then bumps `seq`.
 *   - A chunk newly granted is the guest's to use at once.
 *   - A lower `target_chunks` asks the guest to give chunks back (the
 *     highest first) with EXO_HVC_CHUNK_RELEASE within `deadline_ns`.
 *   - Past the deadline exovmm clears the bits of the chunks it takes,
 *     the highest first, never below `min_chunks`.  The guest finds a
 *     chunk it had but is no longer granted: its contents are gone and it
 *     must not touch it (an access stops the instance).
 *   - The guest records the last `seq` it acted on in `seen_seq`.
 */
#define EXO_MAILBOX_GPA 0xc0000000ull
#define EXO_MAILBOX_SIZE 4096u
#define EXO_MAILBOX_VECTOR 0xe0u

struct exo_mailbox {
	/* Written by exovmm. */
	uint64_t seq;		/* bumped after every change below */
	uint32_t min_chunks;	/* memory_min: chunks never taken */
	uint32_t max_chunks;	/* memory_max: never granted past this */
	uint32_t target_chunks; /* how many chunks exovmm wants granted */
	uint32_t pad;
	uint64_t deadline_ns; /* time allowed to reach a lower target */
	/* Total time the vCPU wanted to run and could not: parked by the
	 * CPU quota layer, or runnable and waiting for a host CPU that the
	 * host gave to something else (its steal time). */
	uint64_t stolen_ns;
	uint64_t granted[EXO_CHUNK_WORDS]; /* bit c % 64 of word c / 64 */

	/* Written by the guest. */
	uint64_t seen_seq;	   /* the last seq it acted on */
	uint64_t used_frames;	   /* 4 KiB frames in use (kernel and envs) */
	uint64_t revocations;	   /* revocation requests made to envs */
	uint64_t frames_repossessed; /* frames taken from envs by force */
};

_Static_assert(sizeof(struct exo_mailbox) <= EXO_MAILBOX_SIZE,
	       "the mailbox is one page");

/* Whether the mailbox says chunk c is granted now (1) or not (0). */
static inline unsigned exo_mailbox_granted(const struct exo_mailbox *mb,
					   uint32_t c)
{
	uint64_t w = __atomic_load_n(&mb->granted[c / EXO_CHUNK_WORD_BITS],
				     __ATOMIC_ACQUIRE);

	return (unsigned)(w >> (c % EXO_CHUNK_WORD_BITS) & 1);
}

/* --- Exit codes ---------------------------------------------------------- */

/*
 * What the exokernel writes to the exit port.  Everything except
 * EXO_EXIT_OK means the run failed; each cause has its own code so a test
 * harness can tell them apart.
 */
#define EXO_EXIT_OK 0           /* ran to the end; all self-tests passed */
#define EXO_EXIT_TEST_FAILED 1  /* a self-test printed "not ok" */
#define EXO_EXIT_PANIC 2        /* the kernel called panic() */
#define EXO_EXIT_BAD_BOOT 3     /* bad boot information or command line */
#define EXO_EXIT_STUCK 4        /* envs remain but none can ever run */
#define EXO_EXIT_ENV_KILLED 5   /* a boot env was killed by the kernel */
/* A CPU exception in the kernel: EXO_EXIT_EXCEPTION_BASE + vector (0..31). */
#define EXO_EXIT_EXCEPTION_BASE 32
#define EXO_EXIT_EXCEPTION(vector) (EXO_EXIT_EXCEPTION_BASE + (vector))

#endif /* EXO_HVC_H */
