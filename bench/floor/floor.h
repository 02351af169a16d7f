/* Records of the floor programs: the least a sensor can send per event. */
#ifndef FLOOR_H
#define FLOOR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef FLOOR_RING_SIZE
#define FLOOR_RING_SIZE (8U << 20) /* the agent's events ring: FGS_EVENTS_DEFAULT_SIZE */
#endif

/* Size of one write record: set to the size of the agent's record for the
 * same call so both streams move the same bytes (scripts/bench.sh passes it). */
#ifndef FLOOR_WRITE_REC_SIZE
#define FLOOR_WRITE_REC_SIZE 64
#endif

/* Wake-ups. By default every submit may wake the consumer (flags 0, as the
 * agent does); each wake-up costs an irq_work, several µs in a VM. Built with
 * FLOOR_BATCHED, records are submitted without a wake-up unless the ring is a
 * quarter full, and the consumer polls every FLOOR_POLL_MS instead. */
#ifdef FLOOR_BATCHED
#define FLOOR_POLL_MS 10
#define FLOOR_SUBMIT_FLAGS                                                              \
	(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > FLOOR_RING_SIZE / 4 ? BPF_RB_FORCE_WAKEUP \
									     : BPF_RB_NO_WAKEUP)
#else
#define FLOOR_POLL_MS 100
#define FLOOR_SUBMIT_FLAGS 0
#endif

enum floor_op { FLOOR_EXEC = 1, FLOOR_CLONE = 2, FLOOR_EXIT = 3, FLOOR_WRITE = 5 };

struct floor_header {
	__u32 op;
	__u32 size;
	__u64 ktime;
};

struct floor_proc_rec {
	struct floor_header hdr;
	__u32 pid;
	__u32 tid;
};

struct floor_write_body {
	struct floor_header hdr;
	__u32 pid;
	__u32 tid;
	__u64 fd;
	__u64 count;
};

struct floor_write_rec {
	struct floor_write_body body;
	__u8 pad[FLOOR_WRITE_REC_SIZE - sizeof(struct floor_write_body)];
};

#endif
