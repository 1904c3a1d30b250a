/*
 * libos_malloc.h: the heap (guestlib/malloc.c): malloc, free, realloc and
 * calloc, safe to call from any number of user-level threads (not from
 * upcall handlers).  Memory comes from the heap region of libos_vm.h,
 * demand-zero: what is never touched costs no frame.
 *
 * Every block is 16-byte aligned.  malloc(0) returns a unique block;
 * realloc(p, 0) frees p and returns NULL.  Freeing a pointer twice, or
 * one malloc did not return, is reported ("libos: free(0x...): ...") and
 * the env exits with LIBOS_EXIT_FAILURE.
 */
#ifndef LIBOS_MALLOC_H
#define LIBOS_MALLOC_H

#include <stddef.h>

#define LIBOS_MALLOC_ALIGN 16

void *malloc(size_t size);
void free(void *p);
void *realloc(void *p, size_t size);
void *calloc(size_t n, size_t size);

/*
 * For fork (libos_thread_fork_*): lock the heap in the parent before the
 * address space is copied, unlock it afterwards; in the child, make the
 * heap's lock free again (the threads that waited for it are gone).
 */
void libos_malloc_fork_prepare(void);
void libos_malloc_fork_parent(void);
void libos_malloc_fork_child(void);

#endif /* LIBOS_MALLOC_H */
