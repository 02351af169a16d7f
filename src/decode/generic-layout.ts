/** Byte layouts of bpf/generic/records.h (the records the generic programs
 * send) and the limits and argument types both sides share, checked against
 * the compiled BTF by tests/btf-layout.test.ts. */
import { HEADER } from "./records";

export const GEN = {
  maxArgs: 6,
  retSlot: 6,
  noArg: 0xffff,
  maxSelectors: 5,
  maxPidM: 2,
  maxArgM: 5,
  maxRetM: 2,
  maxNsM: 10,
  maxCapM: 3,
  maxActions: 3,
  maxValues: 8,
  strMax: 255,
  payloadMax: 4096,
  fdNameMax: 1024,
} as const;

/** enum gen_arg_type */
export const GenType = {
  nop: 0, int: 1, uint32: 2, sint64: 3, uint64: 4, size: 5, long: 6, string: 7, charBuf: 8,
  charIovec: 9, fd: 10, file: 11, path: 12, filename: 13, skb: 14, sock: 15, cred: 16,
  /* current TracingPolicy language */
  sockaddr: 17, socket: 18, syscall64: 19, capability: 20, linuxBinprm: 21, kiocb: 22, netDevice: 23,
  module: 24, bpfAttr: 25, bpfMap: 26, userNamespace: 27, dentry: 28, iovIter: 29, loadInfo: 30, perfEvent: 31,
} as const;

/** struct gen_record and struct gen_arg_hdr */
export const RECORD = {
  ...HEADER, tgid: 16, tid: 20, hookId: 24, action: 28, nargs: 29, flags: 30, selector: 31,
  dataLen: 32, ret: 40, argOff: 48, bytes: 64,
} as const;
export const ARG_HDR = { type: 0, flags: 1, len: 4, value: 8, bytes: 16 } as const;
/** gen_record.flags */
export const RecordFlag = { return: 1, dataFull: 2 } as const;
/** gen_arg_hdr.flags */
export const ArgHdrFlag = { truncated: 1, error: 2, fdFollow: 4, fdTable: 8, unlinked: 16, dropped: 32, sigKnown: 64, sigOk: 128 } as const;
export const SKB = { hash: 0, len: 4, priority: 8, mark: 12, family: 16, proto: 18, sport: 20, dport: 22, saddr: 24, daddr: 40, secPathLen: 56, secPathOlen: 60, bytes: 64 } as const;
export const SOCK = { family: 0, type: 2, protocol: 4, sport: 6, dport: 8, state: 10, mark: 12, priority: 16, saddr: 24, daddr: 40, bytes: 56 } as const;
export const SOCKADDR = { family: 0, port: 2, addr: 8, bytes: 24 } as const;
export const BPF_ATTR = { progType: 0, insnCnt: 4, progName: 8, bytes: 24 } as const;
export const USER_NS = { level: 0, uid: 4, gid: 8, inum: 12, bytes: 16 } as const;
export const BPF_MAP = { mapType: 0, keySize: 4, valueSize: 8, maxEntries: 12, name: 16, bytes: 32 } as const;
export const PERF_EVENT = { config: 0, probeOffset: 8, type: 16, kprobeFunc: 24, bytes: 152 } as const;
export const KSYM_NAME = 128;
export const CRED = { permitted: 0, effective: 8, inheritable: 16, bytes: 24 } as const;
