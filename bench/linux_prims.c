/*
 * linux_prims.c: the Linux side of the exokernel-primitive rows of
 * `make bench`: what each primitive the exokernel offers costs a process
 * on the Linux host it runs on.
 *
 *   linux_prims
 *
 * Prints one "NAME VALUE" line per figure, a single space between, in this
 * order, then exits 0 (on any error it prints a message to stderr and exits
 * 1, having printed only the lines measured so far):
 *
 *   cpus N               online CPUs; nothing is pinned, so the pipe
 *                        round trip may cross CPUs
 *   rdtsc_overhead N     median of an empty timed region, already
 *                        subtracted from every row below
 *   getppid N            syscall(SYS_getppid): the null system call
 *   sigsegv_mprotect N   write to a read-only page, SIGSEGV handler
 *                        mprotects it writable and returns, the write
 *                        completes (Appel and Li's "trap", unprotecting
 *                        in the handler); the page is made read-only
 *                        again by an mprotect outside the timed region
 *   sigtrap N            int3, SIGTRAP handler returns
 *   pipe_roundtrip N     parent writes 8 bytes down one pipe, a child
 *                        process reads them and writes them back up
 *                        another, parent reads them
 *   pipe_same_cpu_percent N  not cycles: the share of those round trips
 *                        in which the child echoed on the CPU the parent
 *                        read the echo on; the round trip costs several
 *                        times more when the two run on different CPUs
 *   mmap_touch_munmap N  mmap 4 KiB anonymous, write one byte, munmap
 *   soft_dirty_tracked, appel_dirty, appel_prot1, appel_prot100,
 *   appel_unprot100, appel_trap, appel_appel1, appel_appel2, fork_4m
 *                        the Appel-Li virtual-memory set and fork of a
 *                        process holding 4 MiB: see linux_vm.c, which
 *                        defines each and its unit
 *
 * Every value is the median over many iterations, after a warm-up, of the
 * cycles one iteration takes, read with rdtsc fenced by lfence on both
 * sides; "cycles" are TSC ticks (constant rate), not core clock cycles.
 * bench/exo.sh reads these lines by name.
 */
#include "linux_bench.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pipe round trip is two context switches, or two wake-ups across CPUs
 * taking tens of µs: fewer samples keep the run short and are plenty. */
#define PIPE_ITERATIONS 2000
/* The message of the pipe round trip, one machine word: the parent's
 * sequence number, and the CPU the child ran on when it echoed it, so that
 * the output can say how often both ends shared a CPU. */
struct message {
	uint32_t seq;
	int32_t cpu;
};
#define MESSAGE_BYTES 8
_Static_assert(sizeof(struct message) == MESSAGE_BYTES, "one word");
#define PERCENT 100

/* The page the SIGSEGV row faults on, and the handler's count of faults
 * taken, checked against the iterations so no fault goes unnoticed. */
static char *volatile fault_page;
static volatile sig_atomic_t faults;
static volatile sig_atomic_t traps;

static void bench_getppid(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(ITERATIONS), t0, t1;
	pid_t parent = getppid();

	for (size_t i = 0; i < WARMUP + ITERATIONS; i++) {
		t0 = cycles();
		long r = syscall(SYS_getppid);
		t1 = cycles();
		if (r != parent)
			fail("getppid returned an unexpected value");
		if (i >= WARMUP)
			samples[i - WARMUP] = t1 - t0;
	}
	report("getppid", samples, ITERATIONS, overhead);
	free(samples);
}

static void on_sigsegv(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	if ((char *)info->si_addr != fault_page) {
		write_stderr("linux_prims: SIGSEGV outside the test page\n");
		_exit(1);
	}
	if (mprotect(fault_page, page_size, PROT_READ | PROT_WRITE) < 0) {
		write_stderr("linux_prims: mprotect in handler failed\n");
		_exit(1);
	}
	faults++;
}

static void on_sigtrap(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)info;
	(void)context;
	traps++;
}

static void bench_sigsegv(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(ITERATIONS), t0, t1;
	char *page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		die("mmap");
	/* Populated first, so that every fault is a protection fault and
	 * none also allocates the page. */
	page[0] = 0;
	fault_page = page;
	faults = 0;
	handle(SIGSEGV, on_sigsegv);
	for (size_t i = 0; i < WARMUP + ITERATIONS; i++) {
		if (mprotect(page, page_size, PROT_READ) < 0)
			die("mprotect");
		t0 = cycles();
		*(volatile char *)page = (char)i;
		t1 = cycles();
		if (i >= WARMUP)
			samples[i - WARMUP] = t1 - t0;
	}
	unhandle(SIGSEGV);
	if (faults != WARMUP + ITERATIONS)
		fail("SIGSEGV handler ran a different number of times");
	if (munmap(page, page_size) < 0)
		die("munmap");
	report("sigsegv_mprotect", samples, ITERATIONS, overhead);
	free(samples);
}

static void bench_sigtrap(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(ITERATIONS), t0, t1;

	traps = 0;
	handle(SIGTRAP, on_sigtrap);
	for (size_t i = 0; i < WARMUP + ITERATIONS; i++) {
		t0 = cycles();
		/* int3 traps: the handler returns to the next instruction. */
		__asm__ volatile("int3" ::: "memory");
		t1 = cycles();
		if (i >= WARMUP)
			samples[i - WARMUP] = t1 - t0;
	}
	unhandle(SIGTRAP);
	if (traps != WARMUP + ITERATIONS)
		fail("SIGTRAP handler ran a different number of times");
	report("sigtrap", samples, ITERATIONS, overhead);
	free(samples);
}

/* Whole-message reads and writes; 0 from read_full means end of file. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)done;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* The child: echo each message back, with its CPU, until the parent closes
 * its end. */
static void echo(int in, int out)
{
	struct message msg;
	ssize_t r;

	while ((r = read_full(in, &msg, sizeof(msg))) == (ssize_t)sizeof(msg)) {
		msg.cpu = sched_getcpu();
		if (msg.cpu < 0 || write_full(out, &msg, sizeof(msg)) < 0)
			_exit(1);
	}
	_exit(r == 0 ? 0 : 1);
}

static void bench_pipe(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(PIPE_ITERATIONS), t0, t1;
	int down[2], up[2], status, cpu;
	size_t same_cpu = 0;
	pid_t child;

	/* A child that died would otherwise kill us silently with SIGPIPE. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");
	if (pipe(down) < 0 || pipe(up) < 0)
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(down[1]);
		close(up[0]);
		echo(down[0], up[1]);
	}
	if (close(down[0]) < 0 || close(up[1]) < 0)
		die("close");
	for (size_t i = 0; i < WARMUP + PIPE_ITERATIONS; i++) {
		struct message out = {.seq = (uint32_t)i, .cpu = -1}, in;

		t0 = cycles();
		if (write_full(down[1], &out, sizeof(out)) < 0)
			die("write to child");
		ssize_t r = read_full(up[0], &in, sizeof(in));
		t1 = cycles();
		if (r < 0)
			die("read from child");
		if (r != sizeof(in) || in.seq != out.seq)
			fail("child echoed a wrong message or none");
		cpu = sched_getcpu();
		if (cpu < 0)
			die("sched_getcpu");
		if (i >= WARMUP) {
			samples[i - WARMUP] = t1 - t0;
			same_cpu += in.cpu == cpu;
		}
	}
	if (close(down[1]) < 0)
		die("close");
	if (waitpid(child, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("echo child failed");
	if (close(up[0]) < 0)
		die("close");
	report("pipe_roundtrip", samples, PIPE_ITERATIONS, overhead);
	printf("pipe_same_cpu_percent %zu\n",
	       same_cpu * PERCENT / PIPE_ITERATIONS);
	free(samples);
}

static void bench_mmap(uint64_t overhead)
{
	uint64_t *samples = alloc_samples(ITERATIONS), t0, t1;

	for (size_t i = 0; i < WARMUP + ITERATIONS; i++) {
		t0 = cycles();
		char *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		*(volatile char *)p = 1;
		int r = munmap(p, page_size);
		t1 = cycles();
		if (r < 0)
			die("munmap");
		if (i >= WARMUP)
			samples[i - WARMUP] = t1 - t0;
	}
	report("mmap_touch_munmap", samples, ITERATIONS, overhead);
	free(samples);
}

int main(int argc, char **argv)
{
	uint64_t overhead;
	long cpus;

	(void)argv;
	if (argc != 1)
		fail("usage: linux_prims (no arguments)");
	page_size = sysconf(_SC_PAGESIZE);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (page_size <= 0 || cpus <= 0)
		die("sysconf");
	overhead = rdtsc_overhead();
	printf("cpus %ld\nrdtsc_overhead %llu\n", cpus,
	       (unsigned long long)overhead);
	bench_getppid(overhead);
	bench_sigsegv(overhead);
	bench_sigtrap(overhead);
	bench_pipe(overhead);
	bench_mmap(overhead);
	bench_vm(overhead);
	if (fclose(stdout) == EOF)
		die("stdout");
	return 0;
}
