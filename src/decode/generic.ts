/** Decoder of policy hook records (bpf/generic/records.h) into ProcessKprobe
 * and ProcessTracepoint events. Offsets come from ./generic-layout.ts,
 * which tests/btf-layout.test.ts checks against the compiled BTF. */
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  GetEventsResponseSchema, KprobeArgumentSchema, KprobeCredSchema, KprobeFileSchema, KprobePathSchema,
  KprobeSkbSchema, KprobeSockSchema, KprobeTruncatedBytesSchema, KprobeSockaddrSchema, KprobeCapabilitySchema,
  KprobeLinuxBinprmSchema, KprobeNetDevSchema, KprobePerfEventSchema, TaintedBitsTypeSchema, type TaintedBitsType, UserNamespaceSchema, NamespaceSchema, KernelModuleSchema, KprobeBpfAttrSchema, KprobeBpfMapSchema, SyscallIdSchema, ProcessKprobeSchema, ProcessTracepointSchema, ProcessUprobeSchema, ProcessLsmSchema, ProcessUsdtSchema,
  ProcessSchema, CapabilitiesTypeSchema, type CapabilitiesType, type GetEventsResponse, type KprobeAction, type KprobeArgument,
  type Process,
} from "../../gen/tetragon/tetragon_pb";
import { AgentEvent, type EventCase, type LazyEventSource } from "../bus/event";
import type { Output } from "../bus/encode";
import { encodeGenericRecord, hasLongArgType, type GenericWireParts } from "./generic-wire";
import { ARG_HDR, ArgHdrFlag, BPF_ATTR, BPF_MAP, CRED, GEN, GenType, KSYM_NAME, PERF_EVENT, RECORD, RecordFlag, SKB, SOCK, SOCKADDR, USER_NS } from "./generic-layout";
import { u16, u32, u64, u8 } from "./bytes";
import type { WallTime } from "../bpf/clock";
import { FAMILY_NUMBERS, TCP_STATE_NUMBERS, nameOf } from "./net-names";
import { OP_KPROBE, OP_TRACEPOINT } from "./records";

export { OP_KPROBE, OP_TRACEPOINT };

/** One encoded argument as the kernel sent it. */
export interface RawArg {
  readonly type: number;
  readonly flags: number;
  readonly value: bigint;
  /** value's low and high 32 bits, for writers that need no BigInt */
  readonly lo: number;
  readonly hi: number;
  readonly payload: Uint8Array;
}

/** value is built only when asked: the wire path reads lo and hi, and each
 * BigInt is an allocation per argument per event. */
class DecodedArg implements RawArg {
  constructor(
    readonly type: number,
    readonly flags: number,
    readonly lo: number,
    readonly hi: number,
    readonly payload: Uint8Array,
  ) {}

  get value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

export interface GenericRecord {
  readonly op: number;
  readonly ktime: bigint;
  readonly tgid: number;
  readonly tid: number;
  readonly hookId: number;
  /** KprobeAction numbering */
  readonly action: number;
  /** matched selector + 1; 0 when the hook has none */
  readonly selector: number;
  readonly flags: number;
  readonly args: readonly (RawArg | null)[];
  readonly returnArg: RawArg | null;
}

export class GenericRecordError extends Error {}

const EMPTY = new Uint8Array(0);

/** at: the argument's header, from the start of bytes. */
function readArg(bytes: Uint8Array, dataStart: number, dataLen: number, off: number): DecodedArg | null {
  if (off === GEN.noArg) return null;
  const at = dataStart + off;
  if (off + ARG_HDR.bytes > dataLen) throw new GenericRecordError(`argument at ${off} outside the record data (${dataLen} bytes)`);
  const len = u32(bytes, at + ARG_HDR.len);
  if (off + ARG_HDR.bytes + len > dataLen) throw new GenericRecordError(`argument payload at ${off} (${len} bytes) outside the record data`);
  return new DecodedArg(
    u8(bytes, at + ARG_HDR.type),
    u8(bytes, at + ARG_HDR.flags),
    u32(bytes, at + ARG_HDR.value),
    u32(bytes, at + ARG_HDR.value + 4),
    // Most arguments are integers with no payload: no view for them.
    len === 0 ? EMPTY : bytes.subarray(at + ARG_HDR.bytes, at + ARG_HDR.bytes + len),
  );
}

export function decodeGenericRecord(bytes: Uint8Array): GenericRecord {
  if (bytes.byteLength < RECORD.bytes) throw new GenericRecordError(`policy record too short: ${bytes.byteLength} bytes`);
  const op = u32(bytes, RECORD.op);
  if (op !== OP_KPROBE && op !== OP_TRACEPOINT) throw new GenericRecordError(`not a policy record: op ${op}`);
  const dataLen = Math.min(u32(bytes, RECORD.dataLen), bytes.byteLength - RECORD.bytes);
  const nargs = Math.min(u8(bytes, RECORD.nargs), GEN.maxArgs);
  const args: (RawArg | null)[] = new Array<RawArg | null>(nargs);
  for (let slot = 0; slot < nargs; slot++) args[slot] = readArg(bytes, RECORD.bytes, dataLen, u16(bytes, RECORD.argOff + 2 * slot));
  const flags = u8(bytes, RECORD.flags);
  return {
    op,
    ktime: u64(bytes, RECORD.ktime),
    tgid: u32(bytes, RECORD.tgid),
    tid: u32(bytes, RECORD.tid),
    hookId: u32(bytes, RECORD.hookId),
    action: u8(bytes, RECORD.action),
    selector: u8(bytes, RECORD.selector),
    flags,
    args,
    returnArg: flags & RecordFlag.return ? readArg(bytes, RECORD.bytes, dataLen, u16(bytes, RECORD.argOff + 2 * GEN.retSlot)) : null,
  };
}

const text = new TextDecoder();
const str = (b: Uint8Array) => text.decode(b);

function arg(value: KprobeArgument["arg"]): KprobeArgument {
  return create(KprobeArgumentSchema, { arg: value });
}

function bytesArg(a: RawArg): KprobeArgument {
  if (a.flags & ArgHdrFlag.truncated) {
    return arg({ case: "truncatedBytesArg", value: create(KprobeTruncatedBytesSchema, { bytesArg: a.payload.slice(), origSize: a.value }) });
  }
  return arg({ case: "bytesArg", value: a.payload.slice() });
}

function capList(mask: bigint): CapabilitiesType[] {
  const out: CapabilitiesType[] = [];
  for (let bit = 0; bit < 64; bit++) if (mask & (1n << BigInt(bit))) out.push(bit as CapabilitiesType);
  return out;
}

const FAMILIES: Readonly<Record<number, string>> = { 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET" };
const SOCK_TYPES: Readonly<Record<number, string>> = { 1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET" };
const PROTOCOLS: Readonly<Record<number, string>> = { 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 58: "IPPROTO_ICMPV6", 132: "IPPROTO_SCTP", 262: "IPPROTO_MPTCP" };

/** The longest run (2 or more) of zero words, as [start, length]. */
function zeroRun(words: readonly number[]): [number, number] {
  let best: [number, number] = [-1, 0];
  for (let i = 0; i < words.length; ) {
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i > best[1] && j - i >= 2) best = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  return best;
}

function ipv6String(raw: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (raw[2 * i]! << 8) | raw[2 * i + 1]!);
  const [start, len] = zeroRun(words);
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (start < 0) return hex(words);
  return `${hex(words.slice(0, start))}::${hex(words.slice(start + len))}`;
}

function ipString(family: number, raw: Uint8Array): string {
  if (family === 2) return Array.from(raw.subarray(0, 4)).join(".");
  return family === 10 ? ipv6String(raw) : "";
}

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

function sockArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < SOCK.bytes) return arg({ case: undefined });
  const v = view(p);
  const family = v.getUint16(SOCK.family, true);
  return arg({
    case: "sockArg",
    value: create(KprobeSockSchema, {
      family: FAMILIES[family] ?? String(family),
      type: SOCK_TYPES[v.getUint16(SOCK.type, true)] ?? String(v.getUint16(SOCK.type, true)),
      protocol: PROTOCOLS[v.getUint16(SOCK.protocol, true)] ?? String(v.getUint16(SOCK.protocol, true)),
      mark: v.getUint32(SOCK.mark, true),
      priority: v.getUint32(SOCK.priority, true),
      saddr: ipString(family, p.subarray(SOCK.saddr, SOCK.saddr + 16)),
      daddr: ipString(family, p.subarray(SOCK.daddr, SOCK.daddr + 16)),
      sport: v.getUint16(SOCK.sport, true),
      dport: v.getUint16(SOCK.dport, true),
      state: nameOf(TCP_STATE_NUMBERS, v.getUint16(SOCK.state, true)) ?? "",
    }),
  });
}

function sockaddrArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < SOCKADDR.bytes) return arg({ case: undefined });
  const v = view(p);
  const family = v.getUint16(SOCKADDR.family, true);
  return arg({
    case: "sockaddrArg",
    value: create(KprobeSockaddrSchema, {
      family: nameOf(FAMILY_NUMBERS, family) ?? String(family),
      addr: ipString(family, p.subarray(SOCKADDR.addr, SOCKADDR.addr + 16)),
      port: v.getUint16(SOCKADDR.port, true),
    }),
  });
}

/** A NUL-padded C string field. */
function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return str(end < 0 ? b : b.subarray(0, end));
}

const BPF_PROG_TYPES: readonly string[] = [
  "BPF_PROG_TYPE_UNSPEC", "BPF_PROG_TYPE_SOCKET_FILTER", "BPF_PROG_TYPE_KPROBE", "BPF_PROG_TYPE_SCHED_CLS",
  "BPF_PROG_TYPE_SCHED_ACT", "BPF_PROG_TYPE_TRACEPOINT", "BPF_PROG_TYPE_XDP", "BPF_PROG_TYPE_PERF_EVENT",
  "BPF_PROG_TYPE_CGROUP_SKB", "BPF_PROG_TYPE_CGROUP_SOCK", "BPF_PROG_TYPE_LWT_IN", "BPF_PROG_TYPE_LWT_OUT",
  "BPF_PROG_TYPE_LWT_XMIT", "BPF_PROG_TYPE_SOCK_OPS", "BPF_PROG_TYPE_SK_SKB", "BPF_PROG_TYPE_CGROUP_DEVICE",
  "BPF_PROG_TYPE_SK_MSG", "BPF_PROG_TYPE_RAW_TRACEPOINT", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR",
  "BPF_PROG_TYPE_LWT_SEG6LOCAL", "BPF_PROG_TYPE_LIRC_MODE2", "BPF_PROG_TYPE_SK_REUSEPORT",
  "BPF_PROG_TYPE_FLOW_DISSECTOR", "BPF_PROG_TYPE_CGROUP_SYSCTL", "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE",
  "BPF_PROG_TYPE_CGROUP_SOCKOPT", "BPF_PROG_TYPE_TRACING", "BPF_PROG_TYPE_STRUCT_OPS", "BPF_PROG_TYPE_EXT",
  "BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_SK_LOOKUP", "BPF_PROG_TYPE_SYSCALL", "BPF_PROG_TYPE_NETFILTER",
];
const BPF_MAP_TYPES: readonly string[] = [
  "BPF_MAP_TYPE_UNSPEC", "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PROG_ARRAY",
  "BPF_MAP_TYPE_PERF_EVENT_ARRAY", "BPF_MAP_TYPE_PERCPU_HASH", "BPF_MAP_TYPE_PERCPU_ARRAY",
  "BPF_MAP_TYPE_STACK_TRACE", "BPF_MAP_TYPE_CGROUP_ARRAY", "BPF_MAP_TYPE_LRU_HASH", "BPF_MAP_TYPE_LRU_PERCPU_HASH",
  "BPF_MAP_TYPE_LPM_TRIE", "BPF_MAP_TYPE_ARRAY_OF_MAPS", "BPF_MAP_TYPE_HASH_OF_MAPS", "BPF_MAP_TYPE_DEVMAP",
  "BPF_MAP_TYPE_SOCKMAP", "BPF_MAP_TYPE_CPUMAP", "BPF_MAP_TYPE_XSKMAP", "BPF_MAP_TYPE_SOCKHASH",
  "BPF_MAP_TYPE_CGROUP_STORAGE", "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY", "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
  "BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK", "BPF_MAP_TYPE_SK_STORAGE", "BPF_MAP_TYPE_DEVMAP_HASH",
  "BPF_MAP_TYPE_STRUCT_OPS", "BPF_MAP_TYPE_RINGBUF", "BPF_MAP_TYPE_INODE_STORAGE", "BPF_MAP_TYPE_TASK_STORAGE",
  "BPF_MAP_TYPE_BLOOM_FILTER", "BPF_MAP_TYPE_USER_RINGBUF", "BPF_MAP_TYPE_CGRP_STORAGE", "BPF_MAP_TYPE_ARENA",
];

function bpfAttrArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < BPF_ATTR.bytes) return arg({ case: undefined });
  const v = view(p);
  const type = v.getUint32(BPF_ATTR.progType, true);
  return arg({
    case: "bpfAttrArg",
    value: create(KprobeBpfAttrSchema, {
      ProgType: BPF_PROG_TYPES[type] ?? String(type),
      InsnCnt: v.getUint32(BPF_ATTR.insnCnt, true),
      ProgName: cString(p.subarray(BPF_ATTR.progName, BPF_ATTR.progName + 16)),
    }),
  });
}

function bpfMapArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < BPF_MAP.bytes) return arg({ case: undefined });
  const v = view(p);
  const type = v.getUint32(BPF_MAP.mapType, true);
  return arg({
    case: "bpfMapArg",
    value: create(KprobeBpfMapSchema, {
      MapType: BPF_MAP_TYPES[type] ?? String(type),
      KeySize: v.getUint32(BPF_MAP.keySize, true),
      ValueSize: v.getUint32(BPF_MAP.valueSize, true),
      MaxEntries: v.getUint32(BPF_MAP.maxEntries, true),
      MapName: cString(p.subarray(BPF_MAP.name, BPF_MAP.name + 16)),
    }),
  });
}

/** The initial user namespace's inode number (PROC_USER_INIT_INO). */
const INIT_USER_NS_INUM = 0xeffffffd;

function userNsArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < USER_NS.bytes) return arg({ case: undefined });
  const v = view(p);
  const inum = v.getUint32(USER_NS.inum, true);
  return arg({
    case: "userNsArg",
    value: create(UserNamespaceSchema, {
      level: v.getInt32(USER_NS.level, true),
      uid: v.getUint32(USER_NS.uid, true),
      gid: v.getUint32(USER_NS.gid, true),
      ns: create(NamespaceSchema, { inum, isHost: inum === INIT_USER_NS_INUM }),
    }),
  });
}

function capabilityArg(a: RawArg): KprobeArgument {
  const n = Number(BigInt.asIntN(32, a.value));
  const enumName = CapabilitiesTypeSchema.values.find((v) => v.number === n)?.name;
  const name = enumName === undefined ? "" : enumName.startsWith("CAP_") ? enumName : `CAP_${enumName}`;
  return arg({ case: "capabilityArg", value: create(KprobeCapabilitySchema, { value: n, name }) });
}

/** The module taint flags set in a kernel taint mask, as upstream lists them
 * (each enum value is the taint bit itself). */
function taintList(mask: bigint): TaintedBitsType[] {
  return TaintedBitsTypeSchema.values.filter((v) => v.number !== 0 && (mask & BigInt(v.number)) !== 0n).map((v) => v.number as TaintedBitsType);
}

/** module and load_info: the name, taints and (load_info) the signature check. */
function moduleArg(a: RawArg): KprobeArgument {
  const signatureOk = a.flags & ArgHdrFlag.sigKnown ? (a.flags & ArgHdrFlag.sigOk) !== 0 : undefined;
  return arg({ case: "moduleArg", value: create(KernelModuleSchema, { name: str(a.payload), signatureOk, tainted: taintList(a.value) }) });
}

const PERF_TYPES: readonly string[] = [
  "PERF_TYPE_HARDWARE", "PERF_TYPE_SOFTWARE", "PERF_TYPE_TRACEPOINT", "PERF_TYPE_HW_CACHE", "PERF_TYPE_RAW", "PERF_TYPE_BREAKPOINT",
];

/** A perf event's probe; a dynamic PMU (kprobe, uprobe) is named by its number. */
function perfEventArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < PERF_EVENT.bytes) return arg({ case: undefined });
  const v = view(p);
  const type = v.getUint32(PERF_EVENT.type, true);
  return arg({
    case: "perfEventArg",
    value: create(KprobePerfEventSchema, {
      KprobeFunc: cString(p.subarray(PERF_EVENT.kprobeFunc, PERF_EVENT.kprobeFunc + KSYM_NAME)),
      Type: PERF_TYPES[type] ?? String(type),
      Config: v.getBigUint64(PERF_EVENT.config, true),
      ProbeOffset: v.getBigUint64(PERF_EVENT.probeOffset, true),
    }),
  });
}

/** The syscall's ABI as upstream names it: the native one of this machine. */
const SYSCALL_ABI = process.arch === "arm64" ? "arm64" : "x64";

function skbArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < SKB.bytes) return arg({ case: undefined });
  const v = view(p);
  const family = v.getUint16(SKB.family, true);
  return arg({
    case: "skbArg",
    value: create(KprobeSkbSchema, {
      hash: v.getUint32(SKB.hash, true),
      len: v.getUint32(SKB.len, true),
      priority: v.getUint32(SKB.priority, true),
      mark: v.getUint32(SKB.mark, true),
      saddr: ipString(family, p.subarray(SKB.saddr, SKB.saddr + 16)),
      daddr: ipString(family, p.subarray(SKB.daddr, SKB.daddr + 16)),
      sport: v.getUint16(SKB.sport, true),
      dport: v.getUint16(SKB.dport, true),
      proto: v.getUint8(SKB.proto),
      secPathLen: v.getUint32(SKB.secPathLen, true),
      secPathOlen: v.getUint32(SKB.secPathOlen, true),
    }),
  });
}

function credArg(p: Uint8Array): KprobeArgument {
  if (p.byteLength < CRED.bytes) return arg({ case: undefined });
  const v = view(p);
  return arg({
    case: "credArg",
    value: create(KprobeCredSchema, {
      permitted: capList(v.getBigUint64(CRED.permitted, true)),
      effective: capList(v.getBigUint64(CRED.effective, true)),
      inheritable: capList(v.getBigUint64(CRED.inheritable, true)),
    }),
  });
}

function fileFlags(a: RawArg): string {
  return a.flags & ArgHdrFlag.unlinked ? "unlinked" : "";
}

/** An fd is reported as the file it names when that is known, else as its number. */
function fdArg(a: RawArg): KprobeArgument {
  if (a.payload.byteLength === 0) return arg({ case: "intArg", value: Number(BigInt.asIntN(32, a.value)) });
  return arg({ case: "fileArg", value: create(KprobeFileSchema, { path: str(a.payload), flags: fileFlags(a) }) });
}

/** One argument in the API's KprobeArgument oneof. */
export function toKprobeArgument(a: RawArg | null): KprobeArgument {
  if (!a) return arg({ case: undefined });
  switch (a.type) {
    case GenType.int:
      return arg({ case: "intArg", value: Number(BigInt.asIntN(32, a.value)) });
    case GenType.uint32:
    case GenType.uint64:
    case GenType.size:
      return arg({ case: "sizeArg", value: a.value });
    case GenType.sint64:
    case GenType.long:
      return arg({ case: "longArg", value: BigInt.asIntN(64, a.value) });
    case GenType.string:
    case GenType.filename:
      return arg({ case: "stringArg", value: str(a.payload) });
    case GenType.charBuf:
    case GenType.charIovec:
    case GenType.iovIter:
      return bytesArg(a);
    case GenType.fd:
      return fdArg(a);
    case GenType.file:
      return arg({ case: "fileArg", value: create(KprobeFileSchema, { path: str(a.payload), flags: fileFlags(a) }) });
    case GenType.path:
      return arg({ case: "pathArg", value: create(KprobePathSchema, { path: str(a.payload), flags: fileFlags(a) }) });
    case GenType.skb:
      return skbArg(a.payload);
    case GenType.sock:
      return sockArg(a.payload);
    case GenType.cred:
      return credArg(a.payload);
    case GenType.sockaddr:
      return sockaddrArg(a.payload);
    case GenType.socket:
      return sockArg(a.payload);
    case GenType.syscall64:
      return arg({ case: "syscallId", value: create(SyscallIdSchema, { id: Number(a.value & 0xffffffffn), abi: SYSCALL_ABI }) });
    case GenType.capability:
      return capabilityArg(a);
    case GenType.linuxBinprm:
      return arg({ case: "linuxBinprmArg", value: create(KprobeLinuxBinprmSchema, { path: str(a.payload), flags: fileFlags(a) }) });
    case GenType.kiocb:
      return arg({ case: "fileArg", value: create(KprobeFileSchema, { path: str(a.payload), flags: fileFlags(a) }) });
    case GenType.netDevice:
      return arg({ case: "netDevArg", value: create(KprobeNetDevSchema, { name: str(a.payload) }) });
    case GenType.module:
    case GenType.loadInfo:
      return moduleArg(a);
    case GenType.perfEvent:
      return perfEventArg(a.payload);
    case GenType.dentry:
      return arg({ case: "pathArg", value: create(KprobePathSchema, { path: str(a.payload), flags: fileFlags(a) }) });
    case GenType.bpfAttr:
      return bpfAttrArg(a.payload);
    case GenType.bpfMap:
      return bpfMapArg(a.payload);
    case GenType.userNamespace:
      return userNsArg(a.payload);
    default:
      return arg({ case: undefined });
  }
}

/** What the decoder needs to know of the hook a record came from. */
export interface HookDescription {
  readonly kind: "kprobe" | "tracepoint" | "uprobe" | "lsm" | "usdt";
  /** uprobes: the executable or library (functionName is the symbol) */
  readonly path?: string;
  /** uprobes attached by offset or address: the file offset, and the
   * reference counter's offset when one is set */
  readonly offset?: bigint;
  readonly refCtrOffset?: bigint;
  /** kprobes: `call` as the policy wrote it */
  readonly functionName: string;
  readonly subsystem: string;
  readonly event: string;
  readonly policyName: string;
  /** the hook's `message` and `tags`, and each arg's `label` in args order */
  readonly message: string;
  readonly tags: readonly string[];
  readonly labels: readonly string[];
}

export interface GenericEventContext {
  readonly nodeName: string;
  bootNsToWallTime(ns: bigint): WallTime;
  hook(id: number): HookDescription | undefined;
  /** The process and its parent from the process cache. */
  describe(tgid: number): { process: Process; parent: Process | undefined } | undefined;
}

function processOf(rec: GenericRecord, ctx: GenericEventContext): { process: Process; parent: Process | undefined } {
  return ctx.describe(rec.tgid) ?? { process: create(ProcessSchema, { pid: rec.tgid, flags: "miss" }), parent: undefined };
}

function eventOf(rec: GenericRecord, hook: HookDescription, ctx: GenericEventContext): GetEventsResponse["event"] {
  const { process, parent } = processOf(rec, ctx);
  return eventFrom(rec, hook, process, parent);
}

function eventFrom(rec: GenericRecord, hook: HookDescription, process: Process, parent: Process | undefined): GetEventsResponse["event"] {
  const args = rec.args.map(toKprobeArgument);
  args.forEach((a, i) => (a.label = hook.labels[i] ?? ""));
  const report = { policyName: hook.policyName, message: hook.message, tags: [...hook.tags] };
  if (hook.kind === "tracepoint") {
    const value = create(ProcessTracepointSchema, { process, parent, subsys: hook.subsystem, event: hook.event, args, action: rec.action as KprobeAction, ...report });
    return { case: "processTracepoint", value };
  }
  if (hook.kind === "uprobe") {
    const value = create(ProcessUprobeSchema, {
      process, parent, path: hook.path ?? "", symbol: hook.functionName, args, action: rec.action as KprobeAction,
      offset: hook.offset ?? 0n, refCtrOffset: hook.refCtrOffset ?? 0n, ...report,
    });
    return { case: "processUprobe", value };
  }
  if (hook.kind === "usdt") {
    const value = create(ProcessUsdtSchema, {
      process, parent, path: hook.path ?? "", provider: hook.subsystem, name: hook.functionName, args, action: rec.action as KprobeAction, ...report,
    });
    return { case: "processUsdt", value };
  }
  if (hook.kind === "lsm") {
    const value = create(ProcessLsmSchema, { process, parent, functionName: hook.functionName, args, action: rec.action as KprobeAction, ...report });
    return { case: "processLsm", value };
  }
  const value = create(ProcessKprobeSchema, {
    process, parent, functionName: hook.functionName, args, action: rec.action as KprobeAction,
    return: rec.returnArg ? toKprobeArgument(rec.returnArg) : undefined, ...report,
  });
  return { case: "processKprobe", value };
}

/** The API event of one record; undefined when its hook is gone (a policy
 * deleted while records were in flight). */
export function genericEvent(bytes: Uint8Array, ctx: GenericEventContext): GetEventsResponse | undefined {
  const rec = decodeGenericRecord(bytes);
  const hook = ctx.hook(rec.hookId);
  if (!hook) return undefined;
  return create(GetEventsResponseSchema, {
    event: eventOf(rec, hook, ctx),
    nodeName: ctx.nodeName,
    time: timestamp(ctx.bootNsToWallTime(rec.ktime)),
  });
}

const EVENT_CASES = {
  kprobe: "processKprobe", tracepoint: "processTracepoint", uprobe: "processUprobe", lsm: "processLsm", usdt: "processUsdt",
} as const;

/** The record's argument payloads, copied out of the ring buffer: the event
 * may be built or encoded after the ring space is reused. */
function detached(rec: GenericRecord): GenericRecord {
  if (!rec.args.some(hasPayload) && !hasPayload(rec.returnArg)) return rec; // integers only: nothing points into the ring
  return { ...rec, args: rec.args.map(detachedArg), returnArg: detachedArg(rec.returnArg) };
}

function detachedArg(a: RawArg | null): RawArg | null {
  if (!hasPayload(a)) return a;
  return new DecodedArg(a.type, a.flags, a.lo, a.hi, a.payload.slice());
}

function hasPayload(a: RawArg | null): a is RawArg {
  return a !== null && a.payload.byteLength !== 0;
}

/** The bus event of one record: its bytes written directly from the record
 * (generic-wire.ts), its message built only if a consumer asks. Undefined
 * when its hook is gone. */
export function genericAgentEvent(bytes: Uint8Array, ctx: GenericEventContext): AgentEvent | undefined {
  const decoded = decodeGenericRecord(bytes);
  const hook = ctx.hook(decoded.hookId);
  if (!hook) return undefined;
  const rec = detached(decoded);
  const { process, parent } = processOf(rec, ctx);
  return new AgentEvent(new RecordEventSource(rec, hook, process, parent, ctx.nodeName, ctx.bootNsToWallTime(rec.ktime)));
}

/** A policy event as its record and what enriches it: the wire writer's
 * parts and the bus's lazy source in one object (closures per event were
 * allocations per event). */
class RecordEventSource implements LazyEventSource, GenericWireParts {
  readonly eventCase: EventCase;

  constructor(
    readonly rec: GenericRecord,
    readonly hook: HookDescription,
    readonly process: Process,
    readonly parent: Process | undefined,
    readonly nodeName: string,
    readonly time: WallTime,
  ) {
    this.eventCase = EVENT_CASES[hook.kind];
  }

  /** Asked only for a stream of the fgs edition, so not worked out per event. */
  get hasLongArg(): boolean {
    return hasLongArgType(this.rec);
  }

  build(): GetEventsResponse {
    return create(GetEventsResponseSchema, { event: eventFrom(this.rec, this.hook, this.process, this.parent), nodeName: this.nodeName, time: timestamp(this.time) });
  }

  encode(output: Output): Uint8Array {
    return encodeGenericRecord(this, output);
  }
}

function timestamp(t: WallTime): Timestamp {
  return create(TimestampSchema, { seconds: BigInt(t.seconds), nanos: t.nanos });
}
