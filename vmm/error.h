/*
 * error.h: how exovmm carries an error message from where it is found to
 * where it is reported.  A function that can fail takes a struct vmm_error,
 * fills it with one line naming the file, line, field or instance at fault,
 * and returns -1; the caller prints it once.
 */
#ifndef VMM_ERROR_H
#define VMM_ERROR_H

#define VMM_ERROR_MAX 512

struct vmm_error {
	char msg[VMM_ERROR_MAX];
};

/* Format the message into err (if not NULL) and return -1. */
int vmm_errorf(struct vmm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* VMM_ERROR_H */
