/* guestmem.c: bounds-checked translation of guest-physical addresses, and
 * which chunks are granted. */
#include <stdbool.h>
#include <stddef.h>

#include "guestmem.h"

bool guest_chunk_granted(const struct guest_mem *mem, uint32_t chunk)
{
	uint64_t word = atomic_load(&mem->absent[chunk / EXO_CHUNK_WORD_BITS]);

	return !(word >> (chunk % EXO_CHUNK_WORD_BITS) & 1);
}

void guest_chunk_set_granted(struct guest_mem *mem, uint32_t chunk, bool granted)
{
	uint64_t bit = 1ull << (chunk % EXO_CHUNK_WORD_BITS);
	_Atomic uint64_t *word = &mem->absent[chunk / EXO_CHUNK_WORD_BITS];

	if (granted)
		atomic_fetch_and(word, ~bit);
	else
		atomic_fetch_or(word, bit);
}

void *guest_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t limit = mem->reserved ? mem->reserved : mem->size;

	if (gpa > limit || len > limit - gpa)
		return NULL;
	for (uint64_t c = gpa >> EXO_CHUNK_SHIFT; len && c <= (gpa + len - 1) >> EXO_CHUNK_SHIFT;
	     c++)
		if (!guest_chunk_granted(mem, (uint32_t)c))
			return NULL;
	return mem->host + gpa;
}
