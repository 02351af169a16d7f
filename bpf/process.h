/* Process lifecycle records (exec, clone, exit) and the per-process state
 * kept in execve_map. src/decode/process.ts mirrors these layouts and
 * tests/btf-layout.test.ts checks them against the compiled BTF. */
#ifndef FGS_PROCESS_H
#define FGS_PROCESS_H

#include "records.h"

/* Process flags: in records, in execve_map and (as words) in Process.flags. */
#define FGS_PROC_EXECVE          (1U << 0)
#define FGS_PROC_EXECVEAT        (1U << 1)
#define FGS_PROC_PROCFS          (1U << 2)  /* learned from /proc by user space */
#define FGS_PROC_CLONE           (1U << 3)  /* a fork, or the first exec after one */
#define FGS_PROC_TRUNC_FILENAME  (1U << 4)
#define FGS_PROC_TRUNC_ARGS      (1U << 5)
#define FGS_PROC_ERROR_FILENAME  (1U << 6)
#define FGS_PROC_ERROR_ARGS      (1U << 7)
#define FGS_PROC_NO_CWD          (1U << 8)
#define FGS_PROC_ROOT_CWD        (1U << 9)
#define FGS_PROC_ERROR_CWD       (1U << 10)
#define FGS_PROC_MISS            (1U << 11) /* no execve_map entry for this process */
#define FGS_PROC_PARENT_MISS     (1U << 12) /* no execve_map entry for the parent */
#define FGS_PROC_SCRIPT          (1U << 13) /* binfmt handed over to an interpreter */
#define FGS_PROC_TRUNC_CGROUP    (1U << 14)
#define FGS_PROC_UNLINKED        (1U << 15) /* binary's dentry no longer linked */
#define FGS_PROC_AUID            (1U << 16) /* auid read from /proc (user space) */

/* Capture limits. Paths are built in a buffer of FGS_PATH_MAX bytes. */
#define FGS_PATH_MAX        4096
#define FGS_ARGS_DEFAULT    4096
#define FGS_ARGS_MAX        16384
#define FGS_BINARY_STATE    256
/* cwd | binary | args | cgroup, each at most its own limit */
#define FGS_EXEC_DATA_MAX   (FGS_PATH_MAX * 3 + FGS_ARGS_MAX)

struct fgs_caps {
	__u64 effective;
	__u64 permitted;
	__u64 inheritable;
};

/* Inode numbers; pid is the task's active pid namespace. */
struct fgs_namespaces {
	__u32 uts;
	__u32 ipc;
	__u32 mnt;
	__u32 pid;
	__u32 pid_for_children;
	__u32 net;
	__u32 time;
	__u32 time_for_children;
	__u32 cgroup;
	__u32 user;
};

/* execve_map value, keyed by tgid. ktime identifies this execution: exec
 * time for an exec, task start for a clone or a process seen in /proc. */
struct fgs_process_state {
	__u64 ktime;
	__u64 parent_ktime;
	__u32 parent_tgid;
	__u32 flags;
	__u32 uid;
	__u32 euid;
	__u32 auid;
	__u32 binary_len; /* full length; binary holds at most 255 bytes of it */
	struct fgs_caps caps;
	struct fgs_namespaces ns;
	char binary[FGS_BINARY_STATE]; /* zero-padded */
};

/* FGS_OP_EXEC. hdr.ktime is the exec time (the process's ktime). The fixed
 * part is followed by cwd_len bytes of cwd, binary_len of binary, args_len of
 * argv (NUL-separated, argv[0] first) and cgroup_len of cgroup path. */
struct fgs_exec_record {
	struct fgs_record_header hdr;
	__u32 tgid;
	__u32 tid;          /* the thread that called execve (before de_thread) */
	__u32 parent_tgid;
	__u32 flags;
	__u64 start_boottime;
	__u64 parent_ktime; /* 0 when the parent has no execve_map entry */
	__u64 cgroup_id;
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 egid;
	__u32 auid;
	__u32 nspid;        /* tgid as seen in its own pid namespace */
	struct fgs_caps caps;
	struct fgs_namespaces ns;
	__u16 cwd_len;
	__u16 binary_len;
	__u16 args_len;
	__u16 cgroup_len;
	__u32 args_total;   /* argv bytes in the process (captured or not) */
	__u32 pad;
};

/* FGS_OP_CLONE: a fork that created a new thread group. hdr.ktime is the
 * event time; start_boottime is the child's identity ktime. */
struct fgs_clone_record {
	struct fgs_record_header hdr;
	__u32 tgid;
	__u32 parent_tgid;
	__u64 start_boottime;
	__u64 parent_ktime;
	__u32 flags;
	__u32 nspid;
};

/* FGS_OP_EXIT: the last thread of a group exited. ktime is the execve_map
 * entry's (falls back to start_boottime with FGS_PROC_MISS). exit_code is the
 * wait status: (status << 8) | signal, 0x80 for a core dump. */
struct fgs_exit_record {
	struct fgs_record_header hdr;
	__u32 tgid;
	__u32 tid;
	__u64 ktime;
	__u64 start_boottime;
	__u32 exit_code;
	__u32 flags;
};

#endif
