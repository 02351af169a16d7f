/* Records of policy hooks (FGS_OP_KPROBE, FGS_OP_TRACEPOINT).
 * src/decode/generic.ts mirrors these layouts. A record is the fixed part
 * followed by data_len bytes of encoded arguments; arg_off[i] is where
 * argument i starts in that data, 0xffff when it is absent (the return value,
 * when present, is at arg_off[GEN_MAX_ARGS]). Each encoded argument is a struct gen_arg_hdr followed by
 * len payload bytes, padded to 8. */
#ifndef FGS_GENERIC_RECORDS_H
#define FGS_GENERIC_RECORDS_H

#include "records.h"

#define GEN_MAX_ARGS     6
#define GEN_ARG_SLOTS    (GEN_MAX_ARGS + 1) /* args, then the return value */
#define GEN_NO_ARG       0xffff
#define GEN_PAYLOAD_MAX  4096               /* bytes of one argument's payload */
#define GEN_DATA_SOFT    16384              /* arguments start below this offset */
#define GEN_DATA_MAX     (GEN_DATA_SOFT + GEN_PAYLOAD_MAX + 64)

/* What an encoded argument holds (gen_arg_hdr.type). */
enum gen_arg_type {
	GEN_T_NOP = 0,
	GEN_T_INT = 1,      /* int, sint32: value sign-extended */
	GEN_T_UINT32 = 2,
	GEN_T_SINT64 = 3,   /* sint64 */
	GEN_T_UINT64 = 4,
	GEN_T_SIZE = 5,     /* size_t */
	GEN_T_LONG = 6,
	GEN_T_STRING = 7,   /* payload: bytes, no NUL */
	GEN_T_CHAR_BUF = 8, /* payload: bytes; value: original size */
	GEN_T_CHAR_IOVEC = 9,
	GEN_T_FD = 10,      /* value: fd; payload: the file's name (may be empty) */
	GEN_T_FILE = 11,    /* payload: full path */
	GEN_T_PATH = 12,
	GEN_T_FILENAME = 13,
	GEN_T_SKB = 14,     /* payload: struct gen_skb */
	GEN_T_SOCK = 15,    /* payload: struct gen_sock */
	GEN_T_CRED = 16,    /* payload: struct gen_cred */
	/* kernel-struct types of the current TracingPolicy language */
	GEN_T_SOCKADDR = 17,    /* payload: struct gen_sockaddr */
	GEN_T_SOCKET = 18,      /* struct socket: payload struct gen_sock of its sk */
	GEN_T_SYSCALL64 = 19,   /* value: the syscall number */
	GEN_T_CAPABILITY = 20,  /* value: the capability number */
	GEN_T_LINUX_BINPRM = 21,/* payload: path of bprm->file */
	GEN_T_KIOCB = 22,       /* payload: path of ki_filp */
	GEN_T_NET_DEVICE = 23,  /* payload: the device name */
	GEN_T_MODULE = 24,      /* payload: the module name; value: its taint bits */
	GEN_T_BPF_ATTR = 25,    /* payload: struct gen_bpf_attr (BPF_PROG_LOAD fields) */
	GEN_T_BPF_MAP = 26,     /* payload: struct gen_bpf_map */
	GEN_T_USER_NS = 27,     /* payload: struct gen_user_ns */
	GEN_T_DENTRY = 28,      /* payload: path from its filesystem's root; value: i_mode */
	GEN_T_IOV_ITER = 29,    /* payload: the iterator's bytes; value: its byte count */
	GEN_T_LOAD_INFO = 30,   /* as GEN_T_MODULE, for the module being loaded; GEN_AF_SIG_* */
	GEN_T_PERF_EVENT = 31,  /* payload: struct gen_perf_event */
};

/* gen_arg_hdr.flags */
#define GEN_AF_TRUNCATED  (1U << 0) /* payload cut; value holds the original size */
#define GEN_AF_ERROR      (1U << 1) /* could not be read */
#define GEN_AF_FD_FOLLOW  (1U << 2) /* fd name from FollowFD state */
#define GEN_AF_FD_TABLE   (1U << 3) /* fd name from the task's fd table */
#define GEN_AF_UNLINKED   (1U << 4) /* path of a deleted file */
#define GEN_AF_DROPPED    (1U << 5) /* no room left in the record */
#define GEN_AF_SIG_KNOWN  (1U << 6) /* load_info: the signature was checked (CONFIG_MODULE_SIG) */
#define GEN_AF_SIG_OK     (1U << 7) /* load_info: ... and verified */

struct gen_arg_hdr {
	__u8 type;   /* enum gen_arg_type */
	__u8 flags;  /* GEN_AF_* */
	__u16 pad;
	__u32 len;   /* payload bytes following this header */
	__u64 value; /* integers: the value; buffers: original size; fd: the fd */
};

struct gen_skb {
	__u32 hash;
	__u32 len;
	__u32 priority;
	__u32 mark;
	__u16 family;   /* AF_INET / AF_INET6, 0 when not IP */
	__u8 proto;     /* IPPROTO_* */
	__u8 pad;
	__u16 sport;    /* host order */
	__u16 dport;
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u32 sec_path_len;
	__u32 sec_path_olen;
};

struct gen_sock {
	__u16 family;
	__u16 type;     /* SOCK_STREAM ... */
	__u16 protocol; /* IPPROTO_* */
	__u16 sport;    /* host order */
	__u16 dport;
	__u16 state;    /* skc_state (TCP_ESTABLISHED ...) */
	__u32 mark;
	__u32 priority;
	__u32 pad2;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* A struct sockaddr: AF_INET / AF_INET6 address and port (host order). */
struct gen_sockaddr {
	__u16 family;
	__u16 port;
	__u32 pad;
	__u8 addr[16];  /* IPv4 in the first 4 bytes */
};

struct gen_bpf_attr {
	__u32 prog_type;
	__u32 insn_cnt;
	char prog_name[16];
};

struct gen_bpf_map {
	__u32 map_type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	char name[16];
};

struct gen_user_ns {
	__s32 level;
	__u32 uid;      /* owner */
	__u32 gid;      /* group */
	__u32 inum;
};

#define GEN_MODULE_NAME 64  /* MODULE_NAME_LEN and more */
#define GEN_KSYM_NAME   128 /* KSYM_NAME_LEN */

/* A struct perf_event: the kprobe (or uprobe) it was opened for. */
struct gen_perf_event {
	__u64 config;
	__u64 probe_offset;
	__u32 type;     /* perf_event_attr.type (PERF_TYPE_*, or a dynamic PMU) */
	__u32 pad;
	char kprobe_func[GEN_KSYM_NAME];
};

struct gen_cred {
	__u64 permitted;
	__u64 effective;
	__u64 inheritable;
};

/* The action the matched selector took (KprobeAction numbering). */
enum gen_action {
	GEN_ACT_NONE = 0,
	GEN_ACT_POST = 1,
	GEN_ACT_FOLLOWFD = 2,
	GEN_ACT_SIGKILL = 3,
	GEN_ACT_UNFOLLOWFD = 4,
	GEN_ACT_OVERRIDE = 5,
	GEN_ACT_COPYFD = 6,
	GEN_ACT_SIGNAL = 10, /* KprobeAction's value; the signal is gen_action_cfg.err */
	GEN_ACT_NOTIFY_ENFORCER = 13, /* as SIGNAL, sent from the hook itself */
};

/* gen_record.flags */
#define GEN_RF_RETURN      (1U << 0) /* ret and arg_off[nargs] are set */
#define GEN_RF_DATA_FULL   (1U << 1) /* some argument did not fit */

struct gen_record {
	struct fgs_record_header hdr;
	__u32 tgid;
	__u32 tid;
	__u32 hook_id;  /* assigned by user space when the policy was added */
	__u8 action;    /* enum gen_action */
	__u8 nargs;
	__u8 flags;     /* GEN_RF_* */
	__u8 selector;  /* matched selector + 1; 0 when the hook has none */
	__u32 data_len;
	__u32 pad;
	__s64 ret;
	__u16 arg_off[8]; /* GEN_ARG_SLOTS used */
	/* data_len bytes of encoded arguments follow */
};

#endif
