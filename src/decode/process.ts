/** Decoders for the process lifecycle records of bpf/process.h (exec, clone,
 * exit) and for execve_map values. Every offset below is checked against the
 * compiled object's BTF by tests/btf-layout.test.ts. */

import { HEADER, OP_CLONE, OP_EXEC, OP_EXIT } from "./records";

export { HEADER, OP_CLONE, OP_EXEC, OP_EXIT };

/** struct fgs_caps */
export const CAPS = { effective: 0, permitted: 8, inheritable: 16, bytes: 24 } as const;

/** struct fgs_namespaces, u32 inode numbers in this order */
export const NAMESPACE_FIELDS = [
  "uts",
  "ipc",
  "mnt",
  "pid",
  "pid_for_children",
  "net",
  "time",
  "time_for_children",
  "cgroup",
  "user",
] as const;
export const NAMESPACES_BYTES = 40;

/** struct fgs_exec_record (fixed part; cwd, binary, args, cgroup follow) */
export const EXEC = {
  tgid: 16,
  tid: 20,
  parent_tgid: 24,
  flags: 28,
  start_boottime: 32,
  parent_ktime: 40,
  cgroup_id: 48,
  uid: 56,
  euid: 60,
  gid: 64,
  egid: 68,
  auid: 72,
  nspid: 76,
  caps: 80,
  ns: 104,
  cwd_len: 144,
  binary_len: 146,
  args_len: 148,
  cgroup_len: 150,
  args_total: 152,
  bytes: 160,
} as const;

/** struct fgs_clone_record */
export const CLONE = { tgid: 16, parent_tgid: 20, start_boottime: 24, parent_ktime: 32, flags: 40, nspid: 44, bytes: 48 } as const;

/** struct fgs_exit_record */
export const EXIT = { tgid: 16, tid: 20, ktime: 24, start_boottime: 32, exit_code: 40, flags: 44, bytes: 48 } as const;

/** struct fgs_process_state (execve_map value) */
export const STATE = {
  ktime: 0,
  parent_ktime: 8,
  parent_tgid: 16,
  flags: 20,
  uid: 24,
  euid: 28,
  auid: 32,
  binary_len: 36,
  caps: 40,
  ns: 64,
  binary: 104,
  binary_bytes: 256,
  bytes: 360,
} as const;

/** struct fgs_config (fgs_config map value) */
export const CONFIG = { max_argv_bytes: 0, flags: 4, bytes: 8 } as const;
export const CONFIG_NO_CWD = 1;
/** FGS_CFG_BINARY_RESOLVED: process.binary is the resolved file, not execve's name */
export const CONFIG_BINARY_RESOLVED = 2;

/** Process flags (FGS_PROC_* in bpf/process.h). */
export const ProcFlag = {
  execve: 1 << 0,
  execveat: 1 << 1,
  procFS: 1 << 2,
  clone: 1 << 3,
  truncFilename: 1 << 4,
  truncArgs: 1 << 5,
  errorFilename: 1 << 6,
  errorArgs: 1 << 7,
  nocwd: 1 << 8,
  rootcwd: 1 << 9,
  errorCWD: 1 << 10,
  miss: 1 << 11,
  parentMiss: 1 << 12,
  script: 1 << 13,
  truncCgroup: 1 << 14,
  unlinked: 1 << 15,
  auid: 1 << 16,
} as const;

export interface Caps {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

export type NamespaceName = (typeof NAMESPACE_FIELDS)[number];
export type NamespaceInums = Record<NamespaceName, number>;

export interface ExecRecord {
  op: typeof OP_EXEC;
  /** exec time, boot clock: the process's identity ktime */
  ktime: bigint;
  tgid: number;
  tid: number;
  parentTgid: number;
  /** 0 when the kernel had no execve_map entry for the parent */
  parentKtime: bigint;
  flags: number;
  startBoottime: bigint;
  cgroupId: bigint;
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  auid: number;
  nspid: number;
  caps: Caps;
  ns: NamespaceInums;
  cwd: string;
  binary: string;
  /** argv as captured, argv[0] first; the last one may be cut when truncArgs */
  argv: string[];
  argsTotal: number;
  cgroup: string;
}

export interface CloneRecord {
  op: typeof OP_CLONE;
  /** when the record was made */
  time: bigint;
  tgid: number;
  parentTgid: number;
  /** the child's start: its identity ktime */
  ktime: bigint;
  parentKtime: bigint;
  flags: number;
  nspid: number;
}

export interface ExitRecord {
  op: typeof OP_EXIT;
  time: bigint;
  tgid: number;
  tid: number;
  /** identity ktime from execve_map (start time with the miss flag) */
  ktime: bigint;
  startBoottime: bigint;
  /** wait status: (code << 8) | signal */
  exitCode: number;
  flags: number;
}

export type ProcessRecord = ExecRecord | CloneRecord | ExitRecord;

export interface ProcessState {
  ktime: bigint;
  parentKtime: bigint;
  parentTgid: number;
  flags: number;
  uid: number;
  euid: number;
  auid: number;
  binary: string;
  binaryLen: number;
  caps: Caps;
  ns: NamespaceInums;
}

export class DecodeError extends Error {
  override name = "DecodeError";
}

// Invalid UTF-8 becomes U+FFFD: the JSON stays valid, the rest stays readable.
const utf8 = new TextDecoder("utf-8", { fatal: false });

export function decodeText(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function readCaps(v: DataView, off: number): Caps {
  return {
    effective: v.getBigUint64(off + CAPS.effective, true),
    permitted: v.getBigUint64(off + CAPS.permitted, true),
    inheritable: v.getBigUint64(off + CAPS.inheritable, true),
  };
}

export function readNamespaces(v: DataView, off: number): NamespaceInums {
  const ns = {} as NamespaceInums;
  NAMESPACE_FIELDS.forEach((name, i) => {
    ns[name] = v.getUint32(off + i * 4, true);
  });
  return ns;
}

/** Splits NUL-separated argv bytes; a trailing NUL ends the last argument. */
export function splitArgv(bytes: Uint8Array): string[] {
  if (bytes.byteLength === 0) return [];
  const end = bytes[bytes.byteLength - 1] === 0 ? bytes.byteLength - 1 : bytes.byteLength;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || bytes[i] === 0) {
      out.push(decodeText(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

function need(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.byteLength < size) throw new DecodeError(`${what} record of ${bytes.byteLength} bytes, need ${size}`);
}

export function decodeExec(bytes: Uint8Array): ExecRecord {
  need(bytes, EXEC.bytes, "exec");
  const v = viewOf(bytes);
  const cwdLen = v.getUint16(EXEC.cwd_len, true);
  const binaryLen = v.getUint16(EXEC.binary_len, true);
  const argsLen = v.getUint16(EXEC.args_len, true);
  const cgroupLen = v.getUint16(EXEC.cgroup_len, true);
  need(bytes, EXEC.bytes + cwdLen + binaryLen + argsLen + cgroupLen, "exec");
  let off = EXEC.bytes;
  const take = (n: number): Uint8Array => bytes.subarray(off, (off += n));
  return {
    op: OP_EXEC,
    ktime: v.getBigUint64(HEADER.ktime, true),
    tgid: v.getUint32(EXEC.tgid, true),
    tid: v.getUint32(EXEC.tid, true),
    parentTgid: v.getUint32(EXEC.parent_tgid, true),
    parentKtime: v.getBigUint64(EXEC.parent_ktime, true),
    flags: v.getUint32(EXEC.flags, true),
    startBoottime: v.getBigUint64(EXEC.start_boottime, true),
    cgroupId: v.getBigUint64(EXEC.cgroup_id, true),
    uid: v.getUint32(EXEC.uid, true),
    euid: v.getUint32(EXEC.euid, true),
    gid: v.getUint32(EXEC.gid, true),
    egid: v.getUint32(EXEC.egid, true),
    auid: v.getUint32(EXEC.auid, true),
    nspid: v.getUint32(EXEC.nspid, true),
    caps: readCaps(v, EXEC.caps),
    ns: readNamespaces(v, EXEC.ns),
    cwd: decodeText(take(cwdLen)),
    binary: decodeText(take(binaryLen)),
    argv: splitArgv(take(argsLen)),
    argsTotal: v.getUint32(EXEC.args_total, true),
    cgroup: decodeText(take(cgroupLen)),
  };
}

export function decodeClone(bytes: Uint8Array): CloneRecord {
  need(bytes, CLONE.bytes, "clone");
  const v = viewOf(bytes);
  return {
    op: OP_CLONE,
    time: v.getBigUint64(HEADER.ktime, true),
    tgid: v.getUint32(CLONE.tgid, true),
    parentTgid: v.getUint32(CLONE.parent_tgid, true),
    ktime: v.getBigUint64(CLONE.start_boottime, true),
    parentKtime: v.getBigUint64(CLONE.parent_ktime, true),
    flags: v.getUint32(CLONE.flags, true),
    nspid: v.getUint32(CLONE.nspid, true),
  };
}

export function decodeExit(bytes: Uint8Array): ExitRecord {
  need(bytes, EXIT.bytes, "exit");
  const v = viewOf(bytes);
  return {
    op: OP_EXIT,
    time: v.getBigUint64(HEADER.ktime, true),
    tgid: v.getUint32(EXIT.tgid, true),
    tid: v.getUint32(EXIT.tid, true),
    ktime: v.getBigUint64(EXIT.ktime, true),
    startBoottime: v.getBigUint64(EXIT.start_boottime, true),
    exitCode: v.getUint32(EXIT.exit_code, true),
    flags: v.getUint32(EXIT.flags, true),
  };
}

/** Decodes one process record; undefined for other ops. */
export function decodeRecord(bytes: Uint8Array): ProcessRecord | undefined {
  need(bytes, HEADER.bytes, "process");
  switch (viewOf(bytes).getUint32(HEADER.op, true)) {
    case OP_EXEC:
      return decodeExec(bytes);
    case OP_CLONE:
      return decodeClone(bytes);
    case OP_EXIT:
      return decodeExit(bytes);
    default:
      return undefined;
  }
}

/** What user space writes into execve_map; binaryLen is derived from binary. */
export type ProcessStateInit = Omit<ProcessState, "binaryLen">;

/** Encodes an execve_map value (used to seed processes found in /proc). */
export function encodeProcessState(s: ProcessStateInit): Uint8Array {
  const out = new Uint8Array(STATE.bytes);
  const v = viewOf(out);
  const bin = new TextEncoder().encode(s.binary);
  v.setBigUint64(STATE.ktime, s.ktime, true);
  v.setBigUint64(STATE.parent_ktime, s.parentKtime, true);
  v.setUint32(STATE.parent_tgid, s.parentTgid, true);
  v.setUint32(STATE.flags, s.flags, true);
  v.setUint32(STATE.uid, s.uid, true);
  v.setUint32(STATE.euid, s.euid, true);
  v.setUint32(STATE.auid, s.auid, true);
  v.setUint32(STATE.binary_len, bin.byteLength, true);
  v.setBigUint64(STATE.caps + CAPS.effective, s.caps.effective, true);
  v.setBigUint64(STATE.caps + CAPS.permitted, s.caps.permitted, true);
  v.setBigUint64(STATE.caps + CAPS.inheritable, s.caps.inheritable, true);
  NAMESPACE_FIELDS.forEach((name, i) => v.setUint32(STATE.ns + i * 4, s.ns[name], true));
  out.set(bin.subarray(0, STATE.binary_bytes - 1), STATE.binary);
  return out;
}

export interface ProcessConfig {
  maxArgvBytes: number;
  captureCwd: boolean;
  /** process.binary: "exec" = the path execve was given (the original's), "resolved" = symlinks resolved */
  binaryPath?: "exec" | "resolved";
}

/** Encodes the fgs_config map value. */
export function encodeConfig(c: ProcessConfig): Uint8Array {
  const out = new Uint8Array(CONFIG.bytes);
  const v = viewOf(out);
  v.setUint32(CONFIG.max_argv_bytes, c.maxArgvBytes, true);
  const flags = (c.captureCwd ? 0 : CONFIG_NO_CWD) | (c.binaryPath === "resolved" ? CONFIG_BINARY_RESOLVED : 0);
  v.setUint32(CONFIG.flags, flags, true);
  return out;
}
