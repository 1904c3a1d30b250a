/*
 * guestmem.h: an instance's guest RAM as exovmm sees it, and the one check
 * every access to it goes through.
 *
 * RAM is one anonymous host mapping covering guest-physical [0, size),
 * granted to the guest in VMM_CHUNK_SIZE chunks.  Nothing in exovmm
 * dereferences a guest-physical address except through guest_ptr(), which
 * refuses any range that is not wholly inside granted memory.
 */
#ifndef VMM_GUESTMEM_H
#define VMM_GUESTMEM_H

#include <stdint.h>

struct guest_mem {
	uint8_t *host;  /* host address of guest-physical 0 */
	uint64_t size;  /* bytes; a multiple of VMM_CHUNK_SIZE */
};

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL when any byte
 * of it lies outside granted memory (including on arithmetic overflow).
 */
void *guest_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

#endif /* VMM_GUESTMEM_H */
