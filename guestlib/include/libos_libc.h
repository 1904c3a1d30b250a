/*
 * libos_libc.h: the C library subset guest programs get from guestlib:
 * memory and string functions (guestlib/string.c), character classes,
 * number parsing and errno (guestlib/libc.c).  Each behaves as ISO C
 * says in the "C" locale; programs are built -ffreestanding -fno-builtin,
 * so these are the only definitions of the names.  Formatted printing is
 * libos_snprintf and friends (libos.h).  Nothing here aborts.
 */
#ifndef LIBOS_LIBC_H
#define LIBOS_LIBC_H

#include <stddef.h>

/* ---- Memory (GCC may emit calls to the first four itself) ------------- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);

/* ---- Strings ------------------------------------------------------------ */
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
char *strcat(char *restrict dst, const char *restrict src);
/*
 * Copy at most size - 1 characters of src and a NUL into dst (nothing
 * when size is 0); returns strlen(src), so a result >= size means cut.
 */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);

/* ---- Character classes: c is an unsigned char's value or EOF ---------- */
int isdigit(int c);
int isxdigit(int c);
int isalpha(int c);
int isspace(int c);
int toupper(int c);
int tolower(int c);

/* ---- Numbers ------------------------------------------------------------
 * strto*: white space, a sign, then digits of base (0: by prefix, "0x"
 * hex, "0" octal, else decimal; or 2..36).  *end (if end is not NULL)
 * gets the character after the number, or s when there is none.  A value
 * beyond the type saturates at its limit and sets errno to ERANGE; a bad
 * base returns 0 and sets errno to EINVAL.  Success leaves errno alone,
 * so clear it first to tell LONG_MAX from an overflow.  atoi is
 * strtol(s, NULL, 10) cut to an int.
 */
#define EINVAL 22 /* the values C programs know from Linux */
#define ERANGE 34

/* One errno for the whole env: threads (if any) share it. */
extern int errno;

long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
int atoi(const char *s);

#endif /* LIBOS_LIBC_H */
