/* sink: drains a tracer's text output like /dev/null would, but counts it.
 * Event lines start with a digit; "READY" (printed by the tracer's BEGIN
 * probe, after every probe is attached) makes sink print "ready"; "Lost N
 * events" lines (bpftrace's loss reports) are summed. At EOF prints
 * "lines=<event lines> lost=<sum> bytes=<total> first_ns=<t> last_ns=<t>"
 * (CLOCK_MONOTONIC receipt times of the first and last event line).
 * Usage: sink [path]   (reads path, e.g. a FIFO the tracer writes with -o,
 * instead of stdin) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tally {
	long long lines, lost, bytes, first_ns, last_ns;
};

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void take_line(struct tally *t, const char *s)
{
	long long n;

	if (s[0] >= '0' && s[0] <= '9') {
		if (t->lines++ == 0)
			t->first_ns = mono_ns();
		t->last_ns = mono_ns();
	} else if (strncmp(s, "READY", 5) == 0) {
		printf("ready\n");
		fflush(stdout);
	} else if (sscanf(s, "Lost %lld events", &n) == 1) {
		t->lost += n;
	}
}

int main(int argc, char **argv)
{
	FILE *in = stdin;
	struct tally t = { 0, 0, 0, 0, 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (argc > 1 && !(in = fopen(argv[1], "r"))) {
		perror("sink");
		return 1;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		t.bytes += len;
		take_line(&t, line);
	}
	printf("lines=%lld lost=%lld bytes=%lld first_ns=%lld last_ns=%lld\n", t.lines, t.lost,
	       t.bytes, t.first_ns, t.last_ns);
	free(line);
	return 0;
}
