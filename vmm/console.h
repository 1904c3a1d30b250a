/*
 * console.h: where an instance's console output and exovmm's log lines
 * about it go.  Each complete line is written to the terminal with the
 * instance's name in front ("[web] ...") and, when a log directory is set,
 * as is to LOG_DIR/NAME.log.  Lines from concurrent instances never mix:
 * each is one write under a shared lock.  On the terminal, control bytes
 * a guest writes are shown escaped (\x1b), never interpreted.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define CONSOLE_LINE_MAX 1024 /* longer lines are split */

struct console {
	const char *name;
	int log_fd;       /* -1: no log file */
	char *log_path;   /* NULL: no log file */
	bool log_created; /* console_open() made the file (it did not exist) */
	size_t len;
	char line[CONSOLE_LINE_MAX];
};

/*
 * Open the console of instance name; log_path may be NULL.  An existing
 * log file is kept as it is until console_start().
 */
int console_open(struct console *con, const char *name, const char *log_path,
		 struct vmm_error *err);
/* The instance starts: empty the log file. */
int console_start(struct console *con, struct vmm_error *err);
/* Guest output: bytes as the guest wrote them. */
void console_write(struct console *con, const void *buf, size_t len);
/* Write out a last line that has no newline. */
void console_flush(struct console *con);
/* exovmm's own message about this instance, to stderr and the log. */
void console_log(struct console *con, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void console_close(struct console *con);
/* Close the log file, and remove it if console_open() created it: the instance never ran. */
void console_discard(struct console *con);

#endif /* VMM_CONSOLE_H */
