/*
 * string.c: memory and string functions for the freestanding kernel.
 * memcpy and memset use `rep movsq/stosq` for the bulk: the kernel zeroes
 * and copies whole frames for envs, and on hosts that emulate a guest
 * kernel instruction by instruction one string instruction per 8 bytes is
 * far cheaper than a loop.  The rest are plain byte loops.
 */
#include <stdint.h>
#include <string.h>

#define WORD_BYTES 8

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t words = n / WORD_BYTES, tail = n % WORD_BYTES;

	__asm__ volatile("rep movsq\n\tmovq %[tail], %%rcx\n\trep movsb"
			 : "+D"(d), "+S"(src), "+c"(words)
			 : [tail] "r"(tail)
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t words = n / WORD_BYTES, tail = n % WORD_BYTES;
	uint64_t pattern = (uint8_t)c * 0x0101010101010101ull;

	__asm__ volatile("rep stosq\n\tmovq %[tail], %%rcx\n\trep stosb"
			 : "+D"(d), "+c"(words)
			 : "a"(pattern), [tail] "r"(tail)
			 : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n; n--, p++)
		if (*p == (unsigned char)c)
			return (void *)p;
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}
