/*
 * cpio.h: a reader for cpio "newc" archives (the initrd format).
 *
 * Portable C with no hardware in it: the exokernel uses it to find the
 * programs in module 0, and the host unit tests compile it directly.
 * It never reads outside [archive, archive + len).
 */
#ifndef EXO_CPIO_H
#define EXO_CPIO_H

#include <stddef.h>
#include <stdint.h>

#define CPIO_NAME_MAX 255 /* longest entry name accepted, without the NUL */

struct cpio_entry {
	const char *name; /* NUL-terminated, inside the archive */
	size_t name_len;  /* without the NUL */
	const void *data; /* inside the archive */
	size_t size;
	uint32_t mode; /* st_mode bits as stored */
};

enum cpio_status {
	CPIO_OK = 0,         /* *entry filled, *offset advanced */
	CPIO_END = 1,        /* reached the TRAILER!!! entry */
	CPIO_ERR_MAGIC = -1, /* header does not start with "070701" */
	CPIO_ERR_TRUNCATED = -2, /* header, name or data runs past the end */
	CPIO_ERR_FIELD = -3, /* a header field is not 8 hex digits */
	CPIO_ERR_NAME = -4,  /* name empty, longer than CPIO_NAME_MAX, or not NUL-terminated */
};

/*
 * Read the entry at *offset (start with 0).  Returns CPIO_OK and advances
 * *offset past the entry, CPIO_END at the trailer, or a negative error.
 */
int cpio_next(const void *archive, size_t len, size_t *offset,
	      struct cpio_entry *entry);

/* A short English description of a cpio_status. */
const char *cpio_strerror(int status);

#endif /* EXO_CPIO_H */
