/*
 * boottime.c: time a command from its start to the first line of its
 * standard output that contains a pattern, and to its exit.
 *
 *   boottime PATTERN COMMAND [ARG]...
 *
 * Prints "FIRST_US EXIT_US STATUS": microseconds from just before exec to
 * the arrival of the matching line (or -1 if none came), microseconds to
 * exit, and the command's exit status.  Used by bench/boot.sh to compare
 * exovmm with QEMU booting the same image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static pid_t spawn(char **argv, int *out_fd)
{
	int pipe_fds[2];
	pid_t pid;

	if (pipe(pipe_fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(pipe_fds[1]);
	*out_fd = pipe_fds[0];
	return pid;
}

int main(int argc, char **argv)
{
	char line[LINE_MAX_BYTES];
	long long start, first = -1;
	int fd, status;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: boottime PATTERN COMMAND [ARG]...\n");
		return 2;
	}
	start = now_us();
	pid = spawn(argv + 2, &fd);
	if (pid < 0) {
		perror("boottime: spawn");
		return 2;
	}
	out = fdopen(fd, "r");
	while (out && fgets(line, sizeof(line), out))
		if (first < 0 && strstr(line, argv[1]))
			first = now_us() - start;
	if (waitpid(pid, &status, 0) < 0) {
		perror("boottime: waitpid");
		return 2;
	}
	printf("%lld %lld %d\n", first, now_us() - start,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
