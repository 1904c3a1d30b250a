/*
 * control.h: exovmm's control socket, and the protocol exoctl(1) speaks
 * on it.
 *
 * The socket is a UNIX stream socket at [exovmm] control (or exovmm
 * --control).  A client connects, sends one request line and reads the
 * reply until exovmm closes the connection: one request per connection.
 * A request is words separated by spaces or tabs, ending with a newline
 * (or with the client's end of the connection):
 *   list                  one line per instance (summary keys)
 *   stats [NAME]          one line per instance, or NAME's (every key)
 *   set NAME KEY=VALUE... change weight, cap, memory (all checked first)
 * An instance's line is its name, then KEY=VALUE words.  A successful set
 * replies CONTROL_OK; a refused request replies a single line starting
 * with CONTROL_ERROR.  The keys are listed in exoctl(1).
 */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include <stddef.h>

#include "error.h"

/* Longest request, newline included. */
#define CONTROL_REQUEST_MAX 1024
#define CONTROL_OK "ok"
#define CONTROL_ERROR "error: "
#define CONTROL_WORD_SEPARATORS " \t"

/* The keys of an instance's line that exoctl top reads. */
#define CONTROL_KEY_STATE "state"
#define CONTROL_KEY_SHARE "share"
#define CONTROL_KEY_TARGET "target"
#define CONTROL_KEY_MEMORY "memory_mib"
#define CONTROL_KEY_MEMORY_USED "memory_used_mib"
#define CONTROL_KEY_MEMORY_TARGET "memory_target_mib"
#define CONTROL_KEY_REVOCATIONS "revocations"
#define CONTROL_KEY_RELEASED "chunks_released"
#define CONTROL_KEY_TAKEN "chunks_taken"
#define CONTROL_KEY_EXITS "exits"

struct control;
struct cpusched;
struct instance;

/*
 * Create the socket at path and listen on it, before any instance runs.
 * A socket file left by an exovmm that is gone (nothing listens) is
 * replaced; anything else at path is an error.  Errors name the path
 * ("PATH: cannot create the control socket: ..."), and leave nothing
 * behind.
 */
int control_open(struct control **out, const char *path, struct vmm_error *err);
/*
 * Serve requests about the n instances, scheduled by cs, on a thread of
 * its own.  -1 with err if the thread cannot be started.
 */
int control_start(struct control *c, struct instance *instances, size_t n,
		  struct cpusched *cs, struct vmm_error *err);
/*
 * Stop serving (after the request being served, if any), close the
 * socket and remove its file.  Call it before cpusched_stop: requests use
 * the scheduler.  NULL is accepted.
 */
void control_close(struct control *c);

#endif /* VMM_CONTROL_H */
