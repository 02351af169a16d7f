/* Floor for a write policy: syscalls/sys_enter_write, one fixed-size record
 * per call made by one executable (matched by inode), optionally only for
 * one fd (the in-kernel filtering benchmark). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "floor.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FLOOR_RING_SIZE);
} events SEC(".maps");

const volatile __u64 target_ino = 0;
const volatile __u32 target_dev = 0;
const volatile __s64 target_fd = -1; /* -1: every fd */

__u64 lost = 0;

static __always_inline int is_target(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *ino = BPF_CORE_READ(task, mm, exe_file, f_inode);

	if (!ino || BPF_CORE_READ(ino, i_ino) != target_ino)
		return 0;
	return BPF_CORE_READ(ino, i_sb, s_dev) == target_dev;
}

SEC("tp/syscalls/sys_enter_write")
int floor_write(struct trace_event_raw_sys_enter *ctx)
{
	struct floor_write_rec *r;
	__u64 id;

	if (target_fd >= 0 && ctx->args[0] != (unsigned long)target_fd)
		return 0;
	if (!is_target())
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	r->body.hdr.op = FLOOR_WRITE;
	r->body.hdr.size = sizeof(*r);
	r->body.hdr.ktime = bpf_ktime_get_boot_ns();
	r->body.pid = id >> 32;
	r->body.tid = (__u32)id;
	r->body.fd = ctx->args[0];
	r->body.count = ctx->args[2];
	bpf_ringbuf_submit(r, FLOOR_SUBMIT_FLAGS);
	return 0;
}
