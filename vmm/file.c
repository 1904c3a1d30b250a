/* file.c: whole-file reads for the images exovmm loads. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static int read_fully(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO; /* the file shrank while we read it */
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int vmm_read_file(const char *path, uint64_t max_len, void **data, size_t *len,
		  struct vmm_error *err)
{
	struct stat st;
	char *buf = NULL;
	/* Non-blocking, so a FIFO or device cannot stall us before fstat() rejects it. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return vmm_errorf(err, "%s: cannot read: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		vmm_errorf(err, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vmm_errorf(err, "%s: cannot read: not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max_len) {
		vmm_errorf(err, "%s: %lld bytes is larger than any guest memory", path,
			   (long long)st.st_size);
		goto fail;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		vmm_errorf(err, "%s: cannot read: out of memory", path);
		goto fail;
	}
	if (read_fully(fd, buf, (size_t)st.st_size) < 0) {
		vmm_errorf(err, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	*data = buf;
	*len = (size_t)st.st_size;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}
