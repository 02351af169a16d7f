/* sink: drains a tracer's text output like /dev/null would, but counts it.
 * Event lines start with a digit; "READY" (printed by the tracer's BEGIN
 * probe, after every probe is attached) makes sink print "ready"; "Lost N
 * events" lines (bpftrace's loss reports) are summed. At EOF prints
 * "lines=<event lines> lost=<sum> bytes=<total>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	long long lines, lost, bytes;
};

static void take_line(struct tally *t, const char *s)
{
	long long n;

	if (s[0] >= '0' && s[0] <= '9') {
		t->lines++;
	} else if (strncmp(s, "READY", 5) == 0) {
		printf("ready\n");
		fflush(stdout);
	} else if (sscanf(s, "Lost %lld events", &n) == 1) {
		t->lost += n;
	}
}

int main(void)
{
	struct tally t = { 0, 0, 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		t.bytes += len;
		take_line(&t, line);
	}
	printf("lines=%lld lost=%lld bytes=%lld\n", t.lines, t.lost, t.bytes);
	free(line);
	return 0;
}
