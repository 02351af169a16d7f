// SPDX-License-Identifier: MIT
/* The small native half of fgs. Everything else calls libbpf directly through
 * bun:ffi; this file holds only what cannot be done from JavaScript:
 *  - wrappers that return -errno next to a pointer (errno does not survive the
 *    trip back into the JS engine),
 *  - a capture of libbpf's log (verifier output) for error messages,
 *  - the ring-buffer reader thread: ring_buffer__poll blocks, so it runs on its
 *    own thread and streams framed records into a socket that the event loop
 *    reads without ever blocking. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- libbpf log capture ---------------------------------------------- */

#define LOG_CAPACITY (256 * 1024)
static char log_buf[LOG_CAPACITY];
static size_t log_len;
static int log_debug;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !log_debug)
		return 0;
	pthread_mutex_lock(&log_lock);
	if (log_len < LOG_CAPACITY - 1) {
		int n = vsnprintf(log_buf + log_len, LOG_CAPACITY - log_len, fmt, ap);
		if (n > 0)
			log_len += (size_t)n < LOG_CAPACITY - log_len ? (size_t)n : LOG_CAPACITY - log_len - 1;
	}
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void fgs_log_init(int debug)
{
	log_debug = debug;
	libbpf_set_print(capture_print);
}

/* Copies the captured log into out (NUL-terminated) and clears it. */
size_t fgs_log_take(char *out, size_t cap)
{
	pthread_mutex_lock(&log_lock);
	size_t n = log_len < cap - 1 ? log_len : cap - 1;
	memcpy(out, log_buf, n);
	out[n] = 0;
	log_len = 0;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* ---- pointer-returning libbpf calls, with their error ------------------ */

static void *with_err(void *p, int *err)
{
	*err = p ? 0 : -errno;
	return p;
}

void *fgs_object_open(const void *buf, size_t len, const char *name, int *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
	return with_err(bpf_object__open_mem(buf, len, &opts), err);
}

void *fgs_attach(struct bpf_program *prog, int *err)
{
	return with_err(bpf_program__attach(prog), err);
}

void *fgs_attach_tracepoint(struct bpf_program *prog, const char *category, const char *name, int *err)
{
	return with_err(bpf_program__attach_tracepoint(prog, category, name), err);
}

void *fgs_attach_kprobe(struct bpf_program *prog, int retprobe, const char *func, int *err)
{
	return with_err(bpf_program__attach_kprobe(prog, retprobe, func), err);
}

void *fgs_attach_trace(struct bpf_program *prog, int *err)
{
	return with_err(bpf_program__attach_trace(prog), err);
}

/* Returns 0 or -errno; libbpf 1.x sets errno on every failure. */
int fgs_errno(int rc)
{
	return rc < 0 ? -errno : rc;
}

/* ---- clocks ------------------------------------------------------------ */

/* Realtime minus boottime, in ns: add to a bpf_ktime_get_boot_ns() value to
 * get wall-clock time. Sampled between two boottime reads to bound error. */
int64_t fgs_boot_to_realtime_offset_ns(void)
{
	struct timespec b0, r, b1;
	clock_gettime(CLOCK_BOOTTIME, &b0);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_BOOTTIME, &b1);
	int64_t boot = ((int64_t)b0.tv_sec * 1000000000 + b0.tv_nsec + (int64_t)b1.tv_sec * 1000000000 + b1.tv_nsec) / 2;
	return (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - boot;
}

int64_t fgs_boottime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- ring-buffer reader thread ----------------------------------------- */

#define BATCH_CAPACITY (512 * 1024)

struct fgs_reader {
	struct ring_buffer *rb;
	int out_fd;
	pthread_t thread;
	atomic_int stop;
	int started;
	size_t batch_len;
	uint8_t batch[BATCH_CAPACITY];
	atomic_ullong records;
	atomic_ullong bytes;
	atomic_ullong write_errors;
};

static void flush_batch(struct fgs_reader *r)
{
	size_t off = 0;
	while (off < r->batch_len) {
		ssize_t n = send(r->out_fd, r->batch + off, r->batch_len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The reading side is gone: nothing more can be delivered. */
			atomic_fetch_add(&r->write_errors, 1);
			atomic_store(&r->stop, 1);
			break;
		}
		off += (size_t)n;
	}
	r->batch_len = 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct fgs_reader *r = ctx;
	uint32_t len = (uint32_t)size;
	if (r->batch_len + sizeof(len) + size > BATCH_CAPACITY)
		flush_batch(r);
	if (sizeof(len) + size > BATCH_CAPACITY)
		return 0; /* cannot happen: records are bounded far below this */
	memcpy(r->batch + r->batch_len, &len, sizeof(len));
	memcpy(r->batch + r->batch_len + sizeof(len), data, size);
	r->batch_len += sizeof(len) + size;
	atomic_fetch_add(&r->records, 1);
	atomic_fetch_add(&r->bytes, size);
	return 0;
}

static void *reader_main(void *arg)
{
	struct fgs_reader *r = arg;
	while (!atomic_load(&r->stop)) {
		int n = ring_buffer__poll(r->rb, 50);
		if (n < 0 && n != -EINTR)
			break;
		if (r->batch_len)
			flush_batch(r);
	}
	return NULL;
}

/* out_fd receives [u32 length][record] frames, in ring-buffer order. */
struct fgs_reader *fgs_reader_new(int ringbuf_map_fd, int out_fd, int *err)
{
	struct fgs_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->out_fd = out_fd;
	r->rb = ring_buffer__new(ringbuf_map_fd, on_record, r, NULL);
	if (!r->rb) {
		*err = -errno;
		free(r);
		return NULL;
	}
	*err = 0;
	return r;
}

int fgs_reader_add(struct fgs_reader *r, int ringbuf_map_fd)
{
	return ring_buffer__add(r->rb, ringbuf_map_fd, on_record, r) < 0 ? -errno : 0;
}

int fgs_reader_start(struct fgs_reader *r)
{
	int rc = pthread_create(&r->thread, NULL, reader_main, r);
	r->started = rc == 0;
	return -rc;
}

void fgs_reader_stop(struct fgs_reader *r)
{
	atomic_store(&r->stop, 1);
	if (r->started)
		pthread_join(r->thread, NULL);
	ring_buffer__free(r->rb);
	free(r);
}

uint64_t fgs_reader_records(struct fgs_reader *r) { return atomic_load(&r->records); }
uint64_t fgs_reader_bytes(struct fgs_reader *r) { return atomic_load(&r->bytes); }
uint64_t fgs_reader_write_errors(struct fgs_reader *r) { return atomic_load(&r->write_errors); }

/* A stream socket pair with a large send buffer: fds[0] is read by the event
 * loop, fds[1] written by the reader thread. */
int fgs_socketpair(int *fds)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	int size = 4 * 1024 * 1024;
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

int fgs_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* Shuts down the write side so the reading stream sees end-of-file. */
int fgs_shutdown_write(int fd) { return shutdown(fd, SHUT_WR) < 0 ? -errno : 0; }
