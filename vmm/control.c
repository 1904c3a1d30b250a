/*
 * control.c: exovmm's control socket (see control.h for the protocol).
 * Owns the socket file (created before any instance runs, removed at the
 * end), the thread that serves one connection at a time, and the
 * commands: reading an instance's figures from the CPU quota layer
 * (cpusched_stats) and the memory quota layer (memory_stats), and
 * changing its weight, cap and memory target live.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "cpusched.h"
#include "instance.h"
#include "memory.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Only the user running exovmm (and root) may connect. */
#define CONTROL_SOCKET_MODE 0600
#define CONTROL_BACKLOG 8
/* A client has this long to send its request and take the reply. */
#define CONTROL_CLIENT_TIMEOUT_S 5

struct control {
	char *path;
	int listen_fd;
	int stop_pipe[2]; /* a byte written to [1] ends the thread */
	pthread_t thread;
	bool started;
	struct instance *instances;
	size_t n;
	struct cpusched *cpusched;
};

/* --- The socket -------------------------------------------------------- */

static int open_error(struct vmm_error *err, const char *path,
		      const char *reason)
{
	return vmm_errorf(err, "%s: cannot create the control socket: %s", path,
			  reason);
}

/*
 * Make way for the socket: nothing may be at path but a socket nobody
 * listens on, left by an exovmm that was killed; that one goes.
 */
static int clear_path(const char *path, const struct sockaddr_un *addr,
		      struct vmm_error *err)
{
	struct stat st;
	int fd, rc, error;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0
				       : open_error(err, path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return open_error(err, path, "it exists and is not a socket");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return open_error(err, path, strerror(errno));
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	error = errno;
	close(fd);
	if (rc == 0)
		return open_error(err, path,
				  "a program is listening on it (another "
				  "exovmm?)");
	if (error != ECONNREFUSED)
		return open_error(err, path, strerror(error));
	if (unlink(path) < 0)
		return open_error(err, path, strerror(errno));
	return 0;
}

/* Bind and listen at path; the file is gone again if this fails. */
static int listen_at(const char *path, struct vmm_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char reason[VMM_ERROR_MAX];
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(reason, sizeof(reason),
			 "the path is longer than %zu bytes",
			 sizeof(addr.sun_path) - 1);
		return open_error(err, path, reason);
	}
	strcpy(addr.sun_path, path);
	if (clear_path(path, &addr, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return open_error(err, path, strerror(errno));
	if (bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		open_error(err, path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Before listen(): until then nobody can connect anyway. */
	if (chmod(path, CONTROL_SOCKET_MODE) < 0 ||
	    listen(fd, CONTROL_BACKLOG) < 0) {
		open_error(err, path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

int control_open(struct control **out, const char *path, struct vmm_error *err)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c || !(c->path = strdup(path))) {
		free(c);
		return open_error(err, path, "out of memory");
	}
	if (pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
		open_error(err, path, strerror(errno));
		free(c->path);
		free(c);
		return -1;
	}
	c->listen_fd = listen_at(path, err);
	if (c->listen_fd < 0) {
		control_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* --- Replies ----------------------------------------------------------- */

/* Reply a refusal: one line, CONTROL_ERROR and the reason. */
__attribute__((format(printf, 2, 3))) static int refuse(FILE *out,
							const char *fmt, ...)
{
	va_list ap;

	fputs(CONTROL_ERROR, out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	return -1;
}

/* The index of the instance called name, or -1 after refusing. */
static long find_instance(struct control *c, FILE *out, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->instances[i].cfg->name, name) == 0)
			return (long)i;
	fprintf(out, "%sno instance \"%s\" (instances: ", CONTROL_ERROR, name);
	for (size_t i = 0; i < c->n; i++)
		fprintf(out, "%s%s", i ? ", " : "", c->instances[i].cfg->name);
	fputs(")\n", out);
	return -1;
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes / VMM_MIB);
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* One " KEY=VALUE" word of an instance's line. */
__attribute__((format(printf, 3, 4))) static void
pair(FILE *out, const char *key, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, " %s=", key);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}

/*
 * Instance i's line: its name and the keys `list` shows; with details,
 * every other key too.  Keys are only ever added at the end.
 */
static void describe(struct control *c, FILE *out, size_t i, bool details)
{
	struct cpusched_stats cpu;
	struct memory_stats mem;

	cpusched_stats(c->cpusched, i, &cpu);
	memory_stats(&c->instances[i], &mem);
	fputs(c->instances[i].cfg->name, out);
	pair(out, CONTROL_KEY_STATE, "%s", cpu.state);
	pair(out, "weight", "%u", cpu.weight);
	pair(out, "cap", "%u", cpu.cap);
	pair(out, CONTROL_KEY_MEMORY, "%llu", mib(mem.granted));
	pair(out, CONTROL_KEY_MEMORY_TARGET, "%llu", mib(mem.target));
	if (details) {
		pair(out, "cpu_s", "%.3f", cpu.cpu_s);
		pair(out, CONTROL_KEY_SHARE, "%.3f", cpu.share);
		pair(out, CONTROL_KEY_TARGET, "%.3f", cpu.target);
		pair(out, "credit_ms", "%.3f", cpu.credit_ms);
		pair(out, "parked_s", "%.3f", cpu.parked_s);
		pair(out, CONTROL_KEY_MEMORY_USED, "%.1f",
		     (double)mem.used / VMM_MIB);
		pair(out, "memory_min_mib", "%llu", mib(mem.min));
		pair(out, "memory_max_mib", "%llu", mib(mem.max));
		pair(out, CONTROL_KEY_REVOCATIONS, "%llu",
		     ull(mem.revocations));
		pair(out, CONTROL_KEY_RELEASED, "%llu",
		     ull(mem.chunks_released));
		pair(out, CONTROL_KEY_TAKEN, "%llu", ull(mem.chunks_taken));
		pair(out, CONTROL_KEY_EXITS, "%llu", ull(cpu.exits));
		pair(out, "waited_s", "%.3f", cpu.waited_s);
	}
	fputc('\n', out);
}

/* --- Commands ---------------------------------------------------------- */

static int run_list(struct control *c, FILE *out, char **args, size_t n)
{
	(void)args;
	(void)n;
	for (size_t i = 0; i < c->n; i++)
		describe(c, out, i, false);
	return 0;
}

static int run_stats(struct control *c, FILE *out, char **args, size_t n)
{
	long only = n ? find_instance(c, out, args[0]) : -1;

	if (n && only < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (only < 0 || (size_t)only == i)
			describe(c, out, i, true);
	return 0;
}

enum setting { SETTING_WEIGHT, SETTING_CAP, SETTING_MEMORY, SETTING_COUNT };

static const char *const setting_names[] = {
    [SETTING_WEIGHT] = "weight",
    [SETTING_CAP] = "cap",
    [SETTING_MEMORY] = "memory",
};
_Static_assert(ARRAY_SIZE(setting_names) == SETTING_COUNT, "settings");

/* The words of the longest request: set NAME and each setting once. */
#define CONTROL_WORDS_MAX (2 + SETTING_COUNT)

/* What a set asks for. */
struct change {
	bool given[SETTING_COUNT];
	unsigned weight, cap;
	uint64_t memory;
};

static int parse_setting(enum setting s, const char *value, struct change *ch,
			 struct vmm_error *err)
{
	if (s == SETTING_WEIGHT)
		return vmm_parse_weight(value, &ch->weight, err);
	if (s == SETTING_CAP)
		return vmm_parse_cap(value, &ch->cap, err);
	return vmm_parse_memory(value, &ch->memory, err);
}

/* One KEY=VALUE word into ch, or -1 after refusing. */
static int parse_pair(FILE *out, char *word, struct change *ch)
{
	char *value = strchr(word, '=');
	struct vmm_error err;
	size_t s;

	if (!value)
		return refuse(out, "expected KEY=VALUE, got \"%s\"", word);
	*value++ = '\0';
	for (s = 0; s < SETTING_COUNT && strcmp(word, setting_names[s]); s++)
		;
	if (s == SETTING_COUNT)
		return refuse(out,
			      "unknown setting \"%s\" (settings: weight, cap, "
			      "memory)",
			      word);
	if (ch->given[s])
		return refuse(out, "%s: given twice", word);
	if (parse_setting((enum setting)s, value, ch, &err) < 0)
		return refuse(out, "%s: %s", word, err.msg);
	ch->given[s] = true;
	return 0;
}

/*
 * Every pair is checked before anything changes.  Memory goes first: its
 * bounds (memory_min, memory_max) are checked as it is set, so a refused
 * target leaves the weight and cap as they were.
 */
static int run_set(struct control *c, FILE *out, char **args, size_t n)
{
	long i = find_instance(c, out, args[0]);
	struct change ch = {0};
	struct cpusched_stats now;
	struct vmm_error err;

	if (i < 0)
		return -1;
	for (size_t k = 1; k < n; k++)
		if (parse_pair(out, args[k], &ch) < 0)
			return -1;
	cpusched_stats(c->cpusched, (size_t)i, &now);
	if (strcmp(now.state, CPUSCHED_ENDED) == 0)
		return refuse(out, "instance \"%s\" has ended", args[0]);
	if (ch.given[SETTING_MEMORY] &&
	    memory_set_target(&c->instances[i], ch.memory, &err) < 0)
		return refuse(out, "%s", err.msg);
	if ((ch.given[SETTING_WEIGHT] || ch.given[SETTING_CAP]) &&
	    cpusched_set(c->cpusched, (size_t)i,
			 ch.given[SETTING_WEIGHT] ? ch.weight : now.weight,
			 ch.given[SETTING_CAP] ? ch.cap : now.cap, &err) < 0)
		return refuse(out, "%s", err.msg);
	fputs(CONTROL_OK "\n", out);
	return 0;
}

struct command {
	const char *name;
	size_t min_args, max_args;
	const char *usage;
	int (*run)(struct control *c, FILE *out, char **args, size_t n);
};

static const struct command commands[] = {
    {"list", 0, 0, "list", run_list},
    {"stats", 0, 1, "stats [NAME]", run_stats},
    {"set", 2, CONTROL_WORDS_MAX - 1, "set NAME KEY=VALUE...", run_set},
};
#define COMMAND_NAMES "list, stats, set"

/* Split the request into words and run it, the reply going to out. */
static void run_request(struct control *c, FILE *out, char *line)
{
	char *words[CONTROL_WORDS_MAX], *save = NULL, *w;
	size_t n = 0;

	for (w = strtok_r(line, CONTROL_WORD_SEPARATORS, &save); w;
	     w = strtok_r(NULL, CONTROL_WORD_SEPARATORS, &save)) {
		if (n == CONTROL_WORDS_MAX) {
			refuse(out, "too many words (at most %d)",
			       CONTROL_WORDS_MAX);
			return;
		}
		words[n++] = w;
	}
	if (n == 0) {
		refuse(out, "empty request (commands: " COMMAND_NAMES ")");
		return;
	}
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++) {
		const struct command *cmd = &commands[k];

		if (strcmp(words[0], cmd->name) != 0)
			continue;
		if (n - 1 < cmd->min_args || n - 1 > cmd->max_args)
			refuse(out, "usage: %s", cmd->usage);
		else
			cmd->run(c, out, words + 1, n - 1);
		return;
	}
	refuse(out, "unknown command \"%s\" (commands: " COMMAND_NAMES ")",
	       words[0]);
}

/* --- Connections ------------------------------------------------------- */

/*
 * Read the request line into buf (NUL-terminated, newline dropped); it
 * ends at a newline or at the client's end of the connection.  On error,
 * refuses it into out and returns -1.
 */
static int read_request(int fd, char *buf, size_t size, FILE *out)
{
	size_t len = 0;
	char *newline;
	ssize_t got;

	for (;;) {
		got = recv(fd, buf + len, size - 1 - len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return refuse(out, "no request within %d s",
				      CONTROL_CLIENT_TIMEOUT_S);
		if (got < 0)
			return refuse(out, "cannot read the request: %s",
				      strerror(errno));
		len += (size_t)got;
		buf[len] = '\0';
		newline = memchr(buf, '\n', len);
		if (newline) {
			*newline = '\0';
			len = (size_t)(newline - buf);
			break;
		}
		if (got == 0)
			break;
		if (len == size - 1)
			return refuse(out, "request longer than %zu bytes",
				      size - 1);
	}
	if (strlen(buf) != len)
		return refuse(out, "request contains a NUL byte");
	return 0;
}

/* One connection: its request, and the whole reply. */
static void serve(struct control *c, int fd)
{
	const struct timeval timeout = {.tv_sec = CONTROL_CLIENT_TIMEOUT_S};
	char request[CONTROL_REQUEST_MAX + 1];
	char *reply = NULL;
	size_t reply_len = 0;
	FILE *out = open_memstream(&reply, &reply_len);

	if (!out)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (read_request(fd, request, sizeof(request), out) == 0)
		run_request(c, out, request);
	fclose(out);
	/*
	 * A blocking send() on a stream socket queues all of the reply, or
	 * gives up at the timeout on a client that does not read.  No
	 * SIGPIPE: a client gone away must not end exovmm.
	 */
	send(fd, reply, reply_len, MSG_NOSIGNAL);
	free(reply);
}

static void *control_thread(void *arg)
{
	struct control *c = arg;
	struct pollfd fds[] = {
	    {.fd = c->listen_fd, .events = POLLIN},
	    {.fd = c->stop_pipe[0], .events = POLLIN},
	};

	for (;;) {
		int fd;

		if (poll(fds, ARRAY_SIZE(fds), -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (!(fds[0].revents & POLLIN))
			continue;
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* the client gave up already */
		serve(c, fd);
		close(fd);
	}
	return NULL;
}

int control_start(struct control *c, struct instance *instances, size_t n,
		  struct cpusched *cs, struct vmm_error *err)
{
	int rc;

	c->instances = instances;
	c->n = n;
	c->cpusched = cs;
	rc = pthread_create(&c->thread, NULL, control_thread, c);
	if (rc != 0)
		return vmm_errorf(err,
				  "%s: cannot serve the control socket: %s",
				  c->path, strerror(rc));
	c->started = true;
	return 0;
}

/* Also undoes a control_open that failed after making its pipe. */
void control_close(struct control *c)
{
	const char stop = 0;

	if (!c)
		return;
	if (c->started) {
		while (write(c->stop_pipe[1], &stop, sizeof(stop)) < 0 &&
		       errno == EINTR)
			;
		pthread_join(c->thread, NULL);
	}
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	free(c->path);
	free(c);
}
