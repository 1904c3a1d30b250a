/*
 * main.c: the exovmm command.  Reads the configuration and every image
 * and initrd it names, then (unless --check) chooses each instance's
 * backend, creates every instance (and starts none if any of them cannot
 * be created), runs them concurrently, each on its own thread, and turns
 * their outcomes into exovmm's exit status.  SIGINT and SIGTERM stop every
 * instance cleanly.  While they run, the control socket (control.h), if
 * configured, serves exoctl(1).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "cpusched.h"
#include "instance.h"
#include "metrics.h"

/* Exit statuses of exovmm itself; 1..EXO_EXIT_CODE_MAX are guests' codes.  See exovmm(1). */
#define EXOVMM_EXIT_USAGE 64   /* bad command line */
#define EXOVMM_EXIT_CONFIG 65  /* the configuration file is wrong */
#define EXOVMM_EXIT_SETUP 66   /* an instance could not be set up or started, or
				  this host cannot run its backend */
#define EXOVMM_EXIT_STOPPED 70 /* exovmm stopped an instance (fault, bad I/O) */
#define EXOVMM_EXIT_SIGNAL_BASE 128 /* + signal number: stopped by a signal */

/* Sent to the main thread by each instance thread as it ends. */
#define INSTANCE_DONE_SIGNAL SIGUSR2

struct run {
	struct vmm_config cfg;
	struct instance *instances;
	size_t n_prepared; /* each needs instance_destroy() */
	const struct vmm_backend *backends[VMM_MAX_INSTANCES]; /* chosen, per instance */
	pthread_t main_thread;
	atomic_size_t running;
	int stop_signal; /* 0, or the signal that stopped the run */
	struct metrics metrics; /* file NULL: none */
	struct control *control; /* NULL: none */
};

static const char usage_text[] =
	"Usage: exovmm [OPTION]... CONFIG\n"
	"Run the exokernel instances that the configuration file CONFIG describes.\n"
	"\n"
	"  -l, --log-dir=DIR  also write each instance's console to DIR/NAME.log\n"
	"                     (overrides [exovmm] log_dir)\n"
	"  -m, --metrics=PATH write the metrics time series to PATH\n"
	"                     (overrides [exovmm] metrics)\n"
	"  -c, --control=PATH listen for exoctl(1) on the UNIX socket PATH\n"
	"                     (overrides [exovmm] control)\n"
	"  -b, --backend=NAME run every instance on backend NAME: auto (KVM if this\n"
	"                     host has it, else Unicorn), kvm or unicorn\n"
	"                     (overrides every backend in CONFIG)\n"
	"  -n, --check        check CONFIG and the images and initrds it names,\n"
	"                     print \"CONFIG: ok\" and exit; start nothing\n"
	"  -h, --help         print this help and exit\n"
	"  -V, --version      print the version and exit\n"
	"\n"
	"Exit status: 0 when every instance exited with code 0; otherwise the code\n"
	"of the first instance (in file order) that did not: its own exit code\n"
	"(1-63), 70 if exovmm stopped it, 128+N if signal N stopped the run.\n"
	"64: bad usage; 65: bad configuration; 66: an instance could not be set up\n"
	"(a bad image or initrd, or a host that cannot run its backend).\n"
	"See exovmm(1) and exovmm.conf(5).\n";

static void instance_done(void *arg)
{
	struct run *run = arg;

	atomic_fetch_sub(&run->running, 1);
	pthread_kill(run->main_thread, INSTANCE_DONE_SIGNAL);
}

static const char *default_image_dir(void)
{
	const char *dir = getenv("EXOVMM_IMAGE_DIR");

	return dir && *dir ? dir : EXO_IMAGEDIR;
}

/* Create the log directory if it is missing; *created says whether we did. */
static int prepare_log_dir(const char *dir, int *created)
{
	*created = 0;
	if (!dir)
		return 0;
	if (mkdir(dir, 0755) == 0) {
		*created = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	fprintf(stderr, "exovmm: log directory %s: %s\n", dir, strerror(errno));
	return -1;
}

static void destroy_instances(struct run *run)
{
	while (run->n_prepared > 0)
		instance_destroy(&run->instances[--run->n_prepared]);
	free(run->instances);
	run->instances = NULL;
}

/* Print err as the fault of instance i: "exovmm: FILE:LINE: [instance NAME] ...". */
static void report_instance_error(const struct run *run, size_t i, const struct vmm_error *err)
{
	const struct vmm_instance_config *cfg = &run->cfg.instances[i];

	fprintf(stderr, "exovmm: %s:%d: [instance %s] %s\n", run->cfg.path, cfg->line, cfg->name,
		err->msg);
}

/*
 * Read and check every instance's image and initrd, before any backend is
 * opened, so a bad one is reported alike on every host; on failure, report
 * it and return -1.
 */
static int prepare_instances(struct run *run)
{
	struct vmm_error err;
	size_t i;

	run->instances = calloc(run->cfg.n_instances, sizeof(*run->instances));
	if (!run->instances) {
		fprintf(stderr, "exovmm: out of memory\n");
		return -1;
	}
	for (i = 0; i < run->cfg.n_instances; i++) {
		if (instance_prepare(&run->instances[i], &run->cfg.instances[i], &err) < 0) {
			report_instance_error(run, i, &err);
			return -1;
		}
		run->n_prepared++;
	}
	return 0;
}

/* What to do instead when the host cannot run backend name. */
static const char *backend_hint(const char *name)
{
	if (strcmp(name, VMM_BACKEND_KVM) != 0)
		return "";
	if (vmm_backend_find(VMM_BACKEND_UNICORN))
		return " (use backend = auto or unicorn on a host without KVM)";
	return " (this exovmm has no backend for hosts without KVM: build it with Unicorn 2.1)";
}

/* The backend name, if this host can run it; else -1 with the host's reason. */
static int host_backend(const char *name, const struct vmm_backend **out, struct vmm_error *err)
{
	const struct vmm_backend *backend = vmm_backend_find(name);
	struct vmm_error why;

	/* config.c accepts only the names of built-in backends. */
	if (!backend)
		return vmm_errorf(err, "not built into this exovmm");
	if (backend->available(&why) < 0)
		return vmm_errorf(err, "%s%s", why.msg, backend_hint(name));
	*out = backend;
	return 0;
}

/*
 * backend = auto: KVM where this host can run it, else Unicorn where
 * exovmm has it.  Says on stderr which it chose and why.
 */
static int choose_auto(const struct vmm_backend **out, struct vmm_error *err)
{
	const struct vmm_backend *kvm = vmm_backend_find(VMM_BACKEND_KVM);
	const struct vmm_backend *unicorn = vmm_backend_find(VMM_BACKEND_UNICORN);
	struct vmm_error kvm_why, unicorn_why;

	if (kvm->available(&kvm_why) == 0) {
		fprintf(stderr, "exovmm: backend %s: %s (/dev/kvm opens)\n", VMM_BACKEND_AUTO,
			kvm->name);
		*out = kvm;
		return 0;
	}
	if (!unicorn)
		return vmm_errorf(err, "no backend can run on this host (%s: %s; %s: not built into this exovmm)",
				  kvm->name, kvm_why.msg, VMM_BACKEND_UNICORN);
	if (unicorn->available(&unicorn_why) < 0)
		return vmm_errorf(err, "no backend can run on this host (%s: %s; %s: %s)", kvm->name,
				  kvm_why.msg, unicorn->name, unicorn_why.msg);
	fprintf(stderr, "exovmm: backend %s: %s (%s)\n", VMM_BACKEND_AUTO, unicorn->name,
		kvm_why.msg);
	*out = unicorn;
	return 0;
}

/*
 * The backend every instance runs on, checked against this host before
 * any is created; auto is decided once for the whole run.  A backend the
 * host lacks is the host's fault, not the configuration's: the message
 * names the instance, not a line.
 */
static int choose_backends(struct run *run)
{
	const struct vmm_backend *auto_choice = NULL;
	struct vmm_error err;
	size_t i;

	for (i = 0; i < run->cfg.n_instances; i++) {
		const char *name = run->cfg.instances[i].backend;
		int rc;

		if (strcmp(name, VMM_BACKEND_AUTO) != 0) {
			rc = host_backend(name, &run->backends[i], &err);
		} else {
			rc = auto_choice ? 0 : choose_auto(&auto_choice, &err);
			run->backends[i] = auto_choice;
		}
		if (rc < 0) {
			fprintf(stderr, "exovmm: instance %s: backend %s: %s\n",
				run->cfg.instances[i].name, name, err.msg);
			return -1;
		}
	}
	return 0;
}

/* Create every prepared instance and open its log; on failure, report it and return -1. */
static int create_instances(struct run *run)
{
	struct vmm_error err;
	size_t i;

	for (i = 0; i < run->n_prepared; i++) {
		struct instance *inst = &run->instances[i];

		if (instance_create(inst, run->backends[i], &err) < 0) {
			report_instance_error(run, i, &err);
			return -1;
		}
		inst->on_finish = instance_done;
		inst->on_finish_arg = run;
	}
	for (i = 0; run->cfg.log_dir && i < run->n_prepared; i++) {
		if (instance_open_log(&run->instances[i], run->cfg.log_dir, &err) < 0) {
			report_instance_error(run, i, &err);
			return -1;
		}
	}
	return 0;
}

/* Create the metrics file, if one is configured; on failure, say why. */
static int open_metrics(struct run *run)
{
	struct vmm_error err;

	if (!run->cfg.metrics || metrics_open(&run->metrics, run->cfg.metrics, &err) == 0)
		return 0;
	fprintf(stderr, "exovmm: %s\n", err.msg);
	return -1;
}

/* Create the control socket, if one is configured; on failure, say why. */
static int open_control(struct run *run)
{
	struct vmm_error err;

	if (!run->cfg.control ||
	    control_open(&run->control, run->cfg.control, &err) == 0)
		return 0;
	fprintf(stderr, "exovmm: %s\n", err.msg);
	return -1;
}

static void stop_all(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_prepared; i++)
		instance_request_stop(&run->instances[i]);
}

/*
 * Start every instance and wait for all of them, stopping them all on
 * SIGINT or SIGTERM.  The signals are blocked in every thread and taken
 * here with sigwait(), so no handler races the instance threads.
 */
static void run_instances(struct run *run, const sigset_t *waited)
{
	struct cpusched *cpusched = NULL;
	struct metrics *metrics = run->metrics.file ? &run->metrics : NULL;
	struct vmm_error err;
	size_t i;
	int sig;

	run->main_thread = pthread_self();
	for (i = 0; i < run->n_prepared; i++) {
		atomic_fetch_add(&run->running, 1);
		if (instance_start(&run->instances[i], &err) < 0) {
			atomic_fetch_sub(&run->running, 1);
			report_instance_error(run, i, &err);
			run->stop_signal = SIGTERM;
			stop_all(run);
			break;
		}
	}
	if (!run->stop_signal &&
	    (cpusched_start(&cpusched, &run->cfg, run->instances, run->n_prepared, metrics,
			    &err) < 0 ||
	     (run->control && control_start(run->control, run->instances, run->n_prepared,
					    cpusched, &err) < 0))) {
		fprintf(stderr, "exovmm: %s\n", err.msg);
		run->stop_signal = SIGTERM;
		stop_all(run);
	}
	while (atomic_load(&run->running) > 0) {
		if (sigwait(waited, &sig) != 0 || sig == INSTANCE_DONE_SIGNAL)
			continue;
		if (!run->stop_signal)
			fprintf(stderr, "exovmm: %s: stopping every instance\n", strsignal(sig));
		run->stop_signal = sig;
		stop_all(run);
	}
	/* The control socket's requests use the scheduler: it goes first. */
	control_close(run->control);
	run->control = NULL;
	cpusched_stop(cpusched);
	for (i = 0; i < run->n_prepared; i++)
		instance_join(&run->instances[i]);
}

/* The status of the first instance, in file order, that did not exit 0. */
static int exit_status(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_prepared; i++) {
		const struct instance *inst = &run->instances[i];

		switch (inst->outcome) {
		case INSTANCE_NOT_RUN:
			return EXOVMM_EXIT_SETUP;
		case INSTANCE_EXITED:
			if (inst->exit_code != 0)
				return inst->exit_code;
			break;
		case INSTANCE_STOPPED:
			return EXOVMM_EXIT_STOPPED;
		case INSTANCE_INTERRUPTED:
			return EXOVMM_EXIT_SIGNAL_BASE + run->stop_signal;
		}
	}
	return 0;
}

/* What the command line asks for; NULL: keep the configuration's setting. */
struct options {
	const char *config_path;
	const char *log_dir;
	const char *metrics;
	const char *control;
	const char *backend; /* a VMM_BACKEND_* name, for every instance */
	bool check;	     /* --check: check everything, start nothing */
};

static const char try_help[] = "Try 'exovmm --help' for more information.\n";

/* --backend NAME: the names the configuration accepts, checked alike. */
static int parse_backend_option(const char *value, struct options *o)
{
	struct vmm_error err;

	if (vmm_parse_backend(value, &o->backend, &err) == 0)
		return 0;
	fprintf(stderr, "exovmm: --backend: %s\n%s", err.msg, try_help);
	return -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option options[] = {
		{"log-dir", required_argument, NULL, 'l'},
		{"metrics", required_argument, NULL, 'm'},
		{"control", required_argument, NULL, 'c'},
		{"backend", required_argument, NULL, 'b'},
		{"check", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "l:m:c:b:nhV", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			o->log_dir = optarg;
			break;
		case 'm':
			o->metrics = optarg;
			break;
		case 'c':
			o->control = optarg;
			break;
		case 'b':
			if (parse_backend_option(optarg, o) < 0)
				return -1;
			break;
		case 'n':
			o->check = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("exovmm (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		default:
			fputs(try_help, stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "exovmm: %s\n%s",
			optind == argc ? "missing CONFIG file" : "more than one CONFIG file given",
			try_help);
		return -1;
	}
	o->config_path = argv[optind];
	return 0;
}

/* Replace a configured path with one from the command line, if given. */
static int override_path(char **path, const char *value)
{
	char *copy;

	if (!value)
		return 0;
	copy = strdup(value);
	if (!copy)
		return -1;
	free(*path);
	*path = copy;
	return 0;
}

/* Put the command line's settings over the configuration's. */
static int apply_options(struct vmm_config *cfg, const struct options *o)
{
	size_t i;

	if (o->backend) {
		cfg->backend = o->backend;
		for (i = 0; i < cfg->n_instances; i++)
			cfg->instances[i].backend = o->backend;
	}
	if (override_path(&cfg->log_dir, o->log_dir) < 0 ||
	    override_path(&cfg->metrics, o->metrics) < 0 ||
	    override_path(&cfg->control, o->control) < 0) {
		fprintf(stderr, "exovmm: out of memory\n");
		return -1;
	}
	return 0;
}

/*
 * Can exovmm make a file at path when it runs?  --check creates nothing,
 * so it only sees that the directory to hold it exists and is writable.
 */
static int check_directory_of(const char *path, const char *what)
{
	char *copy = strdup(path);
	const char *dir;
	int rc = 0;

	if (!copy) {
		fprintf(stderr, "exovmm: out of memory\n");
		return -1;
	}
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) < 0) {
		fprintf(stderr, "exovmm: %s: cannot create %s: %s: %s\n", path, what, dir,
			strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

/* The log directory is made when exovmm runs, if it does not exist yet. */
static int check_log_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return check_directory_of(dir, "the log directory");
	} else if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
	} else if (access(dir, W_OK | X_OK) == 0) {
		return 0;
	}
	fprintf(stderr, "exovmm: log directory %s: %s\n", dir, strerror(errno));
	return -1;
}

/*
 * --check, once every image and initrd has been read and checked: the
 * places exovmm would make its log directory, metrics file and control
 * socket in.
 */
static int check_outputs(const struct vmm_config *cfg)
{
	if ((cfg->log_dir && check_log_dir(cfg->log_dir) < 0) ||
	    (cfg->metrics && check_directory_of(cfg->metrics, "the metrics file") < 0) ||
	    (cfg->control && check_directory_of(cfg->control, "the control socket") < 0))
		return -1;
	return 0;
}

/*
 * Choose the backends, create every instance, run them all, and return
 * exovmm's exit status.  Nothing runs unless everything could be set up.
 */
static int run_all(struct run *run)
{
	sigset_t waited;
	int created_log_dir;

	if (choose_backends(run) < 0 || prepare_log_dir(run->cfg.log_dir, &created_log_dir) < 0)
		return EXOVMM_EXIT_SETUP;
	if (create_instances(run) < 0 || open_control(run) < 0 || open_metrics(run) < 0) {
		control_close(run->control);
		/* Before rmdir: an instance that never ran removes its log file. */
		destroy_instances(run);
		if (created_log_dir)
			rmdir(run->cfg.log_dir);
		return EXOVMM_EXIT_SETUP;
	}
	/* Block before any thread exists so every thread inherits the mask. */
	sigemptyset(&waited);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, INSTANCE_DONE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);
	run_instances(run, &waited);
	metrics_close(&run->metrics);
	return exit_status(run);
}

int main(int argc, char **argv)
{
	struct run run = {0};
	struct options options = {0};
	struct vmm_error err;
	int status;

	if (parse_args(argc, argv, &options) < 0)
		return EXOVMM_EXIT_USAGE;
	if (vmm_config_load(options.config_path, default_image_dir(), &run.cfg, &err) < 0) {
		fprintf(stderr, "exovmm: %s\n", err.msg);
		return EXOVMM_EXIT_CONFIG;
	}
	if (apply_options(&run.cfg, &options) < 0 || prepare_instances(&run) < 0) {
		status = EXOVMM_EXIT_SETUP;
	} else if (options.check) {
		status = check_outputs(&run.cfg) < 0 ? EXOVMM_EXIT_SETUP : 0;
		if (status == 0)
			printf("%s: ok\n", run.cfg.path);
	} else {
		status = run_all(&run);
	}
	destroy_instances(&run);
	vmm_config_free(&run.cfg);
	return status;
}
