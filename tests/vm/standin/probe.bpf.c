// SPDX-License-Identifier: GPL-2.0
// Stand-in payload for the VM pipeline: one program per hook mechanism the
// agent relies on, each counting hits from one target process.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

const volatile __u32 target_tgid = 0;

__u64 kprobe_hits = 0;
__u64 kretprobe_hits = 0;
__u64 fentry_hits = 0;
__u64 fexit_hits = 0;
__u64 connect_hits = 0;
__u32 deny_open = 0;

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(on_openat2)
{
	if (is_target())
		__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(on_openat2_ret, long ret)
{
	if (is_target())
		__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

SEC("fentry/fd_install")
int BPF_PROG(on_fd_install, unsigned int fd, struct file *file)
{
	if (is_target())
		__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("fexit/security_file_permission")
int BPF_PROG(on_file_permission_exit, struct file *file, int mask, int ret)
{
	if (is_target())
		__sync_fetch_and_add(&fexit_hits, 1);
	return 0;
}

SEC("kprobe/tcp_connect")
int BPF_KPROBE(on_tcp_connect)
{
	if (is_target())
		__sync_fetch_and_add(&connect_hits, 1);
	return 0;
}

// Debian's kernels lack CONFIG_FUNCTION_ERROR_INJECTION, so
// bpf_override_return is unavailable; fmod_ret on security_* still works.
SEC("fmod_ret/security_file_open")
int BPF_PROG(deny_file_open, struct file *file, int ret)
{
	if (is_target() && deny_open)
		return -EPERM;
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
