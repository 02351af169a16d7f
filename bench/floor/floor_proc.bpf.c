/* Floor for the process sensor: the same three hooks as bpf/process.bpf.c,
 * each only reserving and submitting a small record. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "floor.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FLOOR_RING_SIZE);
} events SEC(".maps");

__u64 lost = 0;

static __always_inline void emit(__u32 op, struct task_struct *task)
{
	struct floor_proc_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	r->hdr.op = op;
	r->hdr.size = sizeof(*r);
	r->hdr.ktime = bpf_ktime_get_boot_ns();
	r->pid = task->tgid;
	r->tid = task->pid;
	bpf_ringbuf_submit(r, FLOOR_SUBMIT_FLAGS);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *task)
{
	emit(FLOOR_EXEC, task);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork, struct task_struct *parent, struct task_struct *child)
{
	emit(FLOOR_CLONE, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit, struct task_struct *task)
{
	emit(FLOOR_EXIT, task);
	return 0;
}
