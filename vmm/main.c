/*
 * main.c: the exovmm command.  Reads the configuration, creates every
 * instance it describes (and starts none if any of them cannot be
 * created), runs them concurrently, each on its own thread, and turns their
 * outcomes into exovmm's exit status.  SIGINT and SIGTERM stop every
 * instance cleanly.  While they run, the control socket (control.h), if
 * configured, serves exoctl(1).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#define EXOVMM_EXIT_SETUP 66   /* an instance could not be set up or started */
#define EXOVMM_EXIT_STOPPED 70 /* exovmm stopped an instance (fault, bad I/O) */
#define EXOVMM_EXIT_SIGNAL_BASE 128 /* + signal number: stopped by a signal */

/* Sent to the main thread by each instance thread as it ends. */
#define INSTANCE_DONE_SIGNAL SIGUSR2

struct run {
	struct vmm_config cfg;
	struct instance *instances;
	size_t n_created;
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
	"  -h, --help         print this help and exit\n"
	"  -V, --version      print the version and exit\n"
	"\n"
	"Exit status: 0 when every instance exited with code 0; otherwise the code\n"
	"of the first instance (in file order) that did not: its own exit code\n"
	"(1-63), 70 if exovmm stopped it, 128+N if signal N stopped the run.\n"
	"64: bad usage; 65: bad configuration; 66: an instance could not be set up.\n"
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
	while (run->n_created > 0)
		instance_destroy(&run->instances[--run->n_created]);
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

/* Create every instance and open its log; on failure, report it and return -1. */
static int create_instances(struct run *run)
{
	struct vmm_error err;
	size_t i;

	run->instances = calloc(run->cfg.n_instances, sizeof(*run->instances));
	if (!run->instances) {
		fprintf(stderr, "exovmm: out of memory\n");
		return -1;
	}
	for (i = 0; i < run->cfg.n_instances; i++) {
		struct instance *inst = &run->instances[i];

		if (instance_create(inst, &run->cfg.instances[i], &err) < 0) {
			report_instance_error(run, i, &err);
			return -1;
		}
		inst->on_finish = instance_done;
		inst->on_finish_arg = run;
		run->n_created++;
	}
	for (i = 0; run->cfg.log_dir && i < run->n_created; i++) {
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

	for (i = 0; i < run->n_created; i++)
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
	for (i = 0; i < run->n_created; i++) {
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
	    (cpusched_start(&cpusched, &run->cfg, run->instances, run->n_created, metrics,
			    &err) < 0 ||
	     (run->control && control_start(run->control, run->instances, run->n_created,
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
	for (i = 0; i < run->n_created; i++)
		instance_join(&run->instances[i]);
}

/* The status of the first instance, in file order, that did not exit 0. */
static int exit_status(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_created; i++) {
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

/* Settings the command line overrides; NULL: keep the configuration's. */
struct overrides {
	const char *log_dir;
	const char *metrics;
	const char *control;
};

static int parse_args(int argc, char **argv, const char **config_path, struct overrides *o)
{
	static const struct option options[] = {
		{"log-dir", required_argument, NULL, 'l'},
		{"metrics", required_argument, NULL, 'm'},
		{"control", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "l:m:c:hV", options, NULL)) != -1) {
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
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("exovmm (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		default:
			fputs("Try 'exovmm --help' for more information.\n", stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "exovmm: %s\nTry 'exovmm --help' for more information.\n",
			optind == argc ? "missing CONFIG file" : "more than one CONFIG file given");
		return -1;
	}
	*config_path = argv[optind];
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

int main(int argc, char **argv)
{
	struct run run = {0};
	const char *config_path;
	struct overrides overrides = {0};
	struct vmm_error err;
	sigset_t waited;
	int created_log_dir, status;

	if (parse_args(argc, argv, &config_path, &overrides) < 0)
		return EXOVMM_EXIT_USAGE;
	if (vmm_config_load(config_path, default_image_dir(), &run.cfg, &err) < 0) {
		fprintf(stderr, "exovmm: %s\n", err.msg);
		return EXOVMM_EXIT_CONFIG;
	}
	if (override_path(&run.cfg.log_dir, overrides.log_dir) < 0 ||
	    override_path(&run.cfg.metrics, overrides.metrics) < 0 ||
	    override_path(&run.cfg.control, overrides.control) < 0 ||
	    prepare_log_dir(run.cfg.log_dir, &created_log_dir) < 0) {
		vmm_config_free(&run.cfg);
		return EXOVMM_EXIT_SETUP;
	}
	if (create_instances(&run) < 0 || open_control(&run) < 0 || open_metrics(&run) < 0) {
		control_close(run.control);
		destroy_instances(&run);
		if (created_log_dir)
			rmdir(run.cfg.log_dir);
		vmm_config_free(&run.cfg);
		return EXOVMM_EXIT_SETUP;
	}
	/* Block before any thread exists so every thread inherits the mask. */
	sigemptyset(&waited);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, INSTANCE_DONE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);
	run_instances(&run, &waited);
	metrics_close(&run.metrics);
	status = exit_status(&run);
	destroy_instances(&run);
	vmm_config_free(&run.cfg);
	return status;
}
