/*
 * test_config.c: Check tests of the exovmm.conf(5) reader (vmm/config.c).
 *
 * Good files must give exactly the configuration they describe, defaults
 * filled in; every bad file must give exactly the one-line message a user
 * would see, naming file and line.  Each file is written at run time into
 * a fresh temporary directory, so the expected messages carry its path.
 */
#include <check.h>
#include <ftw.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "vmm/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IMAGE_DIR "/usr/share/exo"
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define MS 1000000ull
#define FTW_FDS 16
#define DIR_MODE 0700
#define SENTINEL 0x5a	    /* fills *cfg to show a failed load left it alone */
#define LINE_MAX_BYTES 8192 /* as CONFIG_LINE_MAX in config.c */

/* The backend names this build accepts, as config.c lists them. */
#ifdef HAVE_UNICORN
#define BACKEND_CHOICES "auto, kvm or unicorn"
#else
#define BACKEND_CHOICES "auto or kvm"
#endif

static char tmp_dir[PATH_MAX];

static void make_tmp_dir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_config.XXXXXX",
		 base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmp_dir(void)
{
	nftw(tmp_dir, remove_entry, FTW_FDS, FTW_DEPTH | FTW_PHYS);
}

/* Write len bytes of text to a new file under tmp_dir[/subdir]. */
static void write_file(char *path, const char *subdir, const void *text,
		       size_t len)
{
	int fd;

	if (subdir) {
		ck_assert_int_lt(
		    snprintf(path, PATH_MAX, "%s/%s", tmp_dir, subdir),
		    PATH_MAX);
		mkdir(path, DIR_MODE);
		ck_assert_int_lt(snprintf(path, PATH_MAX, "%s/%s/cfg.XXXXXX",
					  tmp_dir, subdir),
				 PATH_MAX);
	} else {
		ck_assert_int_lt(
		    snprintf(path, PATH_MAX, "%s/cfg.XXXXXX", tmp_dir),
		    PATH_MAX);
	}
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void write_conf(char *path, const char *text)
{
	write_file(path, NULL, text, strlen(text));
}

static void load_ok(const char *text, struct vmm_config *cfg)
{
	char path[PATH_MAX];
	struct vmm_error err = {""};

	write_conf(path, text);
	ck_assert_msg(vmm_config_load(path, IMAGE_DIR, cfg, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(cfg->path, path);
}

/* Load path, expect failure with path followed by want, cfg untouched. */
static void expect_error_at(const char *path, const char *want)
{
	struct vmm_config cfg, pristine;
	struct vmm_error err = {""};
	char *expected;

	memset(&cfg, SENTINEL, sizeof(cfg));
	memset(&pristine, SENTINEL, sizeof(pristine));
	ck_assert_int_eq(vmm_config_load(path, IMAGE_DIR, &cfg, &err), -1);
	ck_assert_int_ne(asprintf(&expected, "%s%s", path, want), -1);
	ck_assert_str_eq(err.msg, expected);
	ck_assert_msg(memcmp(&cfg, &pristine, sizeof(cfg)) == 0,
		      "cfg changed on error");
	free(expected);
}

static void expect_error(const char *text, const char *want)
{
	char path[PATH_MAX];

	write_conf(path, text);
	expect_error_at(path, want);
}

/* --- Good files -------------------------------------------------------- */

START_TEST(test_minimal)
{
	struct vmm_config cfg;
	const struct vmm_instance_config *a;

	load_ok("[instance a]\n", &cfg);
	ck_assert_uint_eq(cfg.n_instances, 1);
	a = &cfg.instances[0];
	ck_assert_str_eq(a->name, "a");
	ck_assert_int_eq(a->line, 1);
	ck_assert_str_eq(a->image, IMAGE_DIR "/exo.elf");
	ck_assert_str_eq(a->initrd, IMAGE_DIR "/progs.cpio");
	ck_assert_str_eq(a->cmdline, "");
	ck_assert_uint_eq(a->memory, VMM_MEMORY_DEFAULT);
	ck_assert_uint_eq(a->memory_min, 0);
	ck_assert_uint_eq(a->memory_max, 0);
	ck_assert_uint_eq(a->weight, VMM_WEIGHT_DEFAULT);
	ck_assert_uint_eq(a->cap, 0);
	ck_assert_ptr_null(a->net);
	ck_assert_str_eq(a->backend, "auto"); /* inherited from [exovmm] */
	ck_assert_ptr_null(cfg.log_dir);
	ck_assert_str_eq(cfg.backend, "auto");
	ck_assert_uint_eq(cfg.cpus, 0);
	ck_assert_uint_eq(cfg.timeslice_ns, VMM_TIMESLICE_DEFAULT_NS);
	ck_assert_ptr_null(cfg.metrics);
	ck_assert_uint_eq(cfg.metrics_interval_ns,
			  VMM_METRICS_INTERVAL_DEFAULT_NS);
	ck_assert_ptr_null(cfg.control);
	ck_assert_uint_eq(cfg.revoke_deadline_ns,
			  VMM_REVOKE_DEADLINE_DEFAULT_NS);
	ck_assert_uint_eq(a->revoke_deadline_ns,
			  VMM_REVOKE_DEADLINE_DEFAULT_NS);
	vmm_config_free(&cfg);
	ck_assert_ptr_null(cfg.instances);
	ck_assert_uint_eq(cfg.n_instances, 0);
}
END_TEST

START_TEST(test_all_keys)
{
	struct vmm_config cfg;
	const struct vmm_instance_config *w;

	load_ok("# every key\n"
		"[exovmm]\n"
		"log_dir = /var/log/exo\n"
		"backend = kvm\n"
		"cpus = 1\n"
		"timeslice = 10ms\n"
		"metrics = /tmp/m.csv\n"
		"metrics_interval = 250ms\n"
		"control = /run/exo.sock\n"
		"revoke_deadline = 20ms\n"
		"\n"
		"[instance web-1.x_y]\n"
		"image = /img/exo.elf\n"
		"initrd = /img/progs.cpio\n"
		"cmdline = console=ttyS0 quiet\n"
		"memory = 256M\n"
		"memory_min = 128M\n"
		"memory_max = 1G\n"
		"weight = 512\n"
		"cap = 50%\n"
		"net = lan0\n"
		"backend = kvm\n",
		&cfg);
	ck_assert_str_eq(cfg.log_dir, "/var/log/exo");
	ck_assert_str_eq(cfg.backend, "kvm");
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_uint_eq(cfg.timeslice_ns, 10 * MS);
	ck_assert_str_eq(cfg.metrics, "/tmp/m.csv");
	ck_assert_uint_eq(cfg.metrics_interval_ns, 250 * MS);
	ck_assert_str_eq(cfg.control, "/run/exo.sock");
	ck_assert_uint_eq(cfg.revoke_deadline_ns, 20 * MS);
	ck_assert_uint_eq(cfg.n_instances, 1);
	w = &cfg.instances[0];
	ck_assert_str_eq(w->name, "web-1.x_y");
	ck_assert_int_eq(w->line, 12);
	ck_assert_str_eq(w->image, "/img/exo.elf");
	ck_assert_str_eq(w->initrd, "/img/progs.cpio");
	ck_assert_str_eq(w->cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(w->memory, 256 * MiB);
	ck_assert_uint_eq(w->memory_min, 128 * MiB);
	ck_assert_uint_eq(w->memory_max, GiB);
	ck_assert_uint_eq(w->weight, 512);
	ck_assert_uint_eq(w->cap, 50);
	ck_assert_str_eq(w->net, "lan0");
	ck_assert_str_eq(w->backend, "kvm");
	ck_assert_uint_eq(w->revoke_deadline_ns, 20 * MS);
	vmm_config_free(&cfg);
}
END_TEST

START_TEST(test_relative_paths)
{
	char path[PATH_MAX], *dir, *want;
	const char *text = "[exovmm]\n"
			   "log_dir = logs\n"
			   "metrics = \"out/m.csv\"\n"
			   "control = run/exo.sock\n"
			   "[instance a]\n"
			   "image = ../images/exo.elf\n"
			   "initrd = /abs/progs.cpio\n";
	struct vmm_config cfg;
	struct vmm_error err;

	write_file(path, "etc", text, strlen(text));
	ck_assert_int_eq(vmm_config_load(path, IMAGE_DIR, &cfg, &err), 0);
	dir = strndup(path, (size_t)(strrchr(path, '/') - path));
	ck_assert_int_ne(asprintf(&want, "%s/../images/exo.elf", dir), -1);
	ck_assert_str_eq(cfg.instances[0].image, want);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/logs", dir), -1);
	ck_assert_str_eq(cfg.log_dir, want);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/out/m.csv", dir), -1);
	ck_assert_str_eq(cfg.metrics, want);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/run/exo.sock", dir), -1);
	ck_assert_str_eq(cfg.control, want);
	free(want);
	ck_assert_str_eq(cfg.instances[0].initrd, "/abs/progs.cpio");
	free(dir);
	vmm_config_free(&cfg);
}
END_TEST

/* A file named without a directory is in the current one: paths stay. */
START_TEST(test_relative_to_cwd)
{
	char path[PATH_MAX], cwd[PATH_MAX];
	struct vmm_config cfg;
	struct vmm_error err;

	write_conf(path, "[instance a]\nimage = ../exo.elf\n");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmp_dir), 0);
	ck_assert_int_eq(
	    vmm_config_load(strrchr(path, '/') + 1, "/img/", &cfg, &err), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_str_eq(cfg.instances[0].image, "../exo.elf");
	ck_assert_str_eq(cfg.instances[0].initrd, "/img/progs.cpio");
	vmm_config_free(&cfg);
}
END_TEST

START_TEST(test_instances_in_order)
{
	struct vmm_config cfg;

	load_ok("[instance c]\n"
		"memory = 128M\n"
		"[instance a]\n"
		"[exovmm]\n"
		"cpus = 1\n"
		"[instance b]\n"
		"weight = 1\n",
		&cfg);
	ck_assert_uint_eq(cfg.n_instances, 3);
	ck_assert_str_eq(cfg.instances[0].name, "c");
	ck_assert_int_eq(cfg.instances[0].line, 1);
	ck_assert_uint_eq(cfg.instances[0].memory, 128 * MiB);
	ck_assert_str_eq(cfg.instances[1].name, "a");
	ck_assert_int_eq(cfg.instances[1].line, 3);
	ck_assert_uint_eq(cfg.instances[1].memory, VMM_MEMORY_DEFAULT);
	ck_assert_str_eq(cfg.instances[1].image, IMAGE_DIR "/exo.elf");
	ck_assert_str_eq(cfg.instances[2].name, "b");
	ck_assert_int_eq(cfg.instances[2].line, 6);
	ck_assert_uint_eq(cfg.instances[2].weight, 1);
	ck_assert_uint_eq(cfg.cpus, 1);
	vmm_config_free(&cfg);
}
END_TEST

START_TEST(test_quoted_cmdline)
{
	struct vmm_config cfg;

	load_ok("[instance a]\n"
		"cmdline = \"  console=ttyS0 init=\"/bin/sh\"  \"\n"
		"[instance b]\n"
		"cmdline = a=\"b c\"\n"
		"[instance c]\n"
		"cmdline = \"\"\n",
		&cfg);
	ck_assert_str_eq(cfg.instances[0].cmdline,
			 "  console=ttyS0 init=\"/bin/sh\"  ");
	ck_assert_str_eq(cfg.instances[1].cmdline, "a=\"b c\"");
	ck_assert_str_eq(cfg.instances[2].cmdline, "");
	vmm_config_free(&cfg);
}
END_TEST

START_TEST(test_units)
{
	struct vmm_config cfg;

	load_ok("[exovmm]\ntimeslice = 1000us\n"
		"[instance a]\nmemory = 1G\nmemory_min = 2048k\ncap = 100\n"
		"[instance b]\nmemory = 64MiB\nmemory_max = 3g\ncap = 0%\n"
		"[instance c]\nmemory = 1048576K\nmemory_min = 2mib\n",
		&cfg);
	ck_assert_uint_eq(cfg.timeslice_ns, MS);
	ck_assert_uint_eq(cfg.instances[0].memory, GiB);
	ck_assert_uint_eq(cfg.instances[0].memory_min, 2 * MiB);
	ck_assert_uint_eq(cfg.instances[0].cap, 100);
	ck_assert_uint_eq(cfg.instances[1].memory, 64 * MiB);
	ck_assert_uint_eq(cfg.instances[1].memory_max, 3 * GiB);
	ck_assert_uint_eq(cfg.instances[1].cap, 0);
	ck_assert_uint_eq(cfg.instances[2].memory, GiB);
	ck_assert_uint_eq(cfg.instances[2].memory_min, 2 * MiB);
	vmm_config_free(&cfg);
}
END_TEST

START_TEST(test_limits)
{
	struct vmm_config cfg;

	load_ok("[exovmm]\ntimeslice = 1s\n"
		"[instance aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
		"memory = 2M\nweight = 65535\n"
		"[instance b]\nmemory = 3G\nmemory_min = 3G\nmemory_max = 3G\n",
		&cfg);
	ck_assert_uint_eq(cfg.timeslice_ns, 1000 * MS);
	ck_assert_uint_eq(strlen(cfg.instances[0].name), VMM_NAME_MAX);
	ck_assert_uint_eq(cfg.instances[0].memory, VMM_MEMORY_MIN);
	ck_assert_uint_eq(cfg.instances[0].weight, VMM_WEIGHT_MAX);
	ck_assert_uint_eq(cfg.instances[1].memory, VMM_MEMORY_MAX);
	vmm_config_free(&cfg);
}
END_TEST

/*
 * revoke_deadline is an [exovmm] key that every instance carries, whether
 * [exovmm] comes before or after it; its limits are 10ms and 1h.
 */
START_TEST(test_revoke_deadline)
{
	struct vmm_config cfg;

	load_ok("[instance a]\n"
		"[exovmm]\nrevoke_deadline = 10ms\n"
		"[instance b]\n",
		&cfg);
	ck_assert_uint_eq(cfg.revoke_deadline_ns, VMM_REVOKE_DEADLINE_MIN_NS);
	ck_assert_uint_eq(cfg.instances[0].revoke_deadline_ns, 10 * MS);
	ck_assert_uint_eq(cfg.instances[1].revoke_deadline_ns, 10 * MS);
	vmm_config_free(&cfg);
	load_ok("[exovmm]\nrevoke_deadline = 3600s\n[instance a]\n", &cfg);
	ck_assert_uint_eq(cfg.instances[0].revoke_deadline_ns,
			  VMM_REVOKE_DEADLINE_MAX_NS);
	vmm_config_free(&cfg);
}
END_TEST

/* A value parser refused its value with exactly this message. */
static void expect_refusal(int rc, const struct vmm_error *err,
			   const char *want)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err->msg, want);
}

/* The value parsers exoctl's set shares with the file. */
START_TEST(test_value_parsers)
{
	struct vmm_error err = {""};
	unsigned u;
	uint64_t size;

	ck_assert_int_eq(vmm_parse_weight("512", &u, &err), 0);
	ck_assert_uint_eq(u, 512);
	expect_refusal(vmm_parse_weight("0", &u, &err), &err,
		       "expected an integer from 1 to 65535, got \"0\"");
	ck_assert_int_eq(vmm_parse_cap("50%", &u, &err), 0);
	ck_assert_uint_eq(u, 50);
	ck_assert_int_eq(vmm_parse_cap("40", &u, &err), 0);
	ck_assert_uint_eq(u, 40);
	expect_refusal(vmm_parse_cap("150", &u, &err), &err,
		       "expected a percentage from 0% to 100%, got \"150\"");
	ck_assert_int_eq(vmm_parse_memory("1G", &size, &err), 0);
	ck_assert_uint_eq(size, GiB);
	expect_refusal(vmm_parse_memory("3M", &size, &err), &err,
		       "3M is not a multiple of 2M");
	expect_refusal(vmm_parse_memory("64", &size, &err), &err,
		       "expected a size such as 64M or 1G, got \"64\"");
	expect_refusal(vmm_parse_memory("4G", &size, &err), &err,
		       "expected a size from 2M to 3G, got \"4G\"");
	ck_assert_uint_eq(size, GiB); /* untouched by the refusals */
}
END_TEST

/* auto and kvm everywhere; an instance's own backend wins over [exovmm]'s. */
START_TEST(test_backends)
{
	struct vmm_config cfg;

	load_ok("[exovmm]\n"
		"backend = kvm\n"
		"[instance a]\n"
		"[instance b]\n"
		"backend = auto\n"
		"[instance c]\n"
		"backend = \"kvm\"\n",
		&cfg);
	ck_assert_str_eq(cfg.backend, "kvm");
	ck_assert_str_eq(cfg.instances[0].backend, "kvm");
	ck_assert_str_eq(cfg.instances[1].backend, "auto");
	ck_assert_str_eq(cfg.instances[2].backend, "kvm");
	vmm_config_free(&cfg);
	load_ok("[exovmm]\nbackend = auto\n[instance a]\nbackend = kvm\n", &cfg);
	ck_assert_str_eq(cfg.backend, "auto");
	ck_assert_str_eq(cfg.instances[0].backend, "kvm");
	vmm_config_free(&cfg);
}
END_TEST

/* unicorn is a backend only where exovmm is built with Unicorn. */
START_TEST(test_backend_unicorn)
{
	const char *text = "[exovmm]\nbackend = unicorn\n[instance a]\n";
#ifdef HAVE_UNICORN
	struct vmm_config cfg;

	load_ok(text, &cfg);
	ck_assert_str_eq(cfg.backend, "unicorn");
	ck_assert_str_eq(cfg.instances[0].backend, "unicorn");
	vmm_config_free(&cfg);
#else
	expect_error(text, ":2: [exovmm] backend: \"unicorn\" is not built into "
			   "this exovmm (configure found no Unicorn 2.1); "
			   "expected auto or kvm");
#endif
}
END_TEST

/* What exovmm --backend checks its value with: the same as the file. */
START_TEST(test_backend_parser)
{
	struct vmm_error err = {""};
	const char *name = NULL;

	ck_assert_int_eq(vmm_parse_backend("auto", &name, &err), 0);
	ck_assert_str_eq(name, VMM_BACKEND_AUTO);
	ck_assert_int_eq(vmm_parse_backend("kvm", &name, &err), 0);
	ck_assert_str_eq(name, VMM_BACKEND_KVM);
#ifdef HAVE_UNICORN
	ck_assert_int_eq(vmm_parse_backend("unicorn", &name, &err), 0);
	ck_assert_str_eq(name, VMM_BACKEND_UNICORN);
#else
	expect_refusal(vmm_parse_backend("unicorn", &name, &err), &err,
		       "\"unicorn\" is not built into this exovmm (configure "
		       "found no Unicorn 2.1); expected auto or kvm");
#endif
	name = NULL;
	expect_refusal(vmm_parse_backend("bogus", &name, &err), &err,
		       "expected " BACKEND_CHOICES ", got \"bogus\"");
	expect_refusal(vmm_parse_backend("", &name, &err), &err,
		       "expected " BACKEND_CHOICES ", got \"\"");
	expect_refusal(vmm_parse_backend("libvirt", &name, &err), &err,
		       "\"libvirt\" is not built yet; expected " BACKEND_CHOICES);
	ck_assert_ptr_null(name); /* untouched by the refusals */
}
END_TEST

/* Comments, blank lines, indenting, CRLF, a BOM, "key: value". */
START_TEST(test_layout)
{
	struct vmm_config cfg;

	load_ok("\xef\xbb\xbf; comment\r\n"
		"# comment\r\n"
		"\r\n"
		"  [ instance   a ]   ; trailing comment\r\n"
		"\tmemory = 128M ; 128 MiB\r\n"
		"    weight: 7\r\n"
		"[instance b]",
		&cfg);
	ck_assert_uint_eq(cfg.n_instances, 2);
	ck_assert_str_eq(cfg.instances[0].name, "a");
	ck_assert_int_eq(cfg.instances[0].line, 4);
	ck_assert_uint_eq(cfg.instances[0].memory, 128 * MiB);
	ck_assert_uint_eq(cfg.instances[0].weight, 7);
	ck_assert_str_eq(cfg.instances[1].name, "b");
	ck_assert_int_eq(cfg.instances[1].line, 7);
	vmm_config_free(&cfg);
}
END_TEST

/* A line far longer than libinih's own 200-byte default, and its limit. */
START_TEST(test_long_cmdline)
{
	char *text;
	struct vmm_config cfg;

	ck_assert_int_ne(asprintf(&text, "[instance a]\ncmdline = %0*d\n",
				  VMM_CMDLINE_MAX, 0),
			 -1);
	load_ok(text, &cfg);
	ck_assert_uint_eq(strlen(cfg.instances[0].cmdline), VMM_CMDLINE_MAX);
	vmm_config_free(&cfg);
	free(text);
	ck_assert_int_ne(asprintf(&text, "[instance a]\ncmdline = %0*d\n",
				  VMM_CMDLINE_MAX + 1, 0),
			 -1);
	expect_error(text,
		     ":2: [instance a] cmdline: expected at most 4095 bytes, "
		     "got 4096");
	free(text);
}
END_TEST

/*
 * A line may be LINE_MAX_BYTES long, newline included, far more than
 * libinih's 200-byte default; the lines after it keep their numbers.
 */
START_TEST(test_line_length)
{
	char *text;
	struct vmm_config cfg;

	ck_assert_int_ne(asprintf(&text, "[instance a]\n;%0*d\nweight = 2\n",
				  LINE_MAX_BYTES - 2, 0),
			 -1);
	load_ok(text, &cfg);
	ck_assert_uint_eq(cfg.instances[0].weight, 2);
	vmm_config_free(&cfg);
	free(text);
	ck_assert_int_ne(asprintf(&text, "[instance a]\n;%0*d\nweight = 0\n",
				  LINE_MAX_BYTES - 2, 0),
			 -1);
	expect_error(text,
		     ":3: [instance a] weight: expected an integer from 1 "
		     "to 65535, got \"0\"");
	free(text);
	ck_assert_int_ne(
	    asprintf(&text, "[instance a]\n;%0*d\n", LINE_MAX_BYTES - 1, 0),
	    -1);
	expect_error(text, ":2: line is longer than 8192 bytes");
	free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[instance a]\nimage = a\0b\n";
	char path[PATH_MAX];

	write_file(path, NULL, text, sizeof(text) - 1);
	expect_error_at(path, ":2: line contains a NUL byte");
}
END_TEST

START_TEST(test_max_instances)
{
	char text[VMM_MAX_INSTANCES * 32], *want;
	size_t n = 0;
	struct vmm_config cfg;

	for (int i = 0; i < VMM_MAX_INSTANCES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[instance i%d]\n", i);
	load_ok(text, &cfg);
	ck_assert_uint_eq(cfg.n_instances, VMM_MAX_INSTANCES);
	ck_assert_str_eq(cfg.instances[VMM_MAX_INSTANCES - 1].name, "i63");
	vmm_config_free(&cfg);
	snprintf(text + n, sizeof(text) - n, "[instance one-more]\n");
	ck_assert_int_ne(asprintf(&want,
				  ":%d: [instance one-more] too many instances "
				  "(at most 64)",
				  VMM_MAX_INSTANCES + 1),
			 -1);
	expect_error(text, want);
	free(want);
}
END_TEST

START_TEST(test_cpus)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	char *text, *want;
	struct vmm_config cfg;

	ck_assert_int_ne(
	    asprintf(&text, "[exovmm]\ncpus = %ld\n[instance a]\n", online),
	    -1);
	load_ok(text, &cfg);
	ck_assert_uint_eq(cfg.cpus, (unsigned)online);
	vmm_config_free(&cfg);
	free(text);
	ck_assert_int_ne(asprintf(&text, "[exovmm]\ncpus = %ld\n", online + 1),
			 -1);
	ck_assert_int_ne(asprintf(&want,
				  ":2: [exovmm] cpus: expected an integer from "
				  "1 to %ld (the online CPUs), got \"%ld\"",
				  online, online + 1),
			 -1);
	expect_error(text, want);
	free(text);
	free(want);
	ck_assert_int_ne(asprintf(&want,
				  ":2: [exovmm] cpus: expected an integer from "
				  "1 to %ld (the online CPUs), got \"0\"",
				  online),
			 -1);
	expect_error("[exovmm]\ncpus = 0\n", want);
	free(want);
}
END_TEST

START_TEST(test_missing_file)
{
	char path[PATH_MAX];

	ck_assert_int_lt(
	    snprintf(path, sizeof(path), "%s/missing.conf", tmp_dir), PATH_MAX);
	expect_error_at(path, ": cannot open: No such file or directory");
}
END_TEST

START_TEST(test_directory)
{
	expect_error_at(tmp_dir, ": cannot read: Is a directory");
}
END_TEST

/* The reader changes libinih's run-time settings only while it runs. */
START_TEST(test_ini_settings_restored)
{
	bool use_stack = ini_use_stack, allow_realloc = ini_allow_realloc;
	int max_line = ini_max_line;
	struct vmm_config cfg;

	load_ok("[instance a]\n", &cfg);
	vmm_config_free(&cfg);
	ck_assert_int_eq(ini_use_stack, use_stack);
	ck_assert_int_eq(ini_allow_realloc, allow_realloc);
	ck_assert_int_eq(ini_max_line, max_line);
}
END_TEST

/* --- Bad files --------------------------------------------------------- */

#define NAME_RULE                                                              \
	"expected 1 to 32 letters, digits, \"_\", \".\" or \"-\", starting "       \
	"with a letter or digit"
#define SIZE_SYNTAX ": expected a size such as 64M or 1G, got "
#define SIZE_RANGE ": expected a size from 2M to 3G, got "
#define WEIGHT_RANGE ": expected an integer from 1 to 65535, got "
#define CAP_RANGE ": expected a percentage from 0% to 100%, got "
#define TIME_SYNTAX ": expected a duration such as 30ms or 1s, got "
#define TIME_RANGE ": expected a duration from 1ms to 1s, got "
#define DEADLINE_RANGE ": expected a duration from 10ms to 3600s, got "
#define NET_RULE                                                               \
	": expected a network name of 1 to 32 letters, digits, \"_\", \".\" "  \
	"or \"-\", starting with a letter or digit, got "
#define SECTIONS "expected [exovmm] or [instance NAME]"

/* The file's text, and the message after its path. */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
    /* The file as a whole */
    {"", ": no [instance NAME] section"},
    {"; nothing\n\n", ": no [instance NAME] section"},
    {"[exovmm]\ncpus = 1\n", ": no [instance NAME] section"},

    /* Sections */
    {"[foo]\n", ":1: unknown section [foo]; " SECTIONS},
    {"[instance a]\n[instancex]\n",
     ":2: unknown section [instancex]; " SECTIONS},
    {"[Exovmm]\n", ":1: unknown section [Exovmm]; " SECTIONS},
    {"[]\n", ":1: unknown section []; " SECTIONS},
    {"[instance]\n", ":1: [instance] has no name; expected [instance NAME]"},
    {"[instance a/b]\n", ":1: [instance a/b] bad name: " NAME_RULE},
    {"[instance a b]\n", ":1: [instance a b] bad name: " NAME_RULE},
    {"[instance ..]\n", ":1: [instance ..] bad name: " NAME_RULE},
    {"[instance -x]\n", ":1: [instance -x] bad name: " NAME_RULE},
    {"[instance aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
     ":1: [instance aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] bad name: " NAME_RULE},
    {"[instance web]\nmemory = 64M\n[instance web]\n",
     ":3: [instance web] defined twice (first at line 1)"},
    {"[exovmm]\n[instance a]\n[exovmm]\n",
     ":3: [exovmm] defined twice (first at line 1)"},
    {"[instance a\n",
     ":1: syntax error: expected ] to close the section header"},
    {"[instance a] b\n", ":1: syntax error: unexpected text after ]"},

    /* Lines and keys */
    {"memory = 64M\n[instance a]\n",
     ":1: key \"memory\" is outside any section; " SECTIONS " before it"},
    {"[instance a]\nmemory\n", ":2: syntax error: expected key = value"},
    {"[instance a]\nmemory 64M\n", ":2: syntax error: expected key = value"},
    {"[instance a]\nfoo\nmemory = 1Q\n",
     ":2: syntax error: expected key = value"},
    {"[instance a]\nmemory = 1Q\nfoo\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"1Q\""},
    {"[instance a]\nmemory_min = 128M\nfoo\n",
     ":2: [instance a] memory_min: 128M is more than memory (64M by "
     "default)"},
    {"[exovmm]\ncolour = red\n[instance a]\n",
     ":2: [exovmm] unknown key \"colour\""},
    {"[exovmm]\nmemory = 64M\n", ":2: [exovmm] unknown key \"memory\""},
    {"[instance a]\nlog_dir = x\n", ":2: [instance a] unknown key \"log_dir\""},
    {"[instance a]\nMemory = 64M\n", ":2: [instance a] unknown key \"Memory\""},
    {"[instance a]\n= 64M\n", ":2: [instance a] unknown key \"\""},
    {"[instance web]\nmemory = 64M\nmemory = 128M\n",
     ":3: [instance web] memory: set twice (first at line 2)"},
    {"[exovmm]\ncpus = 1\n\ncpus = 1\n",
     ":4: [exovmm] cpus: set twice (first at line 2)"},
    {"[instance a]\nweight = 0\ncap = 200\n",
     ":2: [instance a] weight" WEIGHT_RANGE "\"0\""},

    /* memory, memory_min, memory_max */
    {"[instance web]\nmemory = 64Q\n",
     ":2: [instance web] memory" SIZE_SYNTAX "\"64Q\""},
    {"[instance a]\nmemory = 64\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"64\""},
    {"[instance a]\nmemory = M\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"M\""},
    {"[instance a]\nmemory =\n", ":2: [instance a] memory" SIZE_SYNTAX "\"\""},
    {"[instance a]\nmemory = -64M\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"-64M\""},
    {"[instance a]\nmemory = 64 M\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"64 M\""},
    {"[instance a]\nmemory = 64MB\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"64MB\""},
    {"[instance a]\nmemory = 1.5G\n",
     ":2: [instance a] memory" SIZE_SYNTAX "\"1.5G\""},
    {"[instance a]\nmemory = 0M\n",
     ":2: [instance a] memory" SIZE_RANGE "\"0M\""},
    {"[instance a]\nmemory = 1K\n",
     ":2: [instance a] memory" SIZE_RANGE "\"1K\""},
    {"[instance a]\nmemory = 4G\n",
     ":2: [instance a] memory" SIZE_RANGE "\"4G\""},
    {"[instance a]\nmemory = 99999999999999999999G\n",
     ":2: [instance a] memory" SIZE_RANGE "\"99999999999999999999G\""},
    {"[instance web]\nmemory = 3M\n",
     ":2: [instance web] memory: 3M is not a multiple of 2M"},
    {"[instance a]\nmemory_max = 5M\n",
     ":2: [instance a] memory_max: 5M is not a multiple of 2M"},
    {"[instance a]\nmemory_min = 1x\n",
     ":2: [instance a] memory_min" SIZE_SYNTAX "\"1x\""},
    {"[instance web]\nmemory = 64M\nmemory_min = 128M\n",
     ":3: [instance web] memory_min: 128M is more than memory (64M)"},
    {"[instance web]\nmemory_min = 128M\nmemory = 64M\n",
     ":3: [instance web] memory: 64M is less than memory_min (128M)"},
    {"[instance a]\nmemory_max = 128M\nmemory = 256M\n",
     ":3: [instance a] memory: 256M is more than memory_max (128M)"},
    {"[instance a]\nmemory = 256M\nmemory_max = 128M\n",
     ":3: [instance a] memory_max: 128M is less than memory (256M)"},
    {"[instance a]\nmemory_min = 256M\nmemory_max = 128M\nmemory = 192M\n",
     ":3: [instance a] memory_max: 128M is less than memory_min (256M)"},
    {"[instance a]\nmemory_max = 32M\n",
     ":2: [instance a] memory_max: 32M is less than memory (64M by "
     "default)"},
    {"[instance a]\nmemory_min = 128M\n[instance b]\n",
     ":2: [instance a] memory_min: 128M is more than memory (64M by "
     "default)"},

    /* weight, cap */
    {"[instance a]\nweight = 65536\n",
     ":2: [instance a] weight" WEIGHT_RANGE "\"65536\""},
    {"[instance a]\nweight = -1\n",
     ":2: [instance a] weight" WEIGHT_RANGE "\"-1\""},
    {"[instance a]\nweight = 1.5\n",
     ":2: [instance a] weight" WEIGHT_RANGE "\"1.5\""},
    {"[instance a]\nweight = heavy\n",
     ":2: [instance a] weight" WEIGHT_RANGE "\"heavy\""},
    {"[instance a]\ncap = 101\n", ":2: [instance a] cap" CAP_RANGE "\"101\""},
    {"[instance a]\ncap = 101%\n", ":2: [instance a] cap" CAP_RANGE "\"101%\""},
    {"[instance a]\ncap = 50 %\n", ":2: [instance a] cap" CAP_RANGE "\"50 %\""},
    {"[instance a]\ncap = %\n", ":2: [instance a] cap" CAP_RANGE "\"%\""},
    {"[instance a]\ncap = 50%%\n", ":2: [instance a] cap" CAP_RANGE "\"50%%\""},

    /* [exovmm] timeslice, cpus, backend */
    {"[exovmm]\ntimeslice = 30\n",
     ":2: [exovmm] timeslice" TIME_SYNTAX "\"30\""},
    {"[exovmm]\ntimeslice = 30MS\n",
     ":2: [exovmm] timeslice" TIME_SYNTAX "\"30MS\""},
    {"[exovmm]\ntimeslice = 1.5ms\n",
     ":2: [exovmm] timeslice" TIME_SYNTAX "\"1.5ms\""},
    {"[exovmm]\ntimeslice = 500us\n",
     ":2: [exovmm] timeslice" TIME_RANGE "\"500us\""},
    {"[exovmm]\ntimeslice = 0ms\n",
     ":2: [exovmm] timeslice" TIME_RANGE "\"0ms\""},
    {"[exovmm]\ntimeslice = 2s\n",
     ":2: [exovmm] timeslice" TIME_RANGE "\"2s\""},
    {"[exovmm]\nmetrics_interval = 5ms\n",
     ":2: [exovmm] metrics_interval: expected a duration from 10ms to 3600s, "
     "got \"5ms\""},
    {"[exovmm]\nmetrics_interval = often\n",
     ":2: [exovmm] metrics_interval" TIME_SYNTAX "\"often\""},
    {"[exovmm]\nrevoke_deadline = 1\n",
     ":2: [exovmm] revoke_deadline" TIME_SYNTAX "\"1\""},
    {"[exovmm]\nrevoke_deadline = 1h\n",
     ":2: [exovmm] revoke_deadline" TIME_SYNTAX "\"1h\""},
    {"[exovmm]\nrevoke_deadline = 1S\n",
     ":2: [exovmm] revoke_deadline" TIME_SYNTAX "\"1S\""},
    {"[exovmm]\nrevoke_deadline = 0.5s\n",
     ":2: [exovmm] revoke_deadline" TIME_SYNTAX "\"0.5s\""},
    {"[exovmm]\nrevoke_deadline = 9ms\n",
     ":2: [exovmm] revoke_deadline" DEADLINE_RANGE "\"9ms\""},
    {"[exovmm]\nrevoke_deadline = 0s\n",
     ":2: [exovmm] revoke_deadline" DEADLINE_RANGE "\"0s\""},
    {"[exovmm]\nrevoke_deadline = 3601s\n",
     ":2: [exovmm] revoke_deadline" DEADLINE_RANGE "\"3601s\""},
    {"[instance a]\nrevoke_deadline = 1s\n",
     ":2: [instance a] unknown key \"revoke_deadline\""},
    {"[instance a]\nbackend = libvirt\n",
     ":2: [instance a] backend: \"libvirt\" is not built yet; expected "
     BACKEND_CHOICES},
    {"[exovmm]\nbackend = qemu\n",
     ":2: [exovmm] backend: expected " BACKEND_CHOICES ", got \"qemu\""},
    {"[exovmm]\nbackend = KVM\n",
     ":2: [exovmm] backend: expected " BACKEND_CHOICES ", got \"KVM\""},
    {"[exovmm]\nbackend = Auto\n",
     ":2: [exovmm] backend: expected " BACKEND_CHOICES ", got \"Auto\""},
    {"[instance a]\nmemory = 64M\n\nbackend =\n",
     ":4: [instance a] backend: expected " BACKEND_CHOICES ", got \"\""},
    {"[instance a]\nbackend = kvm\nbackend = auto\n",
     ":3: [instance a] backend: set twice (first at line 2)"},

    /* Strings and paths */
    {"[instance a]\nnet = a b\n", ":2: [instance a] net" NET_RULE "\"a b\""},
    {"[instance a]\nnet =\n", ":2: [instance a] net" NET_RULE "\"\""},
    {"[instance a]\nnet = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     ":2: [instance a] net" NET_RULE "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
    {"[instance a]\nimage =\n",
     ":2: [instance a] image: expected a path, got \"\""},
    {"[instance a]\ninitrd = \"\"\n",
     ":2: [instance a] initrd: expected a path, got \"\""},
    {"[exovmm]\nlog_dir =\n",
     ":2: [exovmm] log_dir: expected a path, got \"\""},
    {"[exovmm]\ncontrol = \"\"\n",
     ":2: [exovmm] control: expected a path, got \"\""},
    {"[exovmm]\ncontrol = a.sock\ncontrol = b.sock\n",
     ":3: [exovmm] control: set twice (first at line 2)"},
    {"[instance a]\ncontrol = a.sock\n",
     ":2: [instance a] unknown key \"control\""},
    {"[instance a]\ncmdline = \"quiet\n",
     ":2: [instance a] cmdline: missing closing quote"},
    {"[instance a]\ncmdline = \"\n",
     ":2: [instance a] cmdline: missing closing quote"},
    /* A ';' after a space starts a comment, even inside quotes. */
    {"[instance a]\ncmdline = \"a ; b\"\n",
     ":2: [instance a] cmdline: missing closing quote"},
};

START_TEST(test_bad)
{
	expect_error(bad[_i].text, bad[_i].msg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("good");
	TCase *limits = tcase_create("limits");
	TCase *errors = tcase_create("bad");

	tcase_add_checked_fixture(good, make_tmp_dir, remove_tmp_dir);
	tcase_add_test(good, test_minimal);
	tcase_add_test(good, test_all_keys);
	tcase_add_test(good, test_relative_paths);
	tcase_add_test(good, test_relative_to_cwd);
	tcase_add_test(good, test_instances_in_order);
	tcase_add_test(good, test_quoted_cmdline);
	tcase_add_test(good, test_units);
	tcase_add_test(good, test_limits);
	tcase_add_test(good, test_layout);
	tcase_add_test(good, test_revoke_deadline);
	tcase_add_test(good, test_value_parsers);
	tcase_add_test(good, test_backends);
	tcase_add_test(good, test_backend_unicorn);
	tcase_add_test(good, test_backend_parser);
	tcase_add_test(good, test_ini_settings_restored);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(limits, make_tmp_dir, remove_tmp_dir);
	tcase_add_test(limits, test_long_cmdline);
	tcase_add_test(limits, test_line_length);
	tcase_add_test(limits, test_nul_byte);
	tcase_add_test(limits, test_max_instances);
	tcase_add_test(limits, test_cpus);
	tcase_add_test(limits, test_missing_file);
	tcase_add_test(limits, test_directory);
	suite_add_tcase(s, limits);

	tcase_add_checked_fixture(errors, make_tmp_dir, remove_tmp_dir);
	tcase_add_loop_test(errors, test_bad, 0, ARRAY_SIZE(bad));
	suite_add_tcase(s, errors);
	return s;
}

CHECK_MAIN(config_suite)
