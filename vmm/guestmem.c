/* guestmem.c: bounds-checked translation of guest-physical addresses. */
#include <stddef.h>

#include "guestmem.h"

void *guest_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->host + gpa;
}
