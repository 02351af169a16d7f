// SPDX-License-Identifier: GPL-2.0
/* Test sensor: lets an operator check the whole path from kernel to client.
 * While attached, every getppid(2) call on the host (tracepoint
 * syscalls/sys_enter_getppid) sends one FGS_OP_TEST record, which user space
 * turns into a GetEventsResponse `test` event (EventType TEST). getppid is
 * cheap, rarely called by busy services, and trivially triggered on demand:
 * `sh -c 'echo $PPID'` calls it once at start-up.
 *
 *   arg0  tgid of the caller
 *   arg1  tid of the caller
 *   arg2  CPU the call ran on
 *   arg3  per-CPU sequence number of test records (starts at 1)
 *
 * src/decode/test.ts mirrors struct fgs_test_record. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.h"

char LICENSE[] SEC("license") = "GPL";

struct fgs_test_record {
	struct fgs_record_header hdr;
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u64 arg3;
};

/* Per-CPU sequence counters; the value type also keeps the record in BTF. */
struct fgs_test_state {
	__u64 seq;
	struct fgs_test_record rec;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fgs_test_state);
} test_state SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int fgs_test_getppid(void *ctx)
{
	__u32 zero = 0;
	struct fgs_test_state *st = bpf_map_lookup_elem(&test_state, &zero);
	__u64 id = bpf_get_current_pid_tgid();

	if (!st)
		return 0;
	st->seq += 1;
	st->rec.hdr.op = FGS_OP_TEST;
	st->rec.hdr.size = sizeof(st->rec);
	st->rec.hdr.ktime = bpf_ktime_get_boot_ns();
	st->rec.arg0 = id >> 32;
	st->rec.arg1 = (__u32)id;
	st->rec.arg2 = bpf_get_smp_processor_id();
	st->rec.arg3 = st->seq;
	fgs_output(&st->rec, sizeof(st->rec), FGS_OP_TEST);
	return 0;
}
