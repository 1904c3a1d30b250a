/*
 * exoctl.c: the exoctl command, client of exovmm's control socket
 * (control.h has the protocol, exoctl(1) the usage).  Owns the command
 * line, one connection per request, printing replies (refusals to
 * standard error, exit status 1), and `top`: a table of `stats` redrawn
 * every few seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define EXOCTL_EXIT_FAILURE 1 /* refused, or exovmm cannot be reached */
#define EXOCTL_EXIT_USAGE 2

/* exovmm answers at once; this is for an exovmm that hangs. */
#define REPLY_TIMEOUT_S 10
#define REPLY_CHUNK 4096

#define TOP_DELAY_DEFAULT_S 1.0
#define TOP_DELAY_MIN_S 0.1
#define TOP_DELAY_MAX_S 3600.0
#define TOP_ITERATIONS_MAX 1000000ul
#define NS_PER_SEC 1000000000.0
#define ANSI_CLEAR "\033[H\033[2J" /* cursor home, erase the screen */
#define VALUE_MAX 32		   /* longest value top shows */
#define NAME_TITLE "NAME"

static const char usage_text[] =
    "Usage: exoctl -s SOCKET COMMAND [ARG]...\n"
    "Ask a running exovmm, through its control socket, about its instances,\n"
    "or change them.\n"
    "\n"
    "Commands:\n"
    "  list                        one line per instance: state, weight, cap,\n"
    "                              memory granted and target\n"
    "  stats [NAME]                every figure of each instance (or of NAME)\n"
    "  set NAME KEY=VALUE...       change weight=N, cap=P% or memory=SIZE now\n"
    "  top [-d SECONDS] [-n COUNT] a table of the instances, redrawn every\n"
    "                              SECONDS (1), COUNT times (or until ^C)\n"
    "\n"
    "  -s, --socket=PATH  exovmm's control socket ([exovmm] control)\n"
    "  -h, --help         print this help and exit\n"
    "  -V, --version      print the version and exit\n"
    "\n"
    "Exit status: 0 on success, 1 if exovmm refused the request or cannot be\n"
    "reached, 2 on bad usage.  See exoctl(1).\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt,
							     ...)
{
	va_list ap;

	fputs("exoctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'exoctl --help' for more information.\n", stderr);
	return EXOCTL_EXIT_USAGE;
}

/* --- Requests ---------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const struct timeval timeout = {.tv_sec = REPLY_TIMEOUT_S};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr,
			"exoctl: %s: cannot connect: the path is longer than "
			"%zu bytes\n",
			path, sizeof(addr.sun_path) - 1);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout,
			   sizeof(timeout));
		return fd;
	}
	fprintf(stderr,
		"exoctl: %s: cannot connect: %s (is exovmm running with "
		"control = %s?)\n",
		path, strerror(errno), path);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Read until exovmm closes the connection; NULL after saying why. */
static char *read_reply(int fd, const char *path)
{
	char *buf = NULL, *bigger;
	size_t len = 0;
	ssize_t got;

	for (;;) {
		bigger = realloc(buf, len + REPLY_CHUNK + 1);
		if (!bigger) {
			fprintf(stderr, "exoctl: out of memory\n");
			free(buf);
			return NULL;
		}
		buf = bigger;
		got = recv(fd, buf + len, REPLY_CHUNK, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (got < 0) {
		fprintf(stderr, "exoctl: %s: no reply: %s\n", path,
			strerror(errno));
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Send one request line and return exovmm's whole reply (NULL on error). */
static char *ask(const char *path, const char *line)
{
	int fd = connect_to(path);
	char *reply = NULL;
	size_t len = strlen(line);

	if (fd < 0)
		return NULL;
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		fprintf(stderr, "exoctl: %s: cannot send: %s\n", path,
			strerror(errno));
	else if (shutdown(fd, SHUT_WR) == 0)
		reply = read_reply(fd, path);
	close(fd);
	return reply;
}

/* Print a reply: data to stdout, a refusal to stderr.  The exit status. */
static int print_reply(const char *reply)
{
	size_t n = strlen(CONTROL_ERROR);

	if (strncmp(reply, CONTROL_ERROR, n) == 0) {
		fprintf(stderr, "exoctl: %s", reply + n);
		return EXOCTL_EXIT_FAILURE;
	}
	fputs(reply, stdout);
	return 0;
}

/* --- top --------------------------------------------------------------- */

struct column {
	const char *title;
	const char *key; /* in the stats line */
	int width;
};

static const struct column columns[] = {
    {"STATE", CONTROL_KEY_STATE, 7},
    {"CPU", CONTROL_KEY_SHARE, 6},
    {"TARGET", CONTROL_KEY_TARGET, 6},
    {"MEM_MIB", CONTROL_KEY_MEMORY, 8},
    {"USED_MIB", CONTROL_KEY_MEMORY_USED, 9},
    {"TGT_MIB", CONTROL_KEY_MEMORY_TARGET, 8},
    {"REVOKED", CONTROL_KEY_REVOCATIONS, 8},
    {"RELEASED", CONTROL_KEY_RELEASED, 9},
    {"TAKEN", CONTROL_KEY_TAKEN, 6},
    {"EXITS", CONTROL_KEY_EXITS, 11},
};

/* The value of " key=" in an instance's line, or "-". */
static void field(const char *line, const char *key, char *out, size_t size)
{
	size_t key_len = strlen(key);
	const char *end = line + strcspn(line, "\n");

	/* From the space after the name to each next space. */
	for (const char *p = line + strcspn(line, " \n"); p < end;
	     p += strcspn(p, " \n")) {
		p++; /* the word after the space */
		if (strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
			p += key_len + 1;
			snprintf(out, size, "%.*s", (int)strcspn(p, " \n"), p);
			return;
		}
	}
	snprintf(out, size, "-");
}

static const char *next_line(const char *line)
{
	line += strcspn(line, "\n");
	return *line ? line + 1 : line;
}

/* The widest instance name in the reply (each line starts with one). */
static int name_width(const char *reply)
{
	int width = (int)strlen(NAME_TITLE);

	for (const char *line = reply; *line; line = next_line(line)) {
		int len = (int)strcspn(line, " \n");

		if (len > width)
			width = len;
	}
	return width;
}

/* One line of the table: the titles (line NULL) or an instance. */
static void print_row(const char *line, int width)
{
	char value[VALUE_MAX];

	if (line)
		printf("%-*.*s", width, (int)strcspn(line, " \n"), line);
	else
		printf("%-*s", width, NAME_TITLE);
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
		if (line)
			field(line, columns[i].key, value, sizeof(value));
		printf(" %*s", columns[i].width,
		       line ? value : columns[i].title);
	}
	putchar('\n');
}

static void print_table(const char *path, const char *reply, bool clear)
{
	int width = name_width(reply);

	if (clear)
		fputs(ANSI_CLEAR, stdout);
	printf("exovmm at %s\n", path);
	print_row(NULL, width);
	for (const char *line = reply; *line; line = next_line(line))
		print_row(line, width);
	fflush(stdout);
}

static void sleep_seconds(double s)
{
	struct timespec ts = {
	    .tv_sec = (time_t)s,
	    .tv_nsec = (long)((s - (double)(time_t)s) * NS_PER_SEC),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct top_options {
	double delay_s;
	unsigned long iterations; /* 0: until interrupted */
};

static int parse_top(int argc, char **argv, struct top_options *o)
{
	char *end;
	int opt;

	*o = (struct top_options){.delay_s = TOP_DELAY_DEFAULT_S};
	optind = 0; /* argv[0] is "top" */
	opterr = 0; /* its messages would name "top", not exoctl */
	while ((opt = getopt(argc, argv, "+d:n:")) != -1) {
		switch (opt) {
		case 'd':
			o->delay_s = strtod(optarg, &end);
			if (end == optarg || *end ||
			    !(o->delay_s >= TOP_DELAY_MIN_S) ||
			    o->delay_s > TOP_DELAY_MAX_S)
				return usage_error(
				    "top -d: expected seconds from "
				    "0.1 to 3600, got \"%s\"",
				    optarg);
			break;
		case 'n':
			errno = 0;
			o->iterations = strtoul(optarg, &end, 10);
			if (end == optarg || *end || *optarg == '-' || errno ||
			    o->iterations < 1 ||
			    o->iterations > TOP_ITERATIONS_MAX)
				return usage_error(
				    "top -n: expected a count from 1 "
				    "to 1000000, got \"%s\"",
				    optarg);
			break;
		default:
			if (optopt == 'd' || optopt == 'n')
				return usage_error("top -%c: missing value",
						   optopt);
			return usage_error("top: unknown option -%c", optopt);
		}
	}
	if (optind < argc)
		return usage_error("top: unexpected argument \"%s\"",
				   argv[optind]);
	return 0;
}

static int run_top(const char *path, int argc, char **argv)
{
	struct top_options o;
	bool tty = isatty(STDOUT_FILENO);
	int rc = parse_top(argc, argv, &o);

	for (unsigned long i = 0;
	     rc == 0 && (!o.iterations || i < o.iterations); i++) {
		char *reply = ask(path, "stats\n");

		if (!reply)
			return EXOCTL_EXIT_FAILURE;
		if (strncmp(reply, CONTROL_ERROR, strlen(CONTROL_ERROR)) == 0)
			rc = print_reply(reply);
		else if (i > 0 && !tty)
			putchar('\n'); /* frames apart, for a reader */
		if (rc == 0)
			print_table(path, reply, tty);
		free(reply);
		if (rc == 0 && (!o.iterations || i + 1 < o.iterations))
			sleep_seconds(o.delay_s);
	}
	return rc;
}

/* --- The other commands ------------------------------------------------ */

struct command {
	const char *name;
	int min_args, max_args; /* max -1: any number; exovmm checks */
	const char *usage;
};

static const struct command commands[] = {
    {"list", 0, 0, "list"},
    {"stats", 0, 1, "stats [NAME]"},
    {"set", 2, -1, "set NAME KEY=VALUE..."},
};

/* The words of the command as one request line, checked first. */
static int request_line(int argc, char **argv, char **line)
{
	const struct command *cmd = NULL;
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command \"%s\"", argv[0]);
	if (argc - 1 < cmd->min_args ||
	    (cmd->max_args >= 0 && argc - 1 > cmd->max_args))
		return usage_error("usage: exoctl -s SOCKET %s", cmd->usage);
	for (int i = 0; i < argc; i++) {
		if (!*argv[i] ||
		    argv[i][strcspn(argv[i], CONTROL_WORD_SEPARATORS)])
			return usage_error("bad argument \"%s\": empty, or "
					   "holds a space",
					   argv[i]);
		len += strlen(argv[i]) + 1;
	}
	*line = malloc(len + 1);
	if (!*line) {
		fprintf(stderr, "exoctl: out of memory\n");
		return EXOCTL_EXIT_FAILURE;
	}
	(*line)[0] = '\0';
	for (int i = 0; i < argc; i++) {
		strcat(*line, argv[i]);
		strcat(*line, i + 1 < argc ? " " : "\n");
	}
	return 0;
}

static int run_command(const char *path, int argc, char **argv)
{
	char *line = NULL, *reply;
	int rc = request_line(argc, argv, &line);

	if (rc != 0)
		return rc;
	reply = ask(path, line);
	free(line);
	if (!reply)
		return EXOCTL_EXIT_FAILURE;
	rc = print_reply(reply);
	free(reply);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int opt;

	/* "+": the command's own options (top -d) are not exoctl's. */
	while ((opt = getopt_long(argc, argv, "+s:hV", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("exoctl (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return 0;
		default:
			fputs("Try 'exoctl --help' for more information.\n",
			      stderr);
			return EXOCTL_EXIT_USAGE;
		}
	}
	if (!path)
		return usage_error("no control socket given (-s SOCKET)");
	if (optind == argc)
		return usage_error("missing COMMAND");
	if (strcmp(argv[optind], "top") == 0)
		return run_top(path, argc - optind, argv + optind);
	return run_command(path, argc - optind, argv + optind);
}
