#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "floor_common.h"

volatile sig_atomic_t floor_stop = 0;

static void on_signal(int sig)
{
	(void)sig;
	floor_stop = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void floor_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libbpf_set_print(print_libbpf);
}

long long floor_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int floor_run(struct ring_buffer *rb, int poll_ms)
{
	while (!floor_stop) {
		int err = ring_buffer__poll(rb, poll_ms);

		/* A timeout: records submitted without a wake-up wait in the ring. */
		if (err == 0)
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "floor: ring_buffer__poll: %d\n", err);
			return err;
		}
	}
	return ring_buffer__consume(rb) < 0 ? -1 : 0;
}

void floor_ready(void)
{
	printf("ready\n");
	fflush(stdout);
}
