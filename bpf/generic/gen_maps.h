/* Maps of a policy hook object. gen_fd_names is shared by every hook (the
 * generic_maps object creates it; hook objects reuse it by name); the others
 * belong to one hook. */
#ifndef FGS_GENERIC_MAPS_H
#define FGS_GENERIC_MAPS_H

#include "generic/config.h"

#define GEN_FD_NAME_MAX   1024
#define GEN_FD_ENTRIES    65536
#define GEN_PENDING_MAX   8192
#define GEN_STR_ENTRIES   1024
#define GEN_TP_HEAD       64 /* common fields, syscall nr and the 6 syscall arguments */

struct gen_fd_key {
	__u32 tgid;
	__u32 fd;
};

struct gen_fd_name {
	__u32 len;
	__u32 flags; /* GEN_AF_TRUNCATED when the name was cut */
	char name[GEN_FD_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEN_FD_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gen_fd_key);
	__type(value, struct gen_fd_name);
} gen_fd_names SEC(".maps");

struct gen_event_buf {
	struct gen_record rec;
	/* one payload of slack past the last argument keeps masked writes in bounds */
	__u8 data[GEN_DATA_MAX + GEN_PAYLOAD_MAX];
};

/* Raw argument values (pointers or integers) and their size arguments. */
struct gen_raw {
	__u64 arg[GEN_MAX_ARGS];
	__u64 size[GEN_MAX_ARGS];
};

/* gen_task.have: the parts read so far in this call (filled on demand) */
#define GEN_TK_IDS   (1U << 5) /* tgid, pid */
#define GEN_TK_NSPID (1U << 0) /* nspid */
#define GEN_TK_NS    (1U << 1) /* ns[] */
#define GEN_TK_CAPS  (1U << 2) /* caps[], and ns[9] (the user namespace) */
#define GEN_TK_EXEC  (1U << 3) /* has_state, exec_ns[], exec_caps[] */
#define GEN_TK_BIN   (1U << 4) /* bin_found */

/* What selectors look at: the calling task now and at its exec. */
struct gen_task {
	__u32 tgid;
	__u32 pid;
	__u32 nspid;
	__u32 has_state;   /* execve_map has the process */
	__u32 have;        /* GEN_TK_* */
	__u32 bin_found;   /* bit si: the binary is in selector si's matchBinaries values */
	__u32 ns[GEN_NS_COUNT];
	__u32 exec_ns[GEN_NS_COUNT];
	__u64 caps[3];     /* GEN_CAP_* order */
	__u64 exec_caps[3];
};

/* A call between entry and exit. */
struct gen_pending {
	struct gen_raw raw;
	__s32 decided;     /* selector decided at entry, -1: none yet */
	__u32 mask;        /* selectors waiting for their matchReturnArgs */
	struct gen_event_buf ev;
};

/* p is built here at entry, then copied to gen_pending_map when an exit
 * program completes the record. */
struct gen_scratch {
	struct gen_pending p;
	struct gen_task task;
	__u32 encoded;     /* p.ev holds the encoded arguments */
	__u32 pad;
	__u8 tp_head[GEN_TP_HEAD]; /* tracepoints: the record's first bytes */
	struct pt_regs regs;       /* kprobes, syscall wrappers: the registers */
	struct gen_fd_name fdname;
	struct gen_str_key str;
	struct gen_lpm_key lpm;
	struct gen_bin_key bin;
	__u8 tail[GEN_STR_MAX + 1];
	/* unused: keeps the payload layouts in the BTF for tests/policy-layout.test.ts */
	union {
		struct gen_arg_hdr hdr;
		struct gen_skb skb;
		struct gen_sock sock;
		struct gen_cred cred;
		struct gen_sockaddr sockaddr;
		struct gen_bpf_attr bpf_attr;
		struct gen_bpf_map bpf_map;
		struct gen_user_ns user_ns;
		struct gen_perf_event perf_event;
	} layouts;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_hook_cfg);
} gen_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_scratch);
} gen_scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEN_PENDING_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gen_pending);
} gen_pending_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEN_STR_ENTRIES);
	__type(key, struct gen_str_key);
	__type(value, __u8);
} gen_str_eq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEN_STR_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gen_lpm_key);
	__type(value, __u8);
} gen_str_prefix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEN_STR_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gen_lpm_key);
	__type(value, __u8);
} gen_str_postfix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEN_STR_ENTRIES);
	__type(key, struct gen_bin_key);
	__type(value, __u8);
} gen_binaries SEC(".maps");

/* matchBinaries resolved once per execution: the gen_binaries lookups of a
 * process, valid while its execve_map entry keeps the same identity. */
#define GEN_BIN_CACHE_ENTRIES 4096 /* ~360 KB per hook, like gen_binaries */

struct gen_bin_memo {
	__u64 ktime;      /* execve_map entry's ktime; 0: no entry */
	__u32 binary_len;
	__u32 found;      /* as gen_task.bin_found */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GEN_BIN_CACHE_ENTRIES);
	__type(key, __u32);
	__type(value, struct gen_bin_memo);
} gen_bin_cache SEC(".maps");

static __always_inline struct gen_scratch *gen_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gen_scratch_map, &zero);
}

static __always_inline struct gen_hook_cfg *gen_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gen_cfg, &zero);
}

#endif
