/* floor_proc: loads floor_proc.bpf.c and counts its records by kind.
 * Usage: floor_proc [--latency] [--first]
 *   --latency  remember the receipt time (CLOCK_MONOTONIC) of every exec
 *              record and print "recv <pid> <ns>" lines at exit
 *   --first    print "first <ns>" at the first record (start-up benchmark)
 * Prints "ready" once attached; at SIGINT/SIGTERM prints
 * "exec=N clone=N exit=N lost=N". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "floor.h"
#include "floor_common.h"
#include "floor_proc.skel.h"

#define MAX_RECV (1 << 20)

struct recv_entry {
	__u32 pid;
	long long ns;
};

struct tally {
	long long by_op[8];
	int latency, first;
	long nrecv;
	struct recv_entry *recv;
};

static void note_exec(struct tally *t, const struct floor_proc_rec *r)
{
	if (!t->latency || t->nrecv >= MAX_RECV)
		return;
	t->recv[t->nrecv].pid = r->pid;
	t->recv[t->nrecv].ns = floor_mono_ns();
	t->nrecv++;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tally *t = ctx;
	const struct floor_proc_rec *r = data;

	if (size < sizeof(*r) || r->hdr.op >= 8)
		return 0;
	if (t->first) {
		printf("first %lld\n", floor_mono_ns());
		fflush(stdout);
		t->first = 0;
	}
	t->by_op[r->hdr.op]++;
	if (r->hdr.op == FLOOR_EXEC)
		note_exec(t, r);
	return 0;
}

static void report(const struct tally *t, __u64 lost)
{
	long i;

	for (i = 0; i < t->nrecv; i++)
		printf("recv %u %lld\n", t->recv[i].pid, t->recv[i].ns);
	printf("exec=%lld clone=%lld exit=%lld lost=%llu\n", t->by_op[FLOOR_EXEC],
	       t->by_op[FLOOR_CLONE], t->by_op[FLOOR_EXIT], (unsigned long long)lost);
}

static void parse_args(struct tally *t, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--latency") == 0)
			t->latency = 1;
		else if (strcmp(argv[i], "--first") == 0)
			t->first = 1;
	}
}

int main(int argc, char **argv)
{
	static struct tally t;
	struct floor_proc_bpf *skel;
	struct ring_buffer *rb = NULL;
	int err = 1;

	parse_args(&t, argc, argv);
	t.recv = t.latency ? calloc(MAX_RECV, sizeof(*t.recv)) : NULL;
	floor_setup();
	skel = floor_proc_bpf__open_and_load();
	if (!skel || floor_proc_bpf__attach(skel) != 0) {
		fprintf(stderr, "floor_proc: load/attach failed\n");
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &t, NULL);
	if (!rb)
		goto out;
	floor_ready();
	err = floor_run(rb, FLOOR_POLL_MS);
	report(&t, skel->bss->lost);
out:
	ring_buffer__free(rb);
	floor_proc_bpf__destroy(skel);
	free(t.recv);
	return err ? 1 : 0;
}
