/* exec_paced: fork + exec "/bin/true lat <i>" at RATE per second, COUNT
 * times, recording CLOCK_MONOTONIC just before each fork. Latency clients
 * match these start times to the exec events they receive by pid.
 * Usage: exec_paced [RATE] [COUNT]
 * Output: one "start <pid> <ns>" line per exec, then "done <count>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static pid_t spawn(long i, long long *start)
{
	char idx[32];
	char *argv[] = { "/bin/true", "lat", idx, NULL };
	pid_t pid;

	snprintf(idx, sizeof(idx), "%ld", i);
	*start = mono_ns();
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 100.0;
	long count = argc > 2 ? atol(argv[2]) : 1000;
	long long period = (long long)(1e9 / rate), next = mono_ns(), start;
	long i;

	for (i = 0; i < count; i++) {
		pid_t pid;

		sleep_until(next);
		next += period;
		pid = spawn(i, &start);
		if (pid < 0) {
			perror("exec_paced: fork");
			return 1;
		}
		printf("start %d %lld\n", (int)pid, start);
		waitpid(pid, NULL, 0);
	}
	printf("done %ld\n", count);
	return 0;
}
