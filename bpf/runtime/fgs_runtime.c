// SPDX-License-Identifier: MIT
/* The small native half of fgs. Everything else calls libbpf directly through
 * bun:ffi; this file holds only what cannot be done from JavaScript:
 *  - wrappers that return -errno next to a pointer (errno does not survive the
 *    trip back into the JS engine),
 *  - a capture of libbpf's log (verifier output) for error messages,
 *  - the ring-buffer mappings and a wake-up thread: waiting for the ring
 *    blocks, so a thread waits and tells the event loop through a socket;
 *    the event loop then reads the mapped ring itself, in batches. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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

/* tracepoints with raw: true (src/policy/plan/mechanism.ts) */
void *fgs_attach_raw_tracepoint(struct bpf_program *prog, const char *name, int *err)
{
	return with_err(bpf_program__attach_raw_tracepoint(prog, name), err);
}

void *fgs_attach_kprobe(struct bpf_program *prog, int retprobe, const char *func, int *err)
{
	return with_err(bpf_program__attach_kprobe(prog, retprobe, func), err);
}

/* A uprobe in binary, any process: at func_name (libbpf resolves the symbol)
 * plus offset, or at the file offset alone when func_name is NULL;
 * ref_ctr_offset (a file offset, 0 for none) is the semaphore the kernel
 * counts up while the probe is attached. */
void *fgs_attach_uprobe(struct bpf_program *prog, int retprobe, const char *binary, const char *func_name,
			unsigned long long offset, unsigned long long ref_ctr_offset, int *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func_name, .retprobe = retprobe,
		    .ref_ctr_offset = ref_ctr_offset);
	return with_err(bpf_program__attach_uprobe_opts(prog, -1, binary, offset, &opts), err);
}

/* A USDT probe provider:name in binary (libbpf reads the ELF notes), any process. */
void *fgs_attach_usdt(struct bpf_program *prog, const char *binary, const char *provider, const char *name, int *err)
{
	return with_err(bpf_program__attach_usdt(prog, -1, binary, provider, name, NULL), err);
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

/* ---- ring-buffer access ------------------------------------------------- */

/* The ring is mapped here (the consumer page read-write, the producer page
 * followed by the data pages read-only) and read by fgs_ring_take(), which
 * copies committed records into a buffer of the reader's. The kernel lays
 * the data pages out twice in a row so that a record that wraps is
 * contiguous; only the first copy is mapped (every mapped page counts in the
 * agent's RSS), and fgs_ring_take() joins the two parts of a wrapped record.
 * No JavaScript ArrayBuffer covers the ring: JSC counts an ArrayBuffer's
 * length as heap, and its collector lets the heap grow to twice that before
 * it collects, so an 8 MiB view cost ~16 MiB of peak RSS in a storm. */
int fgs_ring_map(int map_fd, uint32_t size, void **consumer, void **producer)
{
	long page = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	void *p = mmap(NULL, page + (size_t)size, PROT_READ, MAP_SHARED, map_fd, page);
	if (p == MAP_FAILED) {
		int err = -errno;
		munmap(c, page);
		return err;
	}
	*consumer = c;
	*producer = p;
	return 0;
}

void fgs_ring_unmap(void *consumer, void *producer, uint32_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	munmap(consumer, page);
	munmap(producer, page + (size_t)size);
}

long fgs_page_size(void) { return sysconf(_SC_PAGESIZE); }

#define RB_BUSY (1U << 31)
#define RB_DISCARD (1U << 30)
#define RB_HDR 8

/* Copies committed records from the consumer position on into dst, each as
 * its 8-byte header then its bytes padded to 8 (as in the ring, never
 * wrapped), and moves the consumer position past them; discarded records are
 * passed over. Stops at a record still being written, after max_records, or
 * before a record that would not fit in cap. Returns the bytes written to dst
 * (out[0] = records), or -E2BIG when the first record alone needs more than
 * cap (out[0] = the bytes it needs). */
long fgs_ring_take(void *consumer, const void *producer, uint32_t size, uint8_t *dst, uint32_t cap,
		   uint32_t max_records, uint32_t *out)
{
	const uint8_t *data = (const uint8_t *)producer + sysconf(_SC_PAGESIZE);
	uint64_t *cons_pos = consumer;
	const uint64_t mask = size - 1;
	uint64_t cons = __atomic_load_n(cons_pos, __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n((const uint64_t *)producer, __ATOMIC_ACQUIRE);
	uint32_t records = 0;
	long at = 0;
	while (cons < prod && records < max_records) {
		const uint32_t *hdr = (const uint32_t *)(data + (cons & mask));
		/* Acquire: the record's bytes are read only after its commit is seen. */
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (len & RB_BUSY)
			break;
		uint32_t body = len & ~(RB_BUSY | RB_DISCARD);
		uint64_t total = ((uint64_t)body + RB_HDR + 7) & ~7ULL;
		if (!(len & RB_DISCARD)) {
			if ((uint64_t)at + total > cap) {
				if (records == 0 && at == 0) {
					out[0] = (uint32_t)total;
					return -E2BIG;
				}
				break;
			}
			uint64_t start = (cons + RB_HDR) & mask;
			uint64_t first = body <= size - start ? body : size - start;
			memcpy(dst + at, &len, sizeof(len));
			memset(dst + at + 4, 0, 4);
			memcpy(dst + at + RB_HDR, data + start, first);
			if (first < body)
				memcpy(dst + at + RB_HDR + first, data, body - first);
			at += (long)total;
			records++;
		}
		cons += total;
	}
	/* Release: the kernel may reuse the space only after it was copied. */
	__atomic_store_n(cons_pos, cons, __ATOMIC_RELEASE);
	out[0] = records;
	return at;
}

/* ---- ring-buffer wake-ups ----------------------------------------------- */

/* epoll on a ring-buffer map is level-triggered on "data available", so a
 * thread can wait for the ring without consuming it. The ring is in the
 * thread's epoll set one-shot: when it has data the thread sends the event
 * loop one byte and waits again, and the ring stays out of the set until the
 * event loop, drained, re-arms it (fgs_notifier_rearm: an epoll_ctl from the
 * loop's thread, which wakes this one only if data is already there). The
 * event loop never blocks, an idle agent costs no wake-ups, and a wake-up
 * costs this thread one switch, not two (a byte back would be a second). */
struct fgs_notifier {
	int epfd;
	int sock;
	int map_fd;
	int stopfd; /* eventfd in epfd: stop wakes the thread, so it needs no poll timeout */
	pthread_t thread;
	atomic_int stop;
	atomic_int alive;
	int started;
	atomic_ullong wakeups;
};

static int wait_for_ring(struct fgs_notifier *n)
{
	struct epoll_event ev;
	while (!atomic_load(&n->stop)) {
		int rc = epoll_wait(n->epfd, &ev, 1, -1);
		if (rc > 0)
			return ev.data.fd == n->stopfd ? -1 : 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
	return -1;
}

static void notifier_wake_to_stop(struct fgs_notifier *n)
{
	atomic_store(&n->stop, 1);
	uint64_t one = 1;
	if (write(n->stopfd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one write per stop */
	}
}

static void *notifier_main(void *arg)
{
	struct fgs_notifier *n = arg;
	char b = 1;
	while (!atomic_load(&n->stop)) {
		if (wait_for_ring(n) < 0)
			break;
		if (send(n->sock, &b, 1, MSG_NOSIGNAL) != 1 && errno != EINTR)
			break; /* the event loop closed its end */
		atomic_fetch_add(&n->wakeups, 1);
	}
	atomic_store(&n->alive, 0);
	return NULL;
}

static int ring_interest(struct fgs_notifier *n, int op)
{
	struct epoll_event ring = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = n->map_fd };
	return epoll_ctl(n->epfd, op, n->map_fd, &ring) < 0 ? -errno : 0;
}

/* The event loop has drained the ring: wake it again on the next record. */
int fgs_notifier_rearm(struct fgs_notifier *n) { return ring_interest(n, EPOLL_CTL_MOD); }

/* sock: this thread's end of a socket pair (see fgs_socketpair). */
struct fgs_notifier *fgs_notifier_new(int map_fd, int sock, int *err)
{
	struct fgs_notifier *n = calloc(1, sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	n->sock = sock;
	n->map_fd = map_fd;
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	n->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = n->stopfd };
	if (n->epfd < 0 || n->stopfd < 0 || ring_interest(n, EPOLL_CTL_ADD) < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->stopfd, &stop) < 0) {
		*err = -errno;
		if (n->epfd >= 0)
			close(n->epfd);
		if (n->stopfd >= 0)
			close(n->stopfd);
		free(n);
		return NULL;
	}
	atomic_store(&n->alive, 1);
	int rc = pthread_create(&n->thread, NULL, notifier_main, n);
	if (rc != 0) {
		*err = -rc;
		close(n->epfd);
		close(n->stopfd);
		free(n);
		return NULL;
	}
	n->started = 1;
	*err = 0;
	return n;
}

int fgs_notifier_alive(struct fgs_notifier *n) { return atomic_load(&n->alive); }
uint64_t fgs_notifier_wakeups(struct fgs_notifier *n) { return atomic_load(&n->wakeups); }

/* Call after shutting down the event loop's end of the socket pair. */
void fgs_notifier_free(struct fgs_notifier *n)
{
	notifier_wake_to_stop(n);
	shutdown(n->sock, SHUT_RDWR);
	if (n->started)
		pthread_join(n->thread, NULL);
	close(n->epfd);
	close(n->stopfd);
	close(n->sock);
	free(n);
}

/* A stream socket pair: fds[0] for the event loop, fds[1] for a thread. */
int fgs_socketpair(int *fds)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	return 0;
}

int fgs_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* max_entries of a loaded map (a ring buffer's size in bytes), or -errno. */
int64_t fgs_map_max_entries(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
		return -errno;
	return info.max_entries;
}

/* Makes the thread exit as if it had failed (tests of the restart path). */
void fgs_notifier_halt(struct fgs_notifier *n) { notifier_wake_to_stop(n); }

/* ---- object load off the event loop ------------------------------------ */

/* Loading parses the kernel's BTF (~5 MB here) and relocates programs with
 * glibc's malloc, on the loading thread's arena and the main one; freed, that
 * memory stays resident (~20 MB) until trimmed. Called after each load. */
void fgs_trim_heap(void) { malloc_trim(0); }

/* glibc raises its mmap threshold (and with it the trim threshold) each time
 * a large block is freed, so the BTF's buffers end up inside an arena whose
 * free top is then never given back (malloc_trim trims only the main arena's
 * top): 12 MB stayed resident on the loading thread's arena. A fixed
 * threshold keeps large blocks in their own mappings, unmapped when freed. */
__attribute__((constructor)) static void fgs_malloc_setup(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* bpf_object__load runs the verifier, which can take long for big programs;
 * it runs on its own thread so the event loop keeps delivering events. The
 * caller polls fgs_object_load_poll and then collects the result once. */
struct fgs_load {
	struct bpf_object *obj;
	pthread_t thread;
	atomic_int done;
	int rc;
};

static void *load_main(void *arg)
{
	struct fgs_load *l = arg;
	int rc = bpf_object__load(l->obj);
	l->rc = rc < 0 ? -errno : 0;
	fgs_trim_heap();
	atomic_store(&l->done, 1);
	return NULL;
}

struct fgs_load *fgs_object_load_async(struct bpf_object *obj, int *err)
{
	struct fgs_load *l = calloc(1, sizeof(*l));
	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	l->obj = obj;
	int rc = pthread_create(&l->thread, NULL, load_main, l);
	if (rc != 0) {
		free(l);
		*err = -rc;
		return NULL;
	}
	*err = 0;
	return l;
}

/* 1 once the load finished, else 0. */
int fgs_object_load_poll(struct fgs_load *l) { return atomic_load(&l->done); }

/* Joins the thread (blocks until done) and returns 0 or -errno; frees l. */
int fgs_object_load_finish(struct fgs_load *l)
{
	pthread_join(l->thread, NULL);
	int rc = l->rc;
	free(l);
	return rc;
}
