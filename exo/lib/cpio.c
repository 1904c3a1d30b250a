/*
 * cpio.c: reading cpio "newc" archives, one entry at a time.
 *
 * Freestanding: the exokernel links this without any libc, so the few
 * string operations it needs are written out here.  Every length read from
 * the archive is checked against the bytes that remain before it is used,
 * by subtraction, so no sum of untrusted sizes can wrap around.
 *
 * Padding: header + name is padded to CPIO_ALIGN bytes and must lie inside
 * the buffer, since the data starts after it.  The padding after the data
 * only separates it from the next entry, so an archive cut short inside
 * that padding still yields the entry; the next call then reports
 * CPIO_ERR_TRUNCATED because no trailer follows.  The trailer is accepted
 * once its header and name fit.
 */
#include "cpio.h"

#define CPIO_MAGIC "070701"
#define CPIO_MAGIC_LEN 6
#define CPIO_FIELD_DIGITS 8
#define CPIO_HEADER_LEN 110 /* magic + CPIO_FIELDS fields */
#define CPIO_ALIGN 4
#define CPIO_TRAILER "TRAILER!!!"
#define HEX_DIGIT_BITS 4
#define HEX_LETTER_BASE 10

/* The header fields after the magic, in archive order. */
enum cpio_field {
	CPIO_INO,
	CPIO_MODE,
	CPIO_UID,
	CPIO_GID,
	CPIO_NLINK,
	CPIO_MTIME,
	CPIO_FILESIZE,
	CPIO_DEVMAJOR,
	CPIO_DEVMINOR,
	CPIO_RDEVMAJOR,
	CPIO_RDEVMINOR,
	CPIO_NAMESIZE,
	CPIO_CHECK,
	CPIO_FIELDS
};

_Static_assert(CPIO_MAGIC_LEN + CPIO_FIELDS * CPIO_FIELD_DIGITS ==
		   CPIO_HEADER_LEN,
	       "newc header layout");

/* Value of one hex digit, or -1 if c is not one. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + HEX_LETTER_BASE;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + HEX_LETTER_BASE;
	return -1;
}

/* Parse CPIO_FIELD_DIGITS hex digits; 0 on success, -1 on a non-digit. */
static int parse_field(const char *text, uint32_t *value)
{
	uint32_t v = 0;

	for (int i = 0; i < CPIO_FIELD_DIGITS; i++) {
		int digit = hex_value(text[i]);

		if (digit < 0)
			return -1;
		v = (v << HEX_DIGIT_BITS) | (uint32_t)digit;
	}
	*value = v;
	return 0;
}

/* Do the n bytes at a equal the first n bytes of b? */
static int bytes_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

/* Bytes needed after offset to reach the next multiple of CPIO_ALIGN. */
static size_t pad_after(size_t offset)
{
	return (CPIO_ALIGN - offset % CPIO_ALIGN) % CPIO_ALIGN;
}

/*
 * Check the magic and parse every field of the header at p, which has
 * avail bytes after it.  The magic is compared first, on what there is of
 * it, so that a short file of another kind reads as "bad magic".
 */
static int parse_header(const char *p, size_t avail,
			uint32_t fields[CPIO_FIELDS])
{
	size_t magic_avail = avail < CPIO_MAGIC_LEN ? avail : CPIO_MAGIC_LEN;

	if (!bytes_equal(p, CPIO_MAGIC, magic_avail))
		return CPIO_ERR_MAGIC;
	if (avail < CPIO_HEADER_LEN)
		return CPIO_ERR_TRUNCATED;
	for (int i = 0; i < CPIO_FIELDS; i++) {
		const char *text = p + CPIO_MAGIC_LEN + i * CPIO_FIELD_DIGITS;

		if (parse_field(text, &fields[i]) < 0)
			return CPIO_ERR_FIELD;
	}
	return CPIO_OK;
}

/*
 * Check the name of namesize bytes at p (avail bytes available): it must
 * fit, be non-empty, and hold its only NUL in its last byte.
 */
static int check_name(const char *p, size_t avail, uint32_t namesize)
{
	if (namesize < 2 || namesize > CPIO_NAME_MAX + 1)
		return CPIO_ERR_NAME;
	if (namesize > avail)
		return CPIO_ERR_TRUNCATED;
	for (uint32_t i = 0; i < namesize - 1; i++) {
		if (p[i] == '\0')
			return CPIO_ERR_NAME;
	}
	return p[namesize - 1] == '\0' ? CPIO_OK : CPIO_ERR_NAME;
}

int cpio_next(const void *archive, size_t len, size_t *offset,
	      struct cpio_entry *entry)
{
	const char *base = archive;
	const char *name;
	size_t pos = *offset;
	size_t pad, size;
	uint32_t fields[CPIO_FIELDS];
	uint32_t namesize;
	int status;

	if (pos > len)
		return CPIO_ERR_TRUNCATED;
	status = parse_header(base + pos, len - pos, fields);
	if (status != CPIO_OK)
		return status;
	pos += CPIO_HEADER_LEN;

	name = base + pos;
	namesize = fields[CPIO_NAMESIZE];
	status = check_name(name, len - pos, namesize);
	if (status != CPIO_OK)
		return status;
	if (namesize == sizeof(CPIO_TRAILER) &&
	    bytes_equal(name, CPIO_TRAILER, namesize))
		return CPIO_END;
	pos += namesize;

	pad = pad_after(pos);
	size = fields[CPIO_FILESIZE];
	if (pad > len - pos || size > len - pos - pad)
		return CPIO_ERR_TRUNCATED;
	pos += pad;
	entry->name = name;
	entry->name_len = namesize - 1;
	entry->data = base + pos;
	entry->size = size;
	entry->mode = fields[CPIO_MODE];

	/* Padding cut off by the end of the buffer is tolerated (see top). */
	pos += size;
	pad = pad_after(pos);
	*offset = pad > len - pos ? len : pos + pad;
	return CPIO_OK;
}

const char *cpio_strerror(int status)
{
	switch (status) {
	case CPIO_OK:
		return "success";
	case CPIO_END:
		return "end of archive";
	case CPIO_ERR_MAGIC:
		return "not a cpio newc archive (bad magic)";
	case CPIO_ERR_TRUNCATED:
		return "archive truncated";
	case CPIO_ERR_FIELD:
		return "header field is not 8 hex digits";
	case CPIO_ERR_NAME:
		return "bad entry name (empty, too long or not NUL-terminated)";
	default:
		return "unknown cpio error";
	}
}
