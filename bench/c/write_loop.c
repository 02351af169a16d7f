/* write_loop: N (default 2,000,000) 1-byte write() calls to /dev/null in a
 * tight loop. With EVERY > 0, every EVERY-th write goes to fd 100 (also
 * /dev/null) instead of the main fd, so a selector on the fd argument can
 * accept exactly 1/EVERY of the calls.
 * Usage: write_loop [N] [EVERY]
 * Output (one line): "writes=N marked=M seconds=S writes_per_s=R
 * cpu_ns_per_write=C pid=P" (C: user + system CPU of the loop). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MARK_FD 100

/* CPU seconds (user + system) of this process and its reaped children. */
static double cpu_s(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			kids.ru_stime.tv_sec) +
	       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			kids.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_null(void)
{
	int fd = open("/dev/null", O_WRONLY);

	if (fd < 0 || dup2(fd, MARK_FD) < 0) {
		perror("write_loop: /dev/null");
		exit(1);
	}
	return fd;
}

static long run(int fd, long n, long every)
{
	long i, marked = 0, k = 0;
	char c = 'x';

	for (i = 0; i < n; i++) {
		int target = fd;

		if (every > 0 && ++k == every) {
			k = 0;
			target = MARK_FD;
			marked++;
		}
		if (write(target, &c, 1) != 1) {
			perror("write_loop: write");
			exit(1);
		}
	}
	return marked;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	long every = argc > 2 ? atol(argv[2]) : 0;
	int fd = open_null();
	double t0, dt, c0;
	long marked;

	c0 = cpu_s();
	t0 = now_s();
	marked = run(fd, n, every);
	dt = now_s() - t0;
	printf("writes=%ld marked=%ld seconds=%.6f writes_per_s=%.1f cpu_ns_per_write=%.1f pid=%d\n",
	       n, marked, dt, (double)n / dt, (cpu_s() - c0) * 1e9 / (double)n, (int)getpid());
	return 0;
}
