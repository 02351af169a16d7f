/** Names accepted in TracingPolicy documents and what they normalize to. */
import type { NamespaceInums } from "../../decode/process";

export const ARG_TYPES = [
  "int", "uint32", "sint32", "uint64", "sint64", "size_t", "sizet", "long",
  "string", "char_buf", "char_iovec", "fd", "file", "path", "filename",
  "skb", "sock", "cred", "nop",
  /* current language spellings */
  "int64", "int32",
  /* current language: kernel-struct types */
  "sockaddr", "socket", "syscall64", "capability", "linux_binprm", "kiocb", "net_device", "module",
  "bpf_attr", "bpf_map", "user_namespace", "dentry", "iov_iter", "load_info", "perf_event",
  /* current language, refused with a reason (validate.ts) */
  "sockaddr_un", "bpf_prog", "bpf_cmd",
  "kernel_cap_t", "cap_inheritable", "cap_permitted", "cap_effective", "data_loc", "const_buf",
  "int8", "int16", "uint8", "uint16", "ulong", "auto",
] as const;
export type ArgTypeSpelling = (typeof ARG_TYPES)[number];
export type ArgType = Exclude<ArgTypeSpelling, "sizet" | "int64" | "int32">;

const TYPE_ALIASES: Readonly<Partial<Record<ArgTypeSpelling, ArgType>>> = { sizet: "size_t", int64: "sint64", int32: "sint32" };

export function normalizeArgType(t: ArgTypeSpelling): ArgType {
  return TYPE_ALIASES[t] ?? (t as ArgType);
}

export const INT_TYPES: ReadonlySet<ArgType> = new Set([
  "int", "uint32", "sint32", "uint64", "sint64", "size_t", "long", "syscall64", "capability",
]);

/** Types of the current language not supported here yet, and why. */
export const UNSUPPORTED_TYPES: Readonly<Partial<Record<ArgType, string>>> = {
  sockaddr_un: "not yet supported (sockaddr reports the family of a unix address)",
  bpf_prog: "not yet supported",
  bpf_cmd: "not yet supported (use int: the command number)",
  kernel_cap_t: "not yet supported (use cred for a task's capabilities)",
  cap_inheritable: "not yet supported (use cred)",
  cap_permitted: "not yet supported (use cred)",
  cap_effective: "not yet supported (use cred)",
  data_loc: "not yet supported",
  const_buf: "not yet supported",
  int8: "not yet supported (use int and Mask)",
  int16: "not yet supported (use int and Mask)",
  uint8: "not yet supported (use uint32 and Mask)",
  uint16: "not yet supported (use uint32 and Mask)",
  ulong: "not yet supported (use uint64)",
  auto: "not yet supported: name the type",
};
/** Types whose value is text (a string, a buffer or a resolved file name). */
export const TEXT_TYPES: ReadonlySet<ArgType> = new Set([
  "string", "char_buf", "char_iovec", "fd", "file", "path", "filename",
  /* current language: compared as their path, name or bytes */
  "linux_binprm", "kiocb", "net_device", "module", "dentry", "load_info", "iov_iter",
]);
export const SIZED_BUFFER_TYPES: ReadonlySet<ArgType> = new Set(["char_buf", "char_iovec"]);

export const ARG_OPERATORS = [
  "Equal", "NotEqual", "Prefix", "Postfix", "Mask", "GT", "LT", "In", "NotIn",
  "eq", "neq", "prefix", "postfix", "gt", "lt",
  /* current language: a set kept in a map upstream; here the matcher's own values */
  "InMap", "NotInMap",
  /* current language: upstream's long spellings of GT / LT */
  "GreaterThan", "LessThan",
  /* current language: socket operators (netops.ts) */
  "SAddr", "NotSAddr", "DAddr", "NotDAddr", "SPort", "NotSPort", "DPort", "NotDPort",
  "SPortPriv", "NotSPortPriv", "NotSportPriv", "DPortPriv", "NotDPortPriv", "Family", "Protocol", "State",
  /* current language, refused with a reason (validate.ts) */
  "NotPrefix", "NotPostfix", "InRange", "NotInRange", "SubString", "SubStringIgnCase",
  "CapabilitiesGained", "FileType", "NotFileType", "CelExpr",
] as const;
export type ArgOperatorSpelling = (typeof ARG_OPERATORS)[number];
export type ArgOperator = "Equal" | "NotEqual" | "Prefix" | "Postfix" | "Mask" | "GT" | "LT" | "In" | "NotIn"
  /* current language */
  | "NotPrefix" | "NotPostfix" | "InRange" | "NotInRange" | "FileType" | "NotFileType";
/** Operators of the current language that fgs does not evaluate yet; refusing
 * them keeps a policy from matching (or killing) more than it says. */
export const UNSUPPORTED_OPERATORS: ReadonlySet<string> = new Set([
  "SubString", "SubStringIgnCase", "CapabilitiesGained", "CelExpr",
]);

const OPERATOR_ALIASES: Readonly<Record<string, ArgOperator>> = {
  eq: "Equal", neq: "NotEqual", prefix: "Prefix", postfix: "Postfix", gt: "GT", lt: "LT",
  InMap: "In", NotInMap: "NotIn", GreaterThan: "GT", LessThan: "LT",
};
/** Only for operators that are neither socket operators nor unsupported. */
export function normalizeArgOperator(op: ArgOperatorSpelling): ArgOperator {
  return OPERATOR_ALIASES[op] ?? (op as ArgOperator);
}
export const INT_OPERATORS: ReadonlySet<ArgOperator> = new Set(["Equal", "NotEqual", "In", "NotIn", "GT", "LT", "Mask", "InRange", "NotInRange"]);
export const TEXT_OPERATORS: ReadonlySet<ArgOperator> = new Set(["Equal", "NotEqual", "In", "NotIn", "Prefix", "Postfix", "NotPrefix", "NotPostfix"]);

export const SET_OPERATORS = ["In", "NotIn"] as const;
export type SetOperator = (typeof SET_OPERATORS)[number];
/** matchBinaries (current language adds the prefix / postfix forms) */
export const BINARY_OPERATORS = ["In", "NotIn", "Prefix", "NotPrefix", "Postfix", "NotPostfix"] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

export const NAMESPACES = [
  "Uts", "Ipc", "Mnt", "Pid", "PidForChildren", "Net", "Time", "TimeForChildren", "Cgroup", "User",
] as const;
export type NamespaceType = (typeof NAMESPACES)[number];
/** Position of each namespace in the kernel-side tables (bpf/generic/config.h). */
export const NAMESPACE_INDEX: Readonly<Record<NamespaceType, number>> = {
  Uts: 0, Ipc: 1, Mnt: 2, Pid: 3, PidForChildren: 4, Net: 5, Time: 6, TimeForChildren: 7, Cgroup: 8, User: 9,
};
/** /proc/<pid>/ns/<file> for each namespace type (for host_ns). */
export const NAMESPACE_PROC_FILE: Readonly<Record<NamespaceType, keyof NamespaceInums>> = {
  Uts: "uts", Ipc: "ipc", Mnt: "mnt", Pid: "pid", PidForChildren: "pid_for_children", Net: "net",
  Time: "time", TimeForChildren: "time_for_children", Cgroup: "cgroup", User: "user",
};

/** Namespace inode numbers by policy namespace type. */
export function namespacesByType(inums: NamespaceInums): ReadonlyMap<NamespaceType, number> {
  return new Map(NAMESPACES.map((ns) => [ns, inums[NAMESPACE_PROC_FILE[ns]]]));
}

export const CAP_SET_TYPES = ["Effective", "Inheritable", "Permitted"] as const;
export type CapSetType = (typeof CAP_SET_TYPES)[number];

/** Linux capability numbers (include/uapi/linux/capability.h). */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4,
  CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30, CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
  /* The API's CapabilitiesType enum spells this one without the prefix. */
  DAC_OVERRIDE: 1,
};

export const ACTIONS = [
  "Post", "FollowFD", "UnfollowFD", "CopyFD", "Sigkill", "Override", "NoPost", "GetUrl", "DnsLookup", "Signal",
  /* current language (validate.ts says what each does here) */
  "TrackSock", "UntrackSock", "NotifyEnforcer", "CleanupEnforcerNotification", "Set",
] as const;

export const KINDS = ["TracingPolicy", "TracingPolicyNamespaced"] as const;
export type PolicyKind = (typeof KINDS)[number];
export const API_VERSION = "cilium.io/v1alpha1";
