/* console.c: instance console lines to the terminal and the log file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"

/* Room for "[name] " + a line + "\n". */
#define CONSOLE_OUT_MAX (CONSOLE_LINE_MAX + 64)

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

static void emit(struct console *con, int terminal_fd, const char *text, size_t len)
{
	char out[CONSOLE_OUT_MAX];
	int prefix = snprintf(out, sizeof(out), "[%s] ", con->name);

	memcpy(out + prefix, text, len);
	out[prefix + len] = '\n';
	pthread_mutex_lock(&terminal_lock);
	write_all(terminal_fd, out, (size_t)prefix + len + 1);
	pthread_mutex_unlock(&terminal_lock);
	if (con->log_fd >= 0) {
		write_all(con->log_fd, text, len);
		write_all(con->log_fd, "\n", 1);
	}
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
	con->log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (con->log_fd < 0) {
		vmm_errorf(err, "%s: cannot create log file: %s", log_path, strerror(errno));
		free(con->log_path);
		con->log_path = NULL;
		return -1;
	}
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
	if (con->log_path)
		unlink(con->log_path);
	con->len = 0;
	console_close(con);
}
