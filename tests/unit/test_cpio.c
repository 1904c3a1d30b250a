/*
 * test_cpio.c: Check tests of the cpio newc reader (exo/lib/cpio.c).
 *
 * Archives are written at run time by a small newc writer below, so every
 * test states exactly the bytes it feeds the reader.  Cut and damaged
 * archives are copied into buffers of exactly their length, so that
 * AddressSanitizer or valgrind would catch a read past the end.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "exo/lib/cpio.h"

#define ARCHIVE_MAX 4096
#define HEADER_LEN 110
#define MAGIC_LEN 6
#define FIELD_DIGITS 8
#define FIELDS 13
#define FIELD_MODE 1
#define FIELD_FILESIZE 6
#define FIELD_NAMESIZE 11
#define ALIGN 4
#define MODE_FILE 0100644u
#define MODE_DIR 040755u
#define TRAILER "TRAILER!!!"

struct archive {
	char buf[ARCHIVE_MAX];
	size_t len;
};

static void put_bytes(struct archive *a, const void *data, size_t n)
{
	ck_assert_uint_le(a->len + n, sizeof(a->buf));
	memcpy(a->buf + a->len, data, n);
	a->len += n;
}

static void put_pad(struct archive *a)
{
	while (a->len % ALIGN)
		put_bytes(a, "", 1);
}

/* A header with every field 0 but mode, filesize and namesize. */
static size_t put_header(struct archive *a, uint32_t mode, uint32_t filesize,
			 uint32_t namesize)
{
	char text[HEADER_LEN + 1];
	uint32_t fields[FIELDS] = {0};
	size_t at = a->len;
	int n = snprintf(text, sizeof(text), "070701");

	fields[FIELD_MODE] = mode;
	fields[FIELD_FILESIZE] = filesize;
	fields[FIELD_NAMESIZE] = namesize;
	for (int i = 0; i < FIELDS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%08X", fields[i]);
	put_bytes(a, text, HEADER_LEN);
	return at;
}

/* A whole entry; returns its offset. */
static size_t add_entry(struct archive *a, const char *name, uint32_t mode,
			const void *data, size_t size)
{
	size_t at = put_header(a, mode, size, strlen(name) + 1);

	put_bytes(a, name, strlen(name) + 1);
	put_pad(a);
	put_bytes(a, data, size);
	put_pad(a);
	return at;
}

/* The trailer; returns where the reader may stop: the end of its name. */
static size_t add_trailer(struct archive *a)
{
	return add_entry(a, TRAILER, 0, "", 0) + HEADER_LEN + sizeof(TRAILER);
}

/* Overwrite header field i of the entry at offset at with 8 characters. */
static void set_field(struct archive *a, size_t at, int i, const char *text)
{
	memcpy(a->buf + at + MAGIC_LEN + i * FIELD_DIGITS, text, FIELD_DIGITS);
}

/* The first cut bytes of a, in a heap buffer of exactly that size. */
static char *cut_copy(const struct archive *a, size_t cut)
{
	char *copy = malloc(cut ? cut : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, a->buf, cut);
	return copy;
}

/* Status of the first entry of the first len bytes of a. */
static int first_status(const struct archive *a, size_t len)
{
	char *copy = cut_copy(a, len);
	struct cpio_entry e;
	size_t off = 0;
	int status = cpio_next(copy, len, &off, &e);

	free(copy);
	return status;
}

struct expect {
	const char *name;
	uint32_t mode;
	const char *data;
	size_t size;
};

static const struct expect good[] = {
    {"hello.txt", MODE_FILE, "hello, world\n", 13},
    {"empty", MODE_FILE, "", 0},
    {"bin", MODE_DIR, "", 0},
    {"bin/prog", MODE_FILE, "\177ELF\001", 5},
    {"a", MODE_FILE, "xy", 2},
};
#define N_GOOD (sizeof(good) / sizeof(good[0]))

/* The archive of good[]; returns the end of the trailer's name. */
static size_t build_good(struct archive *a)
{
	a->len = 0;
	for (size_t i = 0; i < N_GOOD; i++)
		add_entry(a, good[i].name, good[i].mode, good[i].data,
			  good[i].size);
	return add_trailer(a);
}

static void check_entry(const struct cpio_entry *e, const struct expect *x)
{
	ck_assert_str_eq(e->name, x->name);
	ck_assert_uint_eq(e->name_len, strlen(x->name));
	ck_assert_uint_eq(e->mode, x->mode);
	ck_assert_uint_eq(e->size, x->size);
	ck_assert_mem_eq(e->data, x->data, x->size);
}

START_TEST(test_good_archive)
{
	struct archive a;
	struct cpio_entry e;
	size_t off = 0;

	build_good(&a);
	for (size_t i = 0; i < N_GOOD; i++) {
		ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_OK);
		check_entry(&e, &good[i]);
		ck_assert_uint_eq(off % ALIGN, 0);
		ck_assert_uint_eq(
		    (size_t)((const char *)e.data - a.buf) % ALIGN, 0);
	}
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_END);
}
END_TEST

/* Every entry returned from the cut lies wholly inside it. */
static int walk_cut(const struct archive *a, size_t cut)
{
	char *copy = cut_copy(a, cut);
	struct cpio_entry e;
	size_t off = 0, n = 0;
	int status;

	while ((status = cpio_next(copy, cut, &off, &e)) == CPIO_OK) {
		ck_assert_uint_lt(n, N_GOOD);
		check_entry(&e, &good[n++]);
		ck_assert_uint_le(e.name + e.name_len + 1 - copy, cut);
		ck_assert_uint_le((const char *)e.data + e.size - copy, cut);
		ck_assert_uint_le(off, cut);
	}
	free(copy);
	return status;
}

START_TEST(test_truncated_everywhere)
{
	struct archive a;
	size_t trailer_end = build_good(&a);

	for (size_t cut = 0; cut <= a.len; cut++) {
		int want = cut < trailer_end ? CPIO_ERR_TRUNCATED : CPIO_END;

		ck_assert_msg(walk_cut(&a, cut) == want, "cut at %zu", cut);
	}
}
END_TEST

START_TEST(test_data_padding_may_be_cut)
{
	struct archive a = {.len = 0};
	struct cpio_entry e;
	size_t off = 0;

	add_entry(&a, "a", MODE_FILE, "xyz", 3);
	a.len--; /* drop the one byte of padding after "xyz" */
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_OK);
	ck_assert_uint_eq(e.size, 3);
	ck_assert_uint_eq(off, a.len);
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_bad_magic)
{
	struct archive a;

	build_good(&a);
	a.buf[5] = '2'; /* "070702": newc with checksums, not accepted */
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_MAGIC);
	memcpy(a.buf, "hello", 5);
	ck_assert_int_eq(first_status(&a, 5), CPIO_ERR_MAGIC);
}
END_TEST

START_TEST(test_non_hex_field)
{
	static const char *const bad[] = {"0000000g", "0000 001", "-0000001",
					  "0x000001"};
	struct archive a;

	for (int field = 0; field < FIELDS; field++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			build_good(&a);
			set_field(&a, 0, field, bad[i]);
			ck_assert_msg(first_status(&a, a.len) == CPIO_ERR_FIELD,
				      "field %d = \"%s\"", field, bad[i]);
		}
	}
}
END_TEST

START_TEST(test_lowercase_hex)
{
	struct archive a = {.len = 0};
	struct cpio_entry e;
	size_t off = 0;

	add_entry(&a, "x", 0, "", 0);
	set_field(&a, 0, FIELD_MODE, "0000a1ed");
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_OK);
	ck_assert_uint_eq(e.mode, 0xa1ed);
}
END_TEST

/* An entry whose name is n copies of 'n'. */
static int long_name_status(size_t n)
{
	struct archive a = {.len = 0};
	char name[CPIO_NAME_MAX + 2];

	memset(name, 'n', n);
	name[n] = '\0';
	add_entry(&a, name, MODE_FILE, "", 0);
	return first_status(&a, a.len);
}

START_TEST(test_name_length)
{
	ck_assert_int_eq(long_name_status(CPIO_NAME_MAX), CPIO_OK);
	ck_assert_int_eq(long_name_status(CPIO_NAME_MAX + 1), CPIO_ERR_NAME);
}
END_TEST

START_TEST(test_name_not_terminated)
{
	struct archive a = {.len = 0};

	put_header(&a, MODE_FILE, 0, 4);
	put_bytes(&a, "abcd", 4);
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_NAME);

	a.len = 0;
	put_header(&a, MODE_FILE, 0, 4);
	put_bytes(&a, "a\0c\0", 4); /* NUL inside: namesize is wrong */
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_NAME);
}
END_TEST

START_TEST(test_name_empty)
{
	struct archive a = {.len = 0};

	put_header(&a, MODE_FILE, 0, 0);
	put_bytes(&a, "\0\0\0\0", 4);
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_NAME);
	set_field(&a, 0, FIELD_NAMESIZE, "00000001");
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_NAME);
	set_field(&a, 0, FIELD_NAMESIZE, "FFFFFFFF");
	ck_assert_int_eq(first_status(&a, a.len), CPIO_ERR_NAME);
}
END_TEST

START_TEST(test_huge_filesize)
{
	static const char *const sizes[] = {"FFFFFFFF", "FFFFFFFC", "80000000",
					    "00001000"};
	struct archive a;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		build_good(&a);
		set_field(&a, 0, FIELD_FILESIZE, sizes[i]);
		ck_assert_msg(first_status(&a, a.len) == CPIO_ERR_TRUNCATED,
			      "filesize %s", sizes[i]);
	}
}
END_TEST

START_TEST(test_offset_past_end)
{
	struct archive a;
	struct cpio_entry e;
	size_t off;

	build_good(&a);
	off = a.len + 1;
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_ERR_TRUNCATED);
	off = SIZE_MAX;
	ck_assert_int_eq(cpio_next(a.buf, a.len, &off, &e), CPIO_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_strerror)
{
	static const int statuses[] = {CPIO_OK,	       CPIO_END,
				       CPIO_ERR_MAGIC, CPIO_ERR_TRUNCATED,
				       CPIO_ERR_FIELD, CPIO_ERR_NAME};
	const size_t n = sizeof(statuses) / sizeof(statuses[0]);

	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_gt(strlen(cpio_strerror(statuses[i])), 0);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(cpio_strerror(statuses[i]),
					 cpio_strerror(statuses[j]));
	}
	ck_assert_str_eq(cpio_strerror(CPIO_ERR_TRUNCATED),
			 "archive truncated");
}
END_TEST

static Suite *cpio_suite(void)
{
	Suite *s = suite_create("cpio");
	TCase *tc = tcase_create("newc");

	tcase_add_test(tc, test_good_archive);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_data_padding_may_be_cut);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_non_hex_field);
	tcase_add_test(tc, test_lowercase_hex);
	tcase_add_test(tc, test_name_length);
	tcase_add_test(tc, test_name_not_terminated);
	tcase_add_test(tc, test_name_empty);
	tcase_add_test(tc, test_huge_filesize);
	tcase_add_test(tc, test_offset_past_end);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(cpio_suite)
