/* file.h: reading a whole input file (image, initrd) with clear errors. */
#ifndef VMM_FILE_H
#define VMM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Read the regular file at path into a malloc'd buffer (*data, *len).
 * Refuses files over max_len bytes.  Errors: "PATH: cannot read: REASON".
 */
int vmm_read_file(const char *path, uint64_t max_len, void **data, size_t *len,
		  struct vmm_error *err);

#endif /* VMM_FILE_H */
