/* floor_write: the "C consumer" baseline. Loads floor_write.bpf.c for one
 * executable and counts its records.
 * Usage: floor_write <path of the executable> [fd]
 *   fd  only calls on this fd make a record (in-kernel filtering benchmark)
 * Prints "ready" once attached; at SIGINT/SIGTERM prints
 * "records=N lost=N record_size=N first_ns=T last_ns=T" (CLOCK_MONOTONIC
 * receipt times of the first and last record). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "floor.h"
#include "floor_common.h"
#include "floor_write.skel.h"

struct tally {
	long long records, first_ns, last_ns;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct tally *t = ctx;

	(void)data;
	if (size < sizeof(struct floor_write_rec))
		return 0;
	t->last_ns = floor_mono_ns();
	if (t->records++ == 0)
		t->first_ns = t->last_ns;
	return 0;
}

/* The kernel's dev_t encoding (MKDEV: 12-bit major, 20-bit minor). */
static __u32 kernel_dev(dev_t dev)
{
	return ((__u32)major(dev) << 20) | (__u32)minor(dev);
}

static struct floor_write_bpf *load(const char *path, long fd)
{
	struct floor_write_bpf *skel = floor_write_bpf__open();
	struct stat st;

	if (!skel || stat(path, &st) != 0) {
		perror("floor_write: open");
		return NULL;
	}
	skel->rodata->target_ino = st.st_ino;
	skel->rodata->target_dev = kernel_dev(st.st_dev);
	skel->rodata->target_fd = fd;
	if (floor_write_bpf__load(skel) != 0 || floor_write_bpf__attach(skel) != 0) {
		fprintf(stderr, "floor_write: load/attach failed\n");
		floor_write_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(int argc, char **argv)
{
	static struct tally t;
	struct floor_write_bpf *skel;
	struct ring_buffer *rb;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: floor_write <executable> [fd]\n");
		return 2;
	}
	floor_setup();
	skel = load(argv[1], argc > 2 ? atol(argv[2]) : -1);
	if (!skel)
		return 1;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &t, NULL);
	if (!rb) {
		floor_write_bpf__destroy(skel);
		return 1;
	}
	floor_ready();
	err = floor_run(rb, FLOOR_POLL_MS);
	printf("records=%lld lost=%llu record_size=%zu first_ns=%lld last_ns=%lld\n", t.records,
	       (unsigned long long)skel->bss->lost, sizeof(struct floor_write_rec), t.first_ns,
	       t.last_ns);
	ring_buffer__free(rb);
	floor_write_bpf__destroy(skel);
	return err ? 1 : 0;
}
