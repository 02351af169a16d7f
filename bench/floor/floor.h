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
