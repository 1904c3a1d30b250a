/*
 * config.c: reading exovmm.conf(5).  Owns the file format: libinih splits
 * the file into sections and key = value pairs; this file feeds it lines
 * (counting them and seeing every section header, even one with no keys),
 * checks each value, and builds a struct vmm_config.  The first fault is
 * reported as one line, "PATH:LINE: [SECTION] KEY: what was expected".
 * The parsers of the values that can change live (weight, cap, memory)
 * are shared with the control socket (control.c), so both accept and
 * refuse the same spellings; the backend names likewise with exovmm's
 * --backend (main.c).
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Longest line, newline included: room for a cmdline of VMM_CMDLINE_MAX
 * bytes with its key, quotes and some indentation.
 */
#define CONFIG_LINE_MAX 8192

#define DEFAULT_IMAGE "exo.elf"
#define DEFAULT_INITRD "progs.cpio"
#define SECTION_EXOVMM "exovmm"
#define SECTION_INSTANCE "instance"
#define NAME_CHARS                                                             \
	"letters, digits, \"_\", \".\" or \"-\", starting with a letter or digit"
#define UTF8_BOM "\xef\xbb\xbf"

/*
 * The backend names this exovmm accepts, in the order messages list them.
 * The names only: backend.c has the backends, and the unit tests of this
 * file link none of them.
 */
static const char *const backends_built[] = {
    VMM_BACKEND_AUTO,
    VMM_BACKEND_KVM,
#ifdef HAVE_UNICORN
    VMM_BACKEND_UNICORN,
#endif
};

/* Backends of the design that this exovmm lacks, and why. */
struct missing_backend {
	const char *name;
	const char *why;
};

static const struct missing_backend backends_missing[] = {
#ifndef HAVE_UNICORN
    {VMM_BACKEND_UNICORN,
     "is not built into this exovmm (configure found no Unicorn 2.1)"},
#endif
    {"libvirt", "is not built yet"},
};

/* Room for "auto, kvm or unicorn" and its NUL. */
#define BACKEND_CHOICES_MAX 64

struct unit {
	const char *name;
	uint64_t scale;
};

/* Largest first, so a value is printed in the largest unit that fits. */
static const struct unit size_units[] = {
    {"G", 1ull << 30},
    {"M", 1ull << 20},
    {"K", 1ull << 10},
};
#define SIZE_UNIT_BINARY_SUFFIX "iB" /* 64MiB means 64M */

static const struct unit time_units[] = {
    {"s", 1000000000ull},
    {"ms", 1000000ull},
    {"us", 1000ull},
};

enum section { IN_NONE, IN_EXOVMM, IN_INSTANCE };

struct parse;
typedef int (*key_setter)(struct parse *p, const char *value);

struct key {
	const char *name;
	key_setter set;
};

enum instance_key {
	IKEY_IMAGE,
	IKEY_INITRD,
	IKEY_CMDLINE,
	IKEY_MEMORY,
	IKEY_MEMORY_MIN,
	IKEY_MEMORY_MAX,
	IKEY_WEIGHT,
	IKEY_CAP,
	IKEY_NET,
	IKEY_BACKEND,
	IKEY_COUNT
};

#define KEYS_MAX IKEY_COUNT /* the largest section's key count */

struct parse {
	const char *path;
	size_t dir_len; /* bytes of path up to and including its last '/' */
	const char *image_dir;
	struct vmm_error *err;

	/* The reader: one whole line, handed to libinih piece by piece. */
	FILE *file;
	char *buf;
	size_t buf_size;
	size_t len, pos;
	int line;

	/* What is being built, and where in the file we are. */
	struct vmm_config cfg;
	enum section section;
	const struct key *keys;
	size_t n_keys;
	size_t key;		/* the key being set, for messages */
	int key_line[KEYS_MAX]; /* 0: not set in this section */
	int exovmm_line;	/* 0: no [exovmm] yet */

	bool failed;
	int error_line; /* of the reported error, to tell which came first */
};

/* --- Errors ------------------------------------------------------------ */

/* Room for "[instance NAME] KEY: ". */
#define PREFIX_MAX (sizeof(SECTION_INSTANCE) + VMM_NAME_MAX + 32)

/* The instance whose section is being read. */
static struct vmm_instance_config *instance(struct parse *p)
{
	return &p->cfg.instances[p->cfg.n_instances - 1];
}

/* "[exovmm] " or "[instance NAME] ", then "KEY: " if key is not NULL. */
static void where(struct parse *p, const char *key, char *buf, size_t size)
{
	int n;

	if (p->section == IN_EXOVMM)
		n = snprintf(buf, size, "[%s] ", SECTION_EXOVMM);
	else
		n = snprintf(buf, size, "[%s %s] ", SECTION_INSTANCE,
			     instance(p)->name);
	if (key)
		snprintf(buf + n, size - (size_t)n, "%s: ", key);
}

static int vfail(struct parse *p, int line, const char *prefix, const char *fmt,
		 va_list ap)
{
	char msg[VMM_ERROR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	p->failed = true;
	p->error_line = line;
	return vmm_errorf(p->err, "%s:%d: %s%s", p->path, line, prefix, msg);
}

/* A fault of the current line, outside any key. */
__attribute__((format(printf, 2, 3))) static int fail(struct parse *p,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, p->line, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* A fault of the whole file; ordered after every line read so far. */
__attribute__((format(printf, 2, 3))) static int fail_file(struct parse *p,
							   const char *fmt, ...)
{
	char msg[VMM_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = true;
	p->error_line = p->line + 1;
	return vmm_errorf(p->err, "%s: %s", p->path, msg);
}

/* A fault of the current section, on the current line. */
__attribute__((format(printf, 2, 3))) static int
fail_section(struct parse *p, const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	where(p, NULL, prefix, sizeof(prefix));
	va_start(ap, fmt);
	vfail(p, p->line, prefix, fmt, ap);
	va_end(ap);
	return -1;
}

/* A fault of key k of the current section, on the line that set it. */
__attribute__((format(printf, 3, 4))) static int
fail_key(struct parse *p, size_t k, const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	where(p, p->keys[k].name, prefix, sizeof(prefix));
	va_start(ap, fmt);
	vfail(p, p->key_line[k], prefix, fmt, ap);
	va_end(ap);
	return -1;
}

static int out_of_memory(struct parse *p)
{
	return fail(p, "out of memory");
}

/* --- Values ------------------------------------------------------------ */

/* Decimal digits only (no sign, no space); saturates on overflow. */
static const char *parse_digits(const char *s, uint64_t *out)
{
	const int base = 10;
	uint64_t v = 0;
	const char *start = s;

	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - digit) / base)
			v = UINT64_MAX;
		else
			v = v * base + digit;
	}
	*out = v;
	return s == start ? NULL : s;
}

static uint64_t mul_saturate(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* "64M", "64m", "64MiB": a count immediately followed by K, M or G. */
static bool parse_size(const char *s, uint64_t *out)
{
	const char *unit;
	uint64_t n;

	unit = parse_digits(s, &n);
	if (!unit || !*unit)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(size_units); i++) {
		if (strncasecmp(unit, size_units[i].name, 1) != 0)
			continue;
		if (unit[1] && strcasecmp(unit + 1, SIZE_UNIT_BINARY_SUFFIX))
			return false;
		*out = mul_saturate(n, size_units[i].scale);
		return true;
	}
	return false;
}

/* "30ms": a count immediately followed by us, ms or s (SI, so exact case). */
static bool parse_duration(const char *s, uint64_t *out_ns)
{
	const char *unit;
	uint64_t n;

	unit = parse_digits(s, &n);
	if (!unit)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(time_units); i++) {
		if (strcmp(unit, time_units[i].name) == 0) {
			*out_ns = mul_saturate(n, time_units[i].scale);
			return true;
		}
	}
	return false;
}

static bool parse_uint(const char *s, uint64_t *out)
{
	const char *end = parse_digits(s, out);

	return end && !*end;
}

#define UNITS_STR_MAX 32

/* A short string returned by value, to use within one expression. */
struct units_str {
	char s[UNITS_STR_MAX];
};

/*
 * Print v in the largest unit that divides it; every value printed (a
 * limit, or a size already checked) is a multiple of the smallest unit.
 */
static struct units_str format_units(uint64_t v, const struct unit *units,
				     size_t n_units)
{
	struct units_str out;
	size_t i;

	for (i = 0; i < n_units - 1 && v % units[i].scale; i++)
		;
	snprintf(out.s, sizeof(out.s), "%llu%s",
		 (unsigned long long)(v / units[i].scale), units[i].name);
	return out;
}

#define SIZE_STR(v) format_units((v), size_units, ARRAY_SIZE(size_units)).s
#define DURATION_STR(v) format_units((v), time_units, ARRAY_SIZE(time_units)).s

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/*
 * Names become file names (LOG_DIR/NAME.log), so the first character may
 * not make them hidden or look like an option.
 */
static bool is_name(const char *s, size_t len)
{
	if (len < 1 || len > VMM_NAME_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/*
 * Copy a string value, without the double quotes around it if any (they
 * let a value keep leading or trailing spaces).
 */
static int copy_string(struct parse *p, const char *value, char **out)
{
	size_t len = strlen(value);

	if (value[0] == '"') {
		if (len < 2 || value[len - 1] != '"')
			return fail_key(p, p->key, "missing closing quote");
		value++;
		len -= 2;
	}
	*out = strndup(value, len);
	return *out ? 0 : out_of_memory(p);
}

/* Relative paths are taken from the directory holding the file. */
static int copy_path(struct parse *p, const char *value, char **out)
{
	char *s;

	if (copy_string(p, value, &s) < 0)
		return -1;
	if (!*s) {
		free(s);
		return fail_key(p, p->key, "expected a path, got \"\"");
	}
	if (s[0] == '/' || p->dir_len == 0) {
		*out = s;
		return 0;
	}
	if (asprintf(out, "%.*s%s", (int)p->dir_len, p->path, s) < 0) {
		free(s);
		return out_of_memory(p);
	}
	free(s);
	return 0;
}

int vmm_parse_weight(const char *value, unsigned *out, struct vmm_error *err)
{
	uint64_t v;

	if (!parse_uint(value, &v) || v < VMM_WEIGHT_MIN || v > VMM_WEIGHT_MAX)
		return vmm_errorf(err,
				  "expected an integer from %u to %u, got \"%s\"",
				  VMM_WEIGHT_MIN, VMM_WEIGHT_MAX, value);
	*out = (unsigned)v;
	return 0;
}

int vmm_parse_cap(const char *value, unsigned *out, struct vmm_error *err)
{
	uint64_t v;
	const char *end = parse_digits(value, &v);

	if (!end || (*end && strcmp(end, "%")) || v > VMM_CAP_MAX)
		return vmm_errorf(err,
				  "expected a percentage from 0%% to %u%%, got "
				  "\"%s\"",
				  VMM_CAP_MAX, value);
	*out = (unsigned)v;
	return 0;
}

/* "auto, kvm or unicorn": the backend names accepted, for messages. */
static void backend_choices(char *buf, size_t size)
{
	const size_t n = ARRAY_SIZE(backends_built);
	size_t len = 0;

	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i == 0 ? "" : i + 1 == n ? " or " : ", ",
					backends_built[i]);
}

int vmm_parse_backend(const char *value, const char **out,
		      struct vmm_error *err)
{
	char choices[BACKEND_CHOICES_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(backends_built); i++) {
		if (strcmp(value, backends_built[i]) == 0) {
			*out = backends_built[i];
			return 0;
		}
	}
	backend_choices(choices, sizeof(choices));
	for (i = 0; i < ARRAY_SIZE(backends_missing); i++)
		if (strcmp(value, backends_missing[i].name) == 0)
			return vmm_errorf(err, "\"%s\" %s; expected %s", value,
					  backends_missing[i].why, choices);
	return vmm_errorf(err, "expected %s, got \"%s\"", choices, value);
}

int vmm_parse_memory(const char *value, uint64_t *out, struct vmm_error *err)
{
	uint64_t v;

	if (!parse_size(value, &v))
		return vmm_errorf(err,
				  "expected a size such as 64M or 1G, got \"%s\"",
				  value);
	if (v < VMM_MEMORY_MIN || v > VMM_MEMORY_MAX)
		return vmm_errorf(err,
				  "expected a size from %s to %s, got \"%s\"",
				  SIZE_STR(VMM_MEMORY_MIN),
				  SIZE_STR(VMM_MEMORY_MAX), value);
	if (v % VMM_CHUNK_SIZE)
		return vmm_errorf(err, "%s is not a multiple of %s", value,
				  SIZE_STR(VMM_CHUNK_SIZE));
	*out = v;
	return 0;
}

/* A value parser's verdict (rc, and e when it is -1) on the current key. */
static int key_value(struct parse *p, int rc, const struct vmm_error *e)
{
	return rc < 0 ? fail_key(p, p->key, "%s", e->msg) : 0;
}

/* [exovmm] backend and [instance NAME] backend alike. */
static int set_backend(struct parse *p, const char *value, const char **out)
{
	struct vmm_error e;
	char *s;
	int rc;

	if (copy_string(p, value, &s) < 0)
		return -1;
	rc = key_value(p, vmm_parse_backend(s, out, &e), &e);
	free(s);
	return rc;
}

/* --- [exovmm] ---------------------------------------------------------- */

static int set_log_dir(struct parse *p, const char *value)
{
	return copy_path(p, value, &p->cfg.log_dir);
}

static int set_metrics(struct parse *p, const char *value)
{
	return copy_path(p, value, &p->cfg.metrics);
}

static int set_control(struct parse *p, const char *value)
{
	return copy_path(p, value, &p->cfg.control);
}

static int set_exovmm_backend(struct parse *p, const char *value)
{
	return set_backend(p, value, &p->cfg.backend);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static int set_cpus(struct parse *p, const char *value)
{
	uint64_t v;
	unsigned max = online_cpus();

	if (!parse_uint(value, &v) || v < 1 || v > max)
		return fail_key(p, p->key,
				"expected an integer from 1 to %u (the online "
				"CPUs), got \"%s\"",
				max, value);
	p->cfg.cpus = (unsigned)v;
	return 0;
}

/* A duration from min_ns to max_ns into *out. */
static int set_duration_in(struct parse *p, const char *value, uint64_t min_ns,
			   uint64_t max_ns, uint64_t *out)
{
	uint64_t ns;

	if (!parse_duration(value, &ns))
		return fail_key(p, p->key,
				"expected a duration such as 30ms or 1s, got "
				"\"%s\"",
				value);
	if (ns < min_ns || ns > max_ns)
		return fail_key(p, p->key,
				"expected a duration from %s to %s, got \"%s\"",
				DURATION_STR(min_ns), DURATION_STR(max_ns),
				value);
	*out = ns;
	return 0;
}

static int set_timeslice(struct parse *p, const char *value)
{
	return set_duration_in(p, value, VMM_TIMESLICE_MIN_NS,
			       VMM_TIMESLICE_MAX_NS, &p->cfg.timeslice_ns);
}

static int set_metrics_interval(struct parse *p, const char *value)
{
	return set_duration_in(p, value, VMM_METRICS_INTERVAL_MIN_NS,
			       VMM_METRICS_INTERVAL_MAX_NS,
			       &p->cfg.metrics_interval_ns);
}

static int set_revoke_deadline(struct parse *p, const char *value)
{
	return set_duration_in(p, value, VMM_REVOKE_DEADLINE_MIN_NS,
			       VMM_REVOKE_DEADLINE_MAX_NS,
			       &p->cfg.revoke_deadline_ns);
}

static const struct key exovmm_keys[] = {
    {.name = "log_dir", .set = set_log_dir},
    {.name = "backend", .set = set_exovmm_backend},
    {.name = "cpus", .set = set_cpus},
    {.name = "timeslice", .set = set_timeslice},
    {.name = "metrics", .set = set_metrics},
    {.name = "metrics_interval", .set = set_metrics_interval},
    {.name = "control", .set = set_control},
    {.name = "revoke_deadline", .set = set_revoke_deadline},
};
_Static_assert(ARRAY_SIZE(exovmm_keys) <= KEYS_MAX, "key_line too small");

/* --- [instance NAME] --------------------------------------------------- */

static int set_image(struct parse *p, const char *value)
{
	return copy_path(p, value, &instance(p)->image);
}

static int set_initrd(struct parse *p, const char *value)
{
	return copy_path(p, value, &instance(p)->initrd);
}

static int set_cmdline(struct parse *p, const char *value)
{
	char *s;
	size_t len;

	if (copy_string(p, value, &s) < 0)
		return -1;
	len = strlen(s);
	if (len > VMM_CMDLINE_MAX) {
		free(s);
		return fail_key(p, p->key, "expected at most %d bytes, got %zu",
				VMM_CMDLINE_MAX, len);
	}
	instance(p)->cmdline = s;
	return 0;
}

static uint64_t *memory_field(struct parse *p, size_t k)
{
	struct vmm_instance_config *inst = instance(p);

	if (k == IKEY_MEMORY_MIN)
		return &inst->memory_min;
	if (k == IKEY_MEMORY_MAX)
		return &inst->memory_max;
	return &inst->memory;
}

/* memory_min <= memory <= memory_max, each pair as lo <= hi. */
static const size_t memory_order[][2] = {
    {IKEY_MEMORY_MIN, IKEY_MEMORY_MAX},
    {IKEY_MEMORY_MIN, IKEY_MEMORY},
    {IKEY_MEMORY, IKEY_MEMORY_MAX},
};

/*
 * Check the memory keys against each other, blaming the later one of a
 * pair.  While the section is read only keys set so far count; at its end
 * (with_default) an unset memory counts with its default.
 */
static int check_memory_order(struct parse *p, bool with_default)
{
	for (size_t i = 0; i < ARRAY_SIZE(memory_order); i++) {
		size_t lo = memory_order[i][0], hi = memory_order[i][1];
		bool lo_set =
		    p->key_line[lo] || (with_default && lo == IKEY_MEMORY);
		bool hi_set =
		    p->key_line[hi] || (with_default && hi == IKEY_MEMORY);
		size_t later, other;

		if (!lo_set || !hi_set ||
		    *memory_field(p, lo) <= *memory_field(p, hi))
			continue;
		later = p->key_line[lo] > p->key_line[hi] ? lo : hi;
		other = later == lo ? hi : lo;
		return fail_key(p, later, "%s is %s %s (%s%s)",
				SIZE_STR(*memory_field(p, later)),
				later == lo ? "more than" : "less than",
				p->keys[other].name,
				SIZE_STR(*memory_field(p, other)),
				p->key_line[other] ? "" : " by default");
	}
	return 0;
}

static int set_memory_key(struct parse *p, const char *value)
{
	struct vmm_error e;

	if (key_value(p, vmm_parse_memory(value, memory_field(p, p->key), &e),
		      &e) < 0)
		return -1;
	return check_memory_order(p, false);
}

static int set_weight(struct parse *p, const char *value)
{
	struct vmm_error e;

	return key_value(p, vmm_parse_weight(value, &instance(p)->weight, &e),
			 &e);
}

static int set_cap(struct parse *p, const char *value)
{
	struct vmm_error e;

	return key_value(p, vmm_parse_cap(value, &instance(p)->cap, &e), &e);
}

static int set_net(struct parse *p, const char *value)
{
	char *s;

	if (copy_string(p, value, &s) < 0)
		return -1;
	if (!is_name(s, strlen(s))) {
		fail_key(p, p->key,
			 "expected a network name of 1 to %d " NAME_CHARS
			 ", got \"%s\"",
			 VMM_NAME_MAX, s);
		free(s);
		return -1;
	}
	instance(p)->net = s;
	return 0;
}

static int set_instance_backend(struct parse *p, const char *value)
{
	return set_backend(p, value, &instance(p)->backend);
}

static const struct key instance_keys[] = {
    [IKEY_IMAGE] = {"image", set_image},
    [IKEY_INITRD] = {"initrd", set_initrd},
    [IKEY_CMDLINE] = {"cmdline", set_cmdline},
    [IKEY_MEMORY] = {"memory", set_memory_key},
    [IKEY_MEMORY_MIN] = {"memory_min", set_memory_key},
    [IKEY_MEMORY_MAX] = {"memory_max", set_memory_key},
    [IKEY_WEIGHT] = {"weight", set_weight},
    [IKEY_CAP] = {"cap", set_cap},
    [IKEY_NET] = {"net", set_net},
    [IKEY_BACKEND] = {"backend", set_instance_backend},
};
_Static_assert(ARRAY_SIZE(instance_keys) == IKEY_COUNT, "instance keys");

static int default_path(struct parse *p, const char *file, char **out)
{
	size_t n = strlen(p->image_dir);
	const char *sep = n && p->image_dir[n - 1] == '/' ? "" : "/";

	if (*out)
		return 0;
	if (asprintf(out, "%s%s%s", p->image_dir, sep, file) < 0) {
		*out = NULL;
		return out_of_memory(p);
	}
	return 0;
}

/* The whole section has been read: fill in what it left out. */
static int finish_instance(struct parse *p)
{
	struct vmm_instance_config *inst = instance(p);

	if (check_memory_order(p, true) < 0 ||
	    default_path(p, DEFAULT_IMAGE, &inst->image) < 0 ||
	    default_path(p, DEFAULT_INITRD, &inst->initrd) < 0)
		return -1;
	if (!inst->cmdline && !(inst->cmdline = strdup("")))
		return out_of_memory(p);
	return 0;
}

/* --- Sections ---------------------------------------------------------- */

static void enter_section(struct parse *p, enum section section,
			  const struct key *keys, size_t n_keys)
{
	p->section = section;
	p->keys = keys;
	p->n_keys = n_keys;
	memset(p->key_line, 0, sizeof(p->key_line));
}

static int start_exovmm(struct parse *p)
{
	if (p->exovmm_line)
		return fail(p, "[%s] defined twice (first at line %d)",
			    SECTION_EXOVMM, p->exovmm_line);
	p->exovmm_line = p->line;
	enter_section(p, IN_EXOVMM, exovmm_keys, ARRAY_SIZE(exovmm_keys));
	return 0;
}

static int start_instance(struct parse *p, const char *name, size_t len)
{
	struct vmm_config *cfg = &p->cfg;
	struct vmm_instance_config *inst;

	if (len == 0)
		return fail(p, "[%s] has no name; expected [%s NAME]",
			    SECTION_INSTANCE, SECTION_INSTANCE);
	if (!is_name(name, len))
		return fail(p,
			    "[%s %.*s] bad name: expected 1 to %d " NAME_CHARS,
			    SECTION_INSTANCE, (int)len, name, VMM_NAME_MAX);
	for (size_t i = 0; i < cfg->n_instances; i++)
		if (strlen(cfg->instances[i].name) == len &&
		    memcmp(cfg->instances[i].name, name, len) == 0)
			return fail(
			    p, "[%s %.*s] defined twice (first at line %d)",
			    SECTION_INSTANCE, (int)len, name,
			    cfg->instances[i].line);
	if (cfg->n_instances == VMM_MAX_INSTANCES)
		return fail(p, "[%s %.*s] too many instances (at most %d)",
			    SECTION_INSTANCE, (int)len, name,
			    VMM_MAX_INSTANCES);
	inst = &cfg->instances[cfg->n_instances++];
	memcpy(inst->name, name, len);
	inst->line = p->line;
	inst->memory = VMM_MEMORY_DEFAULT;
	inst->weight = VMM_WEIGHT_DEFAULT;
	enter_section(p, IN_INSTANCE, instance_keys, ARRAY_SIZE(instance_keys));
	return 0;
}

static int finish_section(struct parse *p)
{
	return p->section == IN_INSTANCE ? finish_instance(p) : 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static size_t keyword_len(const char *s, size_t len, const char *keyword)
{
	size_t n = strlen(keyword);

	if (len < n || memcmp(s, keyword, n) != 0 ||
	    (len > n && !is_space(s[n])))
		return 0;
	return n;
}

/* "[ name ]": the text between the brackets, spaces trimmed. */
static int start_section(struct parse *p, const char *s, size_t len)
{
	size_t n;

	while (len && is_space(*s))
		s++, len--;
	while (len && is_space(s[len - 1]))
		len--;
	if (finish_section(p) < 0)
		return -1;
	if (len == strlen(SECTION_EXOVMM) && !memcmp(s, SECTION_EXOVMM, len))
		return start_exovmm(p);
	n = keyword_len(s, len, SECTION_INSTANCE);
	if (n) {
		for (s += n, len -= n; len && is_space(*s); s++, len--)
			;
		return start_instance(p, s, len);
	}
	return fail(p, "unknown section [%.*s]; expected [%s] or [%s NAME]",
		    (int)len, s, SECTION_EXOVMM, SECTION_INSTANCE);
}

/*
 * libinih has no callback for section headers, so the reader looks at each
 * line itself: a section with no keys must still be seen, at its line.
 */
static int see_line(struct parse *p, const char *start)
{
	const char *end, *rest;

	if (*start != '[')
		return 0;
	end = strchr(start, ']');
	if (!end)
		return fail(p, "syntax error: expected ] to close the section "
			       "header");
	for (rest = end + 1; is_space(*rest); rest++)
		;
	if (*rest && *rest != ';')
		return fail(p, "syntax error: unexpected text after ]");
	return start_section(p, start + 1, (size_t)(end - start - 1));
}

/* --- Reading ----------------------------------------------------------- */

static int next_line(struct parse *p)
{
	ssize_t n;

	if (p->failed)
		return -1;
	errno = 0;
	n = getline(&p->buf, &p->buf_size, p->file);
	if (n < 0) {
		if (ferror(p->file))
			fail_file(p, "cannot read: %s", strerror(errno));
		return -1;
	}
	p->line++;
	if (n > CONFIG_LINE_MAX)
		return fail(p, "line is longer than %d bytes", CONFIG_LINE_MAX);
	if (strlen(p->buf) != (size_t)n)
		return fail(p, "line contains a NUL byte");
	p->len = (size_t)n;
	p->pos = 0;
	if (p->line == 1 && !strncmp(p->buf, UTF8_BOM, strlen(UTF8_BOM)))
		p->pos = strlen(UTF8_BOM);
	/*
	 * Leading space is dropped so that indenting is harmless: libinih
	 * would take an indented line for the continuation of the last value.
	 */
	while (p->pos < p->len && is_space(p->buf[p->pos]))
		p->pos++;
	return see_line(p, p->buf + p->pos);
}

/*
 * The ini_reader: fgets-like, but a line is read whole first and then
 * handed out in pieces as large as libinih asks for, so that libinih's
 * line count stays ours.
 */
static char *read_piece(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n;

	if (p->pos == p->len && next_line(p) < 0)
		return NULL;
	n = p->len - p->pos;
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, p->buf + p->pos, n);
	str[n] = '\0';
	p->pos += n;
	return str;
}

/* The ini_handler: one key = value pair, on the line just read. */
static int on_pair(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse *p = user;
	size_t k;

	(void)section; /* the reader has already seen the header */
	if (p->failed)
		return 0;
	if (p->section == IN_NONE) {
		fail(p,
		     "key \"%s\" is outside any section; expected [%s] or "
		     "[%s NAME] before it",
		     name, SECTION_EXOVMM, SECTION_INSTANCE);
		return 0;
	}
	for (k = 0; k < p->n_keys && strcmp(p->keys[k].name, name); k++)
		;
	if (k == p->n_keys) {
		fail_section(p, "unknown key \"%s\"", name);
		return 0;
	}
	if (p->key_line[k]) {
		fail_section(p, "%s: set twice (first at line %d)", name,
			     p->key_line[k]);
		return 0;
	}
	p->key_line[k] = p->line;
	p->key = k;
	return p->keys[k].set(p, value) == 0;
}

/*
 * Debian's libinih reads settings at run time: a heap line that grows
 * lets a line be as long as CONFIG_LINE_MAX rather than 200 bytes.
 */
struct ini_settings {
	bool use_stack, allow_realloc;
	int max_line;
};

static struct ini_settings ini_settings_swap(struct ini_settings s)
{
	struct ini_settings old = {ini_use_stack, ini_allow_realloc,
				   ini_max_line};

	ini_use_stack = s.use_stack;
	ini_allow_realloc = s.allow_realloc;
	ini_max_line = s.max_line;
	return old;
}

/*
 * What every instance takes from [exovmm]: the revoke deadline, and the
 * backend unless it names its own.
 */
static void inherit_exovmm(struct vmm_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_instances; i++) {
		struct vmm_instance_config *inst = &cfg->instances[i];

		inst->revoke_deadline_ns = cfg->revoke_deadline_ns;
		if (!inst->backend)
			inst->backend = cfg->backend;
	}
}

static int parse_file(struct parse *p)
{
	/* Room for a whole line and its NUL. */
	struct ini_settings old, ours = {false, true, CONFIG_LINE_MAX + 1};
	int r;

	old = ini_settings_swap(ours);
	r = ini_parse_stream(read_piece, p, on_pair, p);
	ini_settings_swap(old);
	if (!p->failed)
		finish_section(p);
	if (r == -2)
		return out_of_memory(p);
	/* libinih reports the first line it could not parse. */
	if (r > 0 && (!p->failed || r < p->error_line)) {
		p->line = r;
		return fail(p, "syntax error: expected key = value");
	}
	if (p->failed)
		return -1;
	if (p->cfg.n_instances == 0)
		return fail_file(p, "no [%s NAME] section", SECTION_INSTANCE);
	if (!p->cfg.backend)
		p->cfg.backend = VMM_BACKEND_DEFAULT;
	if (!p->cfg.timeslice_ns)
		p->cfg.timeslice_ns = VMM_TIMESLICE_DEFAULT_NS;
	if (!p->cfg.metrics_interval_ns)
		p->cfg.metrics_interval_ns = VMM_METRICS_INTERVAL_DEFAULT_NS;
	if (!p->cfg.revoke_deadline_ns)
		p->cfg.revoke_deadline_ns = VMM_REVOKE_DEADLINE_DEFAULT_NS;
	inherit_exovmm(&p->cfg);
	return 0;
}

int vmm_config_load(const char *path, const char *default_image_dir,
		    struct vmm_config *cfg, struct vmm_error *err)
{
	const char *slash = strrchr(path, '/');
	struct parse p = {
	    .path = path,
	    .dir_len = slash ? (size_t)(slash - path) + 1 : 0,
	    .image_dir = default_image_dir,
	    .err = err,
	};
	int rc = -1;

	p.file = fopen(path, "r");
	if (!p.file)
		return vmm_errorf(err, "%s: cannot open: %s", path,
				  strerror(errno));
	p.cfg.path = strdup(path);
	p.cfg.instances = calloc(VMM_MAX_INSTANCES, sizeof(*p.cfg.instances));
	if (!p.cfg.path || !p.cfg.instances)
		vmm_errorf(err, "%s: out of memory", path);
	else
		rc = parse_file(&p);
	fclose(p.file);
	free(p.buf);
	if (rc < 0) {
		vmm_config_free(&p.cfg);
		return -1;
	}
	*cfg = p.cfg;
	return 0;
}

void vmm_config_free(struct vmm_config *cfg)
{
	for (size_t i = 0; i < cfg->n_instances; i++) {
		struct vmm_instance_config *inst = &cfg->instances[i];

		free(inst->image);
		free(inst->initrd);
		free(inst->cmdline);
		free(inst->net);
	}
	free(cfg->instances);
	free(cfg->path);
	free(cfg->log_dir);
	free(cfg->metrics);
	free(cfg->control);
	memset(cfg, 0, sizeof(*cfg));
}
