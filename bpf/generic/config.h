/* Per-hook configuration written by user space (src/policy/plan/compile.ts) into
 * the gen_cfg map before the hook is attached: where each argument comes
 * from, and the hook's selectors compiled to fixed tables. */
#ifndef FGS_GENERIC_CONFIG_H
#define FGS_GENERIC_CONFIG_H

#include "generic/records.h"

#define GEN_MAX_SELECTORS 5
#define GEN_MAX_PID_M     2
#define GEN_MAX_ARG_M     5
#define GEN_MAX_RET_M     2
#define GEN_MAX_NS_M      10
#define GEN_MAX_CAP_M     3
#define GEN_MAX_ACTIONS   3
#define GEN_MAX_VALUES    8
#define GEN_NS_COUNT      10
#define GEN_STR_MAX       255 /* bytes of a string value compared in the kernel */
#define GEN_RET_SLOT      GEN_MAX_ARGS

/* gen_arg_cfg.flags */
#define GEN_CF_USER_FIRST  (1U << 0) /* pointer to user memory (syscall args) */
#define GEN_CF_INLINE      (1U << 1) /* tracepoint array field: bytes in the record */
#define GEN_CF_DATA_LOC    (1U << 2) /* tracepoint __data_loc field */
#define GEN_CF_RETURN_COPY (1U << 3) /* read the buffer at return */
#define GEN_CF_SIGNED      (1U << 4) /* tracepoint field is signed: sign-extend */

/* Where an argument comes from. kprobe/fentry use slot/size_slot; tracepoints
 * use off/fsize/size_off/size_fsize (syscall tracepoints: 16 + 8 * index). */
struct gen_arg_cfg {
	__u8 type;       /* enum gen_arg_type */
	__u8 flags;      /* GEN_CF_* */
	__u8 slot;       /* argument position */
	__u8 size_slot;  /* 1-based position of the size argument; 0: none */
	__u16 off;       /* tracepoint field offset */
	__u16 fsize;     /* its size in bytes (array length for GEN_CF_INLINE) */
	__u16 size_off;
	__u16 size_fsize;
	__u32 pad;
};

/* Operators: In/NotIn of matchArgs are EQ/NEQ with several values. */
enum gen_op {
	GEN_OP_NONE = 0,
	GEN_OP_EQ = 1,
	GEN_OP_NEQ = 2,
	GEN_OP_PREFIX = 3,
	GEN_OP_POSTFIX = 4,
	GEN_OP_MASK = 5,
	GEN_OP_GT = 6,
	GEN_OP_LT = 7,
	/* current language */
	GEN_OP_NOTPREFIX = 8,
	GEN_OP_NOTPOSTFIX = 9,
	GEN_OP_INRANGE = 10,    /* values: [lo, hi] pairs, inclusive */
	GEN_OP_NOTINRANGE = 11,
	GEN_OP_FILETYPE = 12,   /* file/path: (i_mode & S_IFMT) among the values */
	GEN_OP_NOTFILETYPE = 13,
};
#define GEN_SET_IN    1
#define GEN_SET_NOTIN 2
/* matchBinaries only (current language): the path against prefix / postfix
 * tries, under text id GEN_BIN_TEXT_ID + selector index */
#define GEN_BIN_PREFIX     3
#define GEN_BIN_NOTPREFIX  4
#define GEN_BIN_POSTFIX    5
#define GEN_BIN_NOTPOSTFIX 6
#define GEN_BIN_TEXT_ID    250

#define GEN_PIDF_FOLLOW_FORKS (1U << 0)
#define GEN_PIDF_NS_PID       (1U << 1)
#define GEN_FOLLOW_DEPTH      32

struct gen_pid_m {
	__u8 op;     /* GEN_SET_* */
	__u8 flags;  /* GEN_PIDF_* */
	__u8 n;
	__u8 pad;
	__u32 values[GEN_MAX_VALUES];
};

#define GEN_KIND_INT  0
#define GEN_KIND_TEXT 1
/* Socket operators (netmatch.h): the field of a sock/skb/sockaddr argument
 * compared; op is GEN_OP_EQ (listed) or GEN_OP_NEQ (not listed). Addresses
 * are CIDRs in gen_str_prefix under id; ports are [lo, hi] ranges packed as
 * lo | hi << 16; family, protocol and state are plain values. */
#define GEN_KIND_SADDR    2
#define GEN_KIND_DADDR    3
#define GEN_KIND_SPORT    4
#define GEN_KIND_DPORT    5
#define GEN_KIND_FAMILY   6
#define GEN_KIND_PROTOCOL 7
#define GEN_KIND_STATE    8

struct gen_arg_m {
	__u8 arg;    /* position in the hook's args; GEN_RET_SLOT: the return value */
	__u8 op;     /* enum gen_op */
	__u8 n;      /* integer values used */
	__u8 kind;   /* GEN_KIND_* */
	__u32 id;    /* text: key prefix in the gen_str_* maps (1..255) */
	__u64 values[GEN_MAX_VALUES];
};

struct gen_ns_m {
	__u8 ns;     /* index into struct fgs_namespaces order */
	__u8 op;     /* GEN_SET_* */
	__u8 n;
	__u8 pad;
	__u32 values[GEN_MAX_VALUES];
};

#define GEN_CAP_EFFECTIVE   0
#define GEN_CAP_INHERITABLE 1
#define GEN_CAP_PERMITTED   2

struct gen_cap_m {
	__u8 set;    /* GEN_CAP_* */
	__u8 op;     /* GEN_SET_* */
	__u8 ns_cap; /* isNamespaceCapability */
	__u8 pad[5];
	__u64 mask;
};

#define GEN_ACTF_FROM_RETURN (1U << 0) /* the new fd is the return value */

struct gen_action_cfg {
	__u8 action;   /* enum gen_action */
	__u8 arg_fd;   /* argument positions */
	__u8 arg_name;
	__u8 flags;    /* GEN_ACTF_* */
	__s32 err;     /* Override */
};

struct gen_selector {
	__u8 npid;
	__u8 narg;
	__u8 nret;
	__u8 nns;
	__u8 ncap;
	__u8 ncapchg;
	__u8 nact;
	__u8 bin_op;     /* GEN_SET_*; 0: no matchBinaries */
	__u8 nschg_op;   /* GEN_SET_*; 0: no matchNamespaceChanges */
	__u8 pad;
	__u16 nschg_mask; /* bit i: namespace i */
	__u32 pad2;
	struct gen_pid_m pid[GEN_MAX_PID_M];
	struct gen_arg_m arg[GEN_MAX_ARG_M];
	struct gen_arg_m ret[GEN_MAX_RET_M];
	struct gen_ns_m ns[GEN_MAX_NS_M];
	struct gen_cap_m cap[GEN_MAX_CAP_M];
	struct gen_cap_m capchg[GEN_MAX_CAP_M];
	struct gen_action_cfg act[GEN_MAX_ACTIONS];
};

/* gen_hook_cfg.flags */
#define GEN_HF_SYSCALL    (1U << 0) /* kprobe/fentry on a syscall wrapper: args in the inner pt_regs */
#define GEN_HF_EXIT       (1U << 1) /* an exit program completes the record */
#define GEN_HF_TRACEPOINT (1U << 2) /* record op FGS_OP_TRACEPOINT */
#define GEN_HF_HAS_RET    (1U << 3) /* return: true */

struct gen_hook_cfg {
	__u32 hook_id;
	__u32 flags;        /* GEN_HF_* */
	__u8 nargs;
	__u8 nsel;
	__u16 pad;
	__u32 host_user_ns; /* user namespace inode of the host (isNamespaceCapability) */
	struct gen_arg_cfg args[GEN_MAX_ARGS];
	struct gen_arg_cfg ret;
	struct gen_selector sel[GEN_MAX_SELECTORS];
};

/* Keys of the text matcher maps. */
struct gen_str_key {
	__u32 id;
	__u32 len;
	__u8 s[256]; /* zero-padded */
};

struct gen_lpm_key {
	__u32 prefixlen; /* 8 (the id) + 8 * string bytes */
	__u8 id;
	__u8 s[GEN_STR_MAX];
};

struct gen_bin_key {
	__u32 sel;
	char path[256]; /* zero-padded, as execve_map keeps it */
};

#endif
