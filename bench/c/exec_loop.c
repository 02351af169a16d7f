/* exec_loop: fork + exec "/bin/true a b" N times (default 5000), one at a
 * time, and print the rate. Output (one line): "execs=N seconds=S
 * execs_per_s=R cpu_us_per_exec=C", C counting this process and its reaped
 * children (user + system, so BPF programs run in the exec path are in it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static int run_one(char *const argv[])
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000;
	char *child[] = { "/bin/true", "a", "b", NULL };
	double t0, dt, c0;
	long i;

	c0 = cpu_s();
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (run_one(child) != 0) {
			fprintf(stderr, "exec_loop: child %ld failed\n", i);
			return 1;
		}
	}
	dt = now_s() - t0;
	printf("execs=%ld seconds=%.6f execs_per_s=%.1f cpu_us_per_exec=%.2f\n", n, dt,
	       (double)n / dt, (cpu_s() - c0) * 1e6 / (double)n);
	return 0;
}
