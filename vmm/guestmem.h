/*
 * guestmem.h: an instance's guest RAM as exovmm sees it, and the one check
 * every access to it goes through.
 *
 * RAM is one anonymous host mapping covering guest-physical [0, reserved)
 * (memory_max), granted to the guest in EXO_CHUNK_SIZE chunks; a chunk not
 * granted now has its bit set in `absent`.  Nothing in exovmm dereferences
 * a guest-physical address except through guest_ptr(), which refuses any
 * range that is not wholly inside granted memory.
 */
#ifndef VMM_GUESTMEM_H
#define VMM_GUESTMEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "exo/hvc.h"

struct guest_mem {
	uint8_t *host;	     /* host address of guest-physical 0 */
	uint64_t size;	     /* RAM at boot, in bytes: the PVH memory map */
	uint64_t reserved;   /* host bytes behind `host`; 0: size */
	uint64_t initrd_top; /* the initrd ends at or below this; 0: size */
	/* Bit c % 64 of word c / 64: chunk c is not granted now. */
	_Atomic uint64_t absent[EXO_CHUNK_WORDS];
};

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL when any byte
 * of it lies outside granted memory (including on arithmetic overflow).
 */
void *guest_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

bool guest_chunk_granted(const struct guest_mem *mem, uint32_t chunk);
void guest_chunk_set_granted(struct guest_mem *mem, uint32_t chunk, bool granted);

#endif /* VMM_GUESTMEM_H */
