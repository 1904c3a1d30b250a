/* console.c: instance console lines to the terminal and the log file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"

/* A control byte shows on the terminal as \xNN: four bytes for one. */
#define ESCAPED_BYTE_MAX 4
#define ASCII_DEL 0x7f
/* Room for "[name] " + a fully escaped line + "\n". */
#define CONSOLE_OUT_MAX (CONSOLE_LINE_MAX * ESCAPED_BYTE_MAX + 64)

static pthread_mutex_t terminal_lock = PTHREAD_MUTEX_INITIALIZER;

/* write() all of buf; the console has nowhere to report its own errors. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Copy text to out, escaping control bytes so a guest cannot move the
 * operator's cursor, clear the screen or retitle the terminal.
 */
static size_t escape_controls(char *out, const char *text, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < ' ' && c != '\t') || c == ASCII_DEL)
			n += (size_t)sprintf(out + n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	return n;
}

static void emit(struct console *con, int terminal_fd, const char *text, size_t len)
{
	char out[CONSOLE_OUT_MAX];
	size_t n = (size_t)snprintf(out, sizeof(out), "[%s] ", con->name);

	n += escape_controls(out + n, text, len);
	out[n++] = '\n';
	pthread_mutex_lock(&terminal_lock);
	write_all(terminal_fd, out, n);
	pthread_mutex_unlock(&terminal_lock);
	if (con->log_fd >= 0) {
		write_all(con->log_fd, text, len);
		write_all(con->log_fd, "\n", 1);
	}
}

/* Open path for writing without truncating it; say whether we created it. */
static int open_log(const char *path, bool *created)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd;
}

int console_open(struct console *con, const char *name, const char *log_path,
		 struct vmm_error *err)
{
	con->name = name;
	con->len = 0;
	con->log_fd = -1;
	con->log_path = NULL;
	if (!log_path)
		return 0;
	con->log_path = strdup(log_path);
	if (!con->log_path)
		return vmm_errorf(err, "%s: out of memory", log_path);
	con->log_fd = open_log(log_path, &con->log_created);
	if (con->log_fd < 0) {
		vmm_errorf(err, "%s: cannot create log file: %s", log_path, strerror(errno));
		free(con->log_path);
		con->log_path = NULL;
		return -1;
	}
	return 0;
}

int console_start(struct console *con, struct vmm_error *err)
{
	if (con->log_fd >= 0 && ftruncate(con->log_fd, 0) < 0)
		return vmm_errorf(err, "%s: cannot truncate log file: %s", con->log_path,
				  strerror(errno));
	return 0;
}

void console_flush(struct console *con)
{
	if (con->len == 0)
		return;
	emit(con, STDOUT_FILENO, con->line, con->len);
	con->len = 0;
}

void console_write(struct console *con, const void *buf, size_t len)
{
	const char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			emit(con, STDOUT_FILENO, con->line, con->len);
			con->len = 0;
			continue;
		}
		if (p[i] == '\r')
			continue;
		if (con->len == CONSOLE_LINE_MAX)
			console_flush(con);
		con->line[con->len++] = p[i];
	}
}

void console_log(struct console *con, const char *fmt, ...)
{
	char msg[CONSOLE_LINE_MAX];
	char text[CONSOLE_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(text, sizeof(text), "exovmm: %s", msg);
	if (n >= (int)sizeof(text))
		n = sizeof(text) - 1;
	emit(con, STDERR_FILENO, text, (size_t)n);
}

void console_close(struct console *con)
{
	console_flush(con);
	if (con->log_fd >= 0)
		close(con->log_fd);
	con->log_fd = -1;
	free(con->log_path);
	con->log_path = NULL;
}

void console_discard(struct console *con)
{
	if (con->log_path && con->log_created)
		unlink(con->log_path);
	con->len = 0;
	console_close(con);
}
