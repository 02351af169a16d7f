// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle sensor: exec, fork (new thread group) and exit of the
 * whole thread group, each sent as one record on the events ring buffer;
 * execve_map keeps the per-process state other programs read. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "maps.h"
#include "lib/path.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched/signal.h, unchanged since 2.6 */
#define FGS_SIGNAL_GROUP_EXIT 0x00000004
#define FGS_AUID_UNSET 0xffffffffU
#define FGS_PID_LEVEL_MASK 31  /* pid namespaces nest at most 32 deep */

struct fgs_exec_buf {
	struct fgs_exec_record rec;
	__u8 data[FGS_EXEC_DATA_MAX]; /* must follow rec: sent together */
};

/* One per CPU: records are built here, then copied to the ring buffer.
 * Being a map value type also keeps every record layout in the BTF. */
struct fgs_process_scratch {
	struct fgs_exec_buf exec;
	struct fgs_process_state state;
	struct fgs_clone_record clone;
	struct fgs_exit_record exit;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fgs_process_scratch);
} process_scratch SEC(".maps");

static __always_inline struct fgs_process_scratch *fgs_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&process_scratch, &zero);
}

static __always_inline void fgs_read_caps(struct fgs_caps *caps, const struct cred *cred)
{
	/* kernel_cap_t is u32[2] before 6.3 and u64 after: 8 bytes either way. */
	bpf_core_read(&caps->effective, sizeof(__u64), &cred->cap_effective);
	bpf_core_read(&caps->permitted, sizeof(__u64), &cred->cap_permitted);
	bpf_core_read(&caps->inheritable, sizeof(__u64), &cred->cap_inheritable);
}

static __always_inline struct upid fgs_task_upid(struct task_struct *task)
{
	struct upid up = {};
	struct pid *pid = task->thread_pid;
	__u32 level = pid->level;

	bpf_core_read(&up, sizeof(up), &pid->numbers[level & FGS_PID_LEVEL_MASK]);
	return up;
}

static __always_inline void fgs_read_ns(struct fgs_namespaces *ns, struct task_struct *task)
{
	struct nsproxy *nsp = task->nsproxy;
	struct upid up = fgs_task_upid(task);

	ns->uts = nsp->uts_ns->ns.inum;
	ns->ipc = nsp->ipc_ns->ns.inum;
	ns->mnt = nsp->mnt_ns->ns.inum;
	ns->pid = BPF_CORE_READ(up.ns, ns.inum);
	ns->pid_for_children = nsp->pid_ns_for_children->ns.inum;
	ns->net = nsp->net_ns->ns.inum;
	if (bpf_core_field_exists(nsp->time_ns)) {
		ns->time = nsp->time_ns->ns.inum;
		ns->time_for_children = nsp->time_ns_for_children->ns.inum;
	} else {
		ns->time = 0;
		ns->time_for_children = 0;
	}
	ns->cgroup = nsp->cgroup_ns->ns.inum;
	ns->user = task->cred->user_ns->ns.inum;
}

static __always_inline __u32 fgs_read_auid(struct task_struct *task)
{
	if (!bpf_core_field_exists(task->loginuid))
		return FGS_AUID_UNSET;
	return task->loginuid.val;
}

/* Copies a walked path to dst (at most FGS_PATH_MAX bytes); returns its length. */
static __always_inline __u32 fgs_copy_path(__u8 *dst, struct fgs_path_res *p)
{
	__u64 len = p->len;

	fgs_barrier_var(len);
	if (!p->buf || len > FGS_PATH_MAX)
		return 0;
	bpf_probe_read_kernel(dst, len, &p->buf->data[p->start & FGS_PATH_MASK]);
	return len;
}

/* Everything that fills exec.data is done by global functions: the verifier
 * checks each once, on its own, with scalar arguments and the result unknown
 * to the caller, instead of once per caller state and per bpf_loop iteration
 * (the exec program used to cost ~517k processed instructions). Each finds the
 * per-CPU record itself, writes its part at exec.data[pos, ...), sets its
 * flags and returns the length written. Kernel pointers arrive as numbers. */

static __always_inline struct fgs_exec_buf *fgs_exec_buffer(void)
{
	struct fgs_process_scratch *s = fgs_scratch();

	return s ? &s->exec : NULL;
}

#define FGS_WALK_LEN_MASK    0xffff
#define FGS_WALK_FLAGS_SHIFT 16

/* (vfsmnt, dentry) relative to task's root at exec.data[pos, ...).
 * Returns the length | FGS_PATH_* flags << FGS_WALK_FLAGS_SHIFT. */
__noinline int fgs_exec_walk(__u64 pos, __u64 vfsmnt, __u64 dentry, __u64 task)
{
	struct fgs_exec_buf *b = fgs_exec_buffer();
	struct fgs_path_res p;
	__u32 len;

	if (!b)
		return FGS_PATH_ERROR << FGS_WALK_FLAGS_SHIFT;
	p = fgs_path_walk((struct vfsmount *)vfsmnt, (struct dentry *)dentry,
			  (struct task_struct *)task);
	fgs_barrier_var(pos);
	if (pos > FGS_PATH_MAX)
		return FGS_PATH_ERROR << FGS_WALK_FLAGS_SHIFT;
	len = fgs_copy_path(&b->data[pos], &p);
	return len | p.flags << FGS_WALK_FLAGS_SHIFT;
}

static __always_inline __u32 fgs_walk_len(int r)
{
	__u32 len = r & FGS_WALK_LEN_MASK;

	return len > FGS_PATH_MAX ? 0 : len;
}

static __always_inline __u32 fgs_walk_flags(int r)
{
	return (__u32)r >> FGS_WALK_FLAGS_SHIFT;
}

/* The cwd at exec.data[0, ...). */
__noinline int fgs_exec_cwd(__u64 task, __u32 cfg_flags)
{
	struct fgs_exec_buf *b = fgs_exec_buffer();
	struct fs_struct *fs = BPF_CORE_READ((struct task_struct *)task, fs);
	__u32 len;
	int r;

	if (!b)
		return 0;
	if ((cfg_flags & FGS_CFG_NO_CWD) || !fs) {
		b->rec.flags |= FGS_PROC_NO_CWD;
		return 0;
	}
	r = fgs_exec_walk(0, (__u64)BPF_CORE_READ(fs, pwd.mnt), (__u64)BPF_CORE_READ(fs, pwd.dentry),
			  task);
	if (fgs_walk_flags(r) & (FGS_PATH_ERROR | FGS_PATH_TRUNCATED | FGS_PATH_UNREACHABLE))
		b->rec.flags |= FGS_PROC_ERROR_CWD;
	len = fgs_walk_len(r);
	if (len == 1 && b->data[0] == '/')
		b->rec.flags |= FGS_PROC_ROOT_CWD;
	return len;
}

/* Number of leading "./" pairs in the staged filename. */
static __always_inline __u32 fgs_dot_slash_prefix(const char *s)
{
	__u32 k = 0;

#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (s[k] != '.' || s[k + 1] != '/')
			break;
		k += 2;
	}
	return k;
}

/* The name given to execve (bprm->filename, which a #! script or binfmt_misc
 * keeps while bprm->file becomes the interpreter), made absolute with the cwd
 * captured in data[0, cwd): the path the program was executed by. */
static __always_inline __u32 fgs_exec_named_binary(struct fgs_exec_buf *b, __u64 cwd,
						     struct fgs_path_buf *pb, __u64 name_len)
{
	const char *name = &pb->data[FGS_PATH_MAX];
	__u64 skip = 0, head = 0, tail;
	__u8 *dst;

	fgs_barrier_var(cwd);
	if (cwd > FGS_PATH_MAX || name_len > FGS_PATH_MAX)
		return 0;
	/* The mask repeats the bound: 6.1's verifier loses it when cwd is
	 * spilled to the stack and reloaded between the check and this use.
	 * The barrier keeps the compiler from dropping the mask as redundant. */
	fgs_barrier_var(cwd);
	dst = &b->data[cwd & (2 * FGS_PATH_MAX - 1)];
	if (name[0] != '/') {
		if (b->rec.flags & (FGS_PROC_NO_CWD | FGS_PROC_ERROR_CWD))
			b->rec.flags |= FGS_PROC_ERROR_FILENAME;
		skip = fgs_dot_slash_prefix(name);
		head = cwd == 1 ? 0 : cwd; /* cwd "/" */
		fgs_barrier_var(head);
		if (head > FGS_PATH_MAX - 1)
			return 0;
		bpf_probe_read_kernel(dst, head, b->data);
		dst[head] = '/';
		head += 1;
	}
	tail = name_len > skip ? name_len - skip : 0;
	if (head + tail > FGS_PATH_MAX) {
		b->rec.flags |= FGS_PROC_TRUNC_FILENAME;
		tail = FGS_PATH_MAX - head;
	}
	fgs_barrier_var(tail);
	fgs_barrier_var(head);
	fgs_barrier_var(skip);
	if (tail > FGS_PATH_MAX || head > FGS_PATH_MAX || skip > 16)
		return 0;
	bpf_probe_read_kernel(dst + head, tail, name + skip);
	return head + tail;
}

/* execveat(fd, "", AT_EMPTY_PATH) and fexecve name the file "/dev/fd/N". */
static __always_inline int fgs_is_dev_fd(const char *s)
{
	const char *p = "/dev/fd/";

#pragma unroll
	for (int i = 0; i < 8; i++)
		if (s[i] != p[i])
			return 0;
	return 1;
}

/* The binary at exec.data[cwd, ...): by default the name execve was given
 * (made absolute); with FGS_CFG_BINARY_RESOLVED, or for execveat on an fd
 * ("/dev/fd/N" names nothing useful), the path of the file the kernel runs.
 * A #! script is always the script's name: bprm->file is its interpreter. */
#define FGS_BIN_SCRIPT   (1U << 0) /* bprm->interp differs from bprm->filename */
#define FGS_BIN_RESOLVED (1U << 1) /* FGS_CFG_BINARY_RESOLVED */

__noinline int fgs_exec_binary(__u64 task, __u64 cwd, __u64 filename, __u64 file, __u32 mode)
{
	struct fgs_exec_buf *b = fgs_exec_buffer();
	struct fgs_path_buf *pb = fgs_path_buffer();
	struct file *f = (struct file *)file;
	int script = mode & FGS_BIN_SCRIPT;
	int dev_fd = 0;
	__u32 flags;
	long n;
	int r;

	if (!b || !pb)
		return 0;
	n = bpf_probe_read_kernel_str(&pb->data[FGS_PATH_MAX], FGS_PATH_MAX, (const void *)filename);
	if (n <= 0) {
		b->rec.flags |= FGS_PROC_ERROR_FILENAME;
		return 0;
	}
	if (n >= 8 && fgs_is_dev_fd(&pb->data[FGS_PATH_MAX])) {
		b->rec.flags |= FGS_PROC_EXECVEAT;
		dev_fd = 1;
	}
	if (script)
		b->rec.flags |= FGS_PROC_SCRIPT;
	if (script || (!dev_fd && !(mode & FGS_BIN_RESOLVED))) {
		if (n >= FGS_PATH_MAX)
			b->rec.flags |= FGS_PROC_TRUNC_FILENAME;
		return fgs_exec_named_binary(b, cwd, pb, n - 1);
	}
	r = fgs_exec_walk(cwd, (__u64)BPF_CORE_READ(f, f_path.mnt),
			  (__u64)BPF_CORE_READ(f, f_path.dentry), task);
	flags = fgs_walk_flags(r);
	if (flags & FGS_PATH_TRUNCATED)
		b->rec.flags |= FGS_PROC_TRUNC_FILENAME;
	if (flags & (FGS_PATH_ERROR | FGS_PATH_UNREACHABLE))
		b->rec.flags |= FGS_PROC_ERROR_FILENAME;
	if (flags & FGS_PATH_UNLINKED)
		b->rec.flags |= FGS_PROC_UNLINKED;
	return fgs_walk_len(r);
}

/* argv (the process's arg area) at exec.data[pos, ...). */
__noinline int fgs_exec_args(__u64 pos, __u64 mm, __u32 max_argv_bytes)
{
	struct fgs_exec_buf *b = fgs_exec_buffer();
	unsigned long start = BPF_CORE_READ((struct mm_struct *)mm, arg_start);
	unsigned long end = BPF_CORE_READ((struct mm_struct *)mm, arg_end);
	__u64 limit = max_argv_bytes ? max_argv_bytes : FGS_ARGS_DEFAULT;
	__u64 total = end > start ? end - start : 0;
	__u64 n;

	if (!b)
		return 0;
	if (limit > FGS_ARGS_MAX)
		limit = FGS_ARGS_MAX;
	b->rec.args_total = total > 0xffffffffULL ? 0xffffffffU : (__u32)total;
	n = total > limit ? limit : total;
	if (total > n)
		b->rec.flags |= FGS_PROC_TRUNC_ARGS;
	fgs_barrier_var(n);
	fgs_barrier_var(pos);
	if (n > FGS_ARGS_MAX || pos > FGS_PATH_MAX * 2)
		return 0;
	if (bpf_probe_read_user(&b->data[pos], n, (void *)start)) {
		b->rec.flags |= FGS_PROC_ERROR_ARGS;
		return 0;
	}
	return n;
}

/* The cgroup (v2) path of kernfs node kn at exec.data[pos, ...), and its id. */
__noinline int fgs_exec_cgroup(__u64 pos, __u64 kn)
{
	struct fgs_exec_buf *b = fgs_exec_buffer();
	struct fgs_path_res p;

	if (!b)
		return 0;
	b->rec.cgroup_id = BPF_CORE_READ((struct kernfs_node *)kn, id);
	p = fgs_kernfs_path((struct kernfs_node *)kn);
	if (p.flags)
		b->rec.flags |= FGS_PROC_TRUNC_CGROUP;
	fgs_barrier_var(pos);
	if (pos > FGS_PATH_MAX * 2 + FGS_ARGS_MAX)
		return 0;
	return fgs_copy_path(&b->data[pos], &p);
}

static __always_inline void fgs_exec_ids(struct fgs_exec_record *r, struct task_struct *task,
					 pid_t old_pid)
{
	struct task_struct *parent = task->real_parent;
	const struct cred *cred = task->cred;
	struct fgs_process_state *ps;

	r->tgid = task->tgid;
	r->tid = old_pid;
	r->parent_tgid = parent->tgid;
	r->start_boottime = task->start_boottime;
	r->flags = FGS_PROC_EXECVE;
	/* The first exec after a fork is flagged clone, as users expect. */
	ps = bpf_map_lookup_elem(&execve_map, &r->tgid);
	if (ps && (ps->flags & FGS_PROC_CLONE))
		r->flags |= FGS_PROC_CLONE;
	ps = bpf_map_lookup_elem(&execve_map, &r->parent_tgid);
	if (ps) {
		r->parent_ktime = ps->ktime;
	} else {
		r->parent_ktime = 0;
		r->flags |= FGS_PROC_PARENT_MISS;
	}
	r->uid = cred->uid.val;
	r->euid = cred->euid.val;
	r->gid = cred->gid.val;
	r->egid = cred->egid.val;
	r->auid = fgs_read_auid(task);
	r->nspid = fgs_task_upid(task).nr;
	fgs_read_caps(&r->caps, cred);
	fgs_read_ns(&r->ns, task);
}

/* execve_map entry of an exec: identity, credentials and the binary's head. */
static __always_inline void fgs_exec_state(struct fgs_process_scratch *s)
{
	struct fgs_exec_record *r = &s->exec.rec;
	struct fgs_process_state *st = &s->state;
	__u64 n = r->binary_len, cwd;

	__builtin_memset(st, 0, sizeof(*st));
	st->ktime = r->hdr.ktime;
	st->parent_ktime = r->parent_ktime;
	st->parent_tgid = r->parent_tgid;
	st->flags = r->flags & ~FGS_PROC_CLONE;
	st->uid = r->uid;
	st->euid = r->euid;
	st->auid = r->auid;
	st->binary_len = n;
	st->caps = r->caps;
	st->ns = r->ns;
	if (n > FGS_BINARY_STATE - 1)
		n = FGS_BINARY_STATE - 1;
	cwd = r->cwd_len;
	fgs_barrier_var(cwd);
	fgs_barrier_var(n);
	if (cwd > FGS_PATH_MAX || n > FGS_BINARY_STATE - 1)
		return;
	bpf_probe_read_kernel(st->binary, n, &s->exec.data[cwd]);
	bpf_map_update_elem(&execve_map, &r->tgid, st, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fgs_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fgs_process_scratch *s = fgs_scratch();
	struct fgs_config cfg = fgs_read_config();
	struct fgs_exec_buf *b;
	__u32 cwd, bin, args, cg, mode;
	__u64 size, cur, filename;

	if (!s)
		return 0;
	b = &s->exec;
	b->rec.hdr.op = FGS_OP_EXEC;
	b->rec.hdr.ktime = bpf_ktime_get_boot_ns();
	fgs_exec_ids(&b->rec, task, old_pid);

	/* The lengths come back unknown to the verifier: each is checked so it
	 * knows every offset's bound. sched_process_exec runs in the task that
	 * execs (task == current): the global functions get it as a number. */
	cur = bpf_get_current_task();
	cwd = fgs_exec_cwd(cur, cfg.flags);
	if (cwd > FGS_PATH_MAX)
		return 0;
	filename = (__u64)BPF_CORE_READ(bprm, filename);
	mode = ((__u64)BPF_CORE_READ(bprm, interp) != filename ? FGS_BIN_SCRIPT : 0) |
	       (cfg.flags & FGS_CFG_BINARY_RESOLVED ? FGS_BIN_RESOLVED : 0);
	bin = fgs_exec_binary(cur, cwd, filename, (__u64)BPF_CORE_READ(bprm, file), mode);
	if (bin > FGS_PATH_MAX)
		return 0;
	args = fgs_exec_args(cwd + bin, (__u64)BPF_CORE_READ(task, mm), cfg.max_argv_bytes);
	if (args > FGS_ARGS_MAX)
		return 0;
	cg = fgs_exec_cgroup(cwd + bin + args, (__u64)BPF_CORE_READ(task, cgroups, dfl_cgrp, kn));
	if (cg > FGS_PATH_MAX)
		return 0;
	b->rec.cwd_len = cwd;
	b->rec.binary_len = bin;
	b->rec.args_len = args;
	b->rec.cgroup_len = cg;
	b->rec.pad = 0;
	size = sizeof(b->rec) + cwd + bin + args + cg;
	fgs_barrier_var(size);
	if (size > sizeof(*b))
		return 0;
	b->rec.hdr.size = size;
	fgs_output(b, size, FGS_OP_EXEC);
	fgs_exec_state(s);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fgs_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fgs_process_scratch *s;
	struct fgs_process_state *ps;
	struct fgs_clone_record *r;
	__u32 tgid = child->tgid;

	if (tgid != (__u32)child->pid) /* a new thread */
		return 0;
	s = fgs_scratch();
	if (!s)
		return 0;
	r = &s->clone;
	r->hdr.op = FGS_OP_CLONE;
	r->hdr.size = sizeof(*r);
	r->hdr.ktime = bpf_ktime_get_boot_ns();
	r->tgid = tgid;
	r->parent_tgid = child->real_parent->tgid;
	r->start_boottime = child->start_boottime;
	r->nspid = fgs_task_upid(child).nr;
	r->flags = FGS_PROC_CLONE;

	ps = bpf_map_lookup_elem(&execve_map, &r->parent_tgid);
	if (ps) {
		s->state = *ps;
		r->parent_ktime = ps->ktime;
	} else {
		__builtin_memset(&s->state, 0, sizeof(s->state));
		r->parent_ktime = 0;
		r->flags |= FGS_PROC_PARENT_MISS;
	}
	s->state.ktime = r->start_boottime;
	s->state.parent_ktime = r->parent_ktime;
	s->state.parent_tgid = r->parent_tgid;
	s->state.flags = (s->state.flags & ~(FGS_PROC_EXECVE | FGS_PROC_PROCFS | FGS_PROC_PARENT_MISS)) |
			 r->flags;
	bpf_map_update_elem(&execve_map, &tgid, &s->state, BPF_ANY);
	fgs_output(r, sizeof(*r), FGS_OP_CLONE);
	return 0;
}

static __always_inline __u32 fgs_exit_code(struct task_struct *task)
{
	struct signal_struct *sig = task->signal;

	if (sig->flags & FGS_SIGNAL_GROUP_EXIT)
		return sig->group_exit_code;
	return task->exit_code;
}

/* 6.16 added a group_dead argument; only the task is read, on every kernel. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(fgs_exit, struct task_struct *task)
{
	struct fgs_process_scratch *s;
	struct fgs_process_state *ps;
	struct fgs_exit_record *r;
	__u32 tgid;

	/* do_exit decrements live before this tracepoint: 0 means the last
	 * thread of the group is going, i.e. the process exits. */
	if (task->signal->live.counter != 0)
		return 0;
	s = fgs_scratch();
	if (!s)
		return 0;
	tgid = task->tgid;
	r = &s->exit;
	r->hdr.op = FGS_OP_EXIT;
	r->hdr.size = sizeof(*r);
	r->hdr.ktime = bpf_ktime_get_boot_ns();
	r->tgid = tgid;
	r->tid = task->pid;
	r->start_boottime = task->start_boottime;
	r->exit_code = fgs_exit_code(task);
	ps = bpf_map_lookup_elem(&execve_map, &tgid);
	if (ps) {
		r->ktime = ps->ktime;
		r->flags = ps->flags;
	} else {
		r->ktime = r->start_boottime;
		r->flags = FGS_PROC_MISS;
	}
	fgs_output(r, sizeof(*r), FGS_OP_EXIT);
	bpf_map_delete_elem(&execve_map, &tgid);
	return 0;
}
