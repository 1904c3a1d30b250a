/*
 * string.h: the kernel's own string and memory functions (exo/lib/string.c).
 *
 * The kernel is built -ffreestanding with no C library; this header stands
 * in for the host's so that portable code shared with host tests (cpio.c)
 * compiles against the kernel's implementations.  gcc may also emit calls
 * to memcpy, memmove, memset and memcmp on its own.
 */
#ifndef EXO_STRING_H
#define EXO_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif /* EXO_STRING_H */
