/*
 * string.c: memset, memcpy, memmove and memcmp.  GCC may emit calls to
 * these even in freestanding code (struct copies, large initialisers), so
 * the runtime must define them.  The copies use `rep` string instructions
 * so that the compiler cannot turn a loop here back into a call to the
 * very function it is in.
 */
#include "libos.h"

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return dst;
}

/* Overlapping with dst above src: copy from the top down (direction flag). */
static void copy_backward(void *dst, const void *src, size_t n)
{
	char *d = (char *)dst + n - 1;
	const char *s = (const char *)src + n - 1;

	__asm__ volatile("std\n\trep movsb\n\tcld"
			 : "+D"(d), "+S"(s), "+c"(n)
			 :
			 : "memory", "cc");
}

void *memmove(void *dst, const void *src, size_t n)
{
	if (n == 0 || dst == src)
		return dst;
	if ((uintptr_t)dst > (uintptr_t)src &&
	    (uintptr_t)dst < (uintptr_t)src + n)
		copy_backward(dst, src, n);
	else
		memcpy(dst, src, n);
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] - y[i];
	}
	return 0;
}
