/*
 * initrd.h: the initrd, module 0, a cpio newc archive of programs
 * (exo/kern/initrd.c).
 */
#ifndef EXO_INITRD_H
#define EXO_INITRD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Walk the whole archive: returns CPIO_END when it parses to the trailer,
 * else the cpio_status of the first bad entry, at byte *offset.  *entries
 * counts the good entries before it.
 */
int initrd_scan(const void *archive, size_t len, size_t *entries,
		size_t *offset);

/*
 * Print the "exo: initrd:" lines for boot_info's initrd.  Returns false
 * if the archive is malformed (none at all is fine).
 */
bool initrd_list(void);

struct cpio_entry;
/* The initrd entry called name[0..len), if there is one. */
bool initrd_find(const char *name, size_t len, struct cpio_entry *out);

#endif /* EXO_INITRD_H */
