/* Maps shared by every BPF object. The base (process) object creates them;
 * objects loaded later reuse its fds by map name, so every object must
 * declare them identically. */
#ifndef FGS_MAPS_H
#define FGS_MAPS_H

#include "process.h"

#define FGS_EVENTS_DEFAULT_SIZE (8U << 20)
#define FGS_EXECVE_MAP_ENTRIES  32768
#define FGS_LOST_SLOTS          16  /* indexed by enum fgs_record_op */

/* fgs_config.flags */
#define FGS_CFG_NO_CWD (1U << 0)
/* process.binary: the file the kernel runs, symlinks resolved (default: the
 * name execve was given, as the original agent reported it) */
#define FGS_CFG_BINARY_RESOLVED (1U << 1)

/* Written by user space at runtime; all-zero means defaults. */
struct fgs_config {
	__u32 max_argv_bytes; /* 0: FGS_ARGS_DEFAULT; capped at FGS_ARGS_MAX */
	__u32 flags;
};

/* User space may resize before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FGS_EVENTS_DEFAULT_SIZE);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FGS_EXECVE_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, struct fgs_process_state);
} execve_map SEC(".maps");

/* Failed ring-buffer reservations, per record op. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FGS_LOST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fgs_config);
} fgs_config SEC(".maps");

static __always_inline void fgs_count_lost(__u32 op)
{
	__u64 *n = bpf_map_lookup_elem(&lost_events, &op);

	if (n)
		*n += 1;
}

/* Copies size bytes of rec into the ring buffer, counting a failure. */
static __always_inline void fgs_output(void *rec, __u64 size, __u32 op)
{
	if (bpf_ringbuf_output(&events, rec, size, 0) != 0)
		fgs_count_lost(op);
}

static __always_inline struct fgs_config fgs_read_config(void)
{
	struct fgs_config c = {};
	__u32 zero = 0;
	struct fgs_config *v = bpf_map_lookup_elem(&fgs_config, &zero);

	if (v)
		c = *v;
	return c;
}

#endif
