// Policy events written straight from their kernel record (the storm path)
// must decode to exactly the message the agent builds for JSON and filters.
import { describe, expect, test } from "bun:test";
import { create, equals, fromBinary } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, ProcessSchema, TaintedBitsType } from "../../gen/tetragon/tetragon_pb";
import { AgentEvent } from "../../src/bus/event";
import { encodeResponse } from "../../src/bus/encode";
import { processTemplate, processWithRefcnt } from "../../src/cache/process-message";
import { genericAgentEvent, genericEvent, toKprobeArgument, type GenericEventContext, type HookDescription } from "../../src/decode/generic";
import { ARG_HDR, ArgHdrFlag, GEN, GenType, PERF_EVENT, RECORD, RecordFlag } from "../../src/decode/generic-layout";
import { OP_KPROBE, OP_TRACEPOINT } from "../../src/decode/records";

interface ArgSpec {
  type: number;
  value?: bigint;
  payload?: Uint8Array;
  flags?: number;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A gen_record with its argument headers and payloads, as the kernel writes it. */
function record(op: number, args: (ArgSpec | null)[], ret?: ArgSpec, action = 1): Uint8Array {
  const slots = [...args, ...Array(GEN.maxArgs - args.length).fill(null), ret ?? null].slice(0, GEN.retSlot + 1);
  const parts: Uint8Array[] = [];
  const offsets: number[] = [];
  let dataLen = 0;
  for (const a of slots) {
    if (a === null) {
      offsets.push(GEN.noArg);
      continue;
    }
    const payload = a.payload ?? new Uint8Array(0);
    const hdr = new Uint8Array(ARG_HDR.bytes + payload.byteLength);
    const v = new DataView(hdr.buffer);
    v.setUint8(ARG_HDR.type, a.type);
    v.setUint8(ARG_HDR.flags, a.flags ?? 0);
    v.setUint32(ARG_HDR.len, payload.byteLength, true);
    v.setBigUint64(ARG_HDR.value, a.value ?? 0n, true);
    hdr.set(payload, ARG_HDR.bytes);
    offsets.push(dataLen);
    parts.push(hdr);
    dataLen += hdr.byteLength;
  }
  const buf = new Uint8Array(RECORD.bytes + dataLen);
  const v = new DataView(buf.buffer);
  v.setUint32(RECORD.op, op, true);
  v.setUint32(RECORD.size, buf.byteLength, true);
  v.setBigUint64(RECORD.ktime, 1_700_000_000_123_456_789n, true);
  v.setUint32(RECORD.tgid, 42, true);
  v.setUint32(RECORD.hookId, 7, true);
  v.setUint8(RECORD.action, action);
  v.setUint8(RECORD.nargs, args.length);
  v.setUint8(RECORD.flags, ret ? RecordFlag.return : 0);
  v.setUint32(RECORD.dataLen, dataLen, true);
  offsets.forEach((o, i) => v.setUint16(RECORD.argOff + 2 * i, o, true));
  let at = RECORD.bytes;
  for (const p of parts) {
    buf.set(p, at);
    at += p.byteLength;
  }
  return buf;
}

const process = processWithRefcnt(processTemplate(create(ProcessSchema, { execId: "e", pid: 42, binary: "/bin/x", arguments: "a b" })), 2);
const parent = processWithRefcnt(processTemplate(create(ProcessSchema, { execId: "p", pid: 1, binary: "/sbin/init" })), 5);

function ctx(hook: HookDescription, withParent = true): GenericEventContext {
  return {
    nodeName: "node-ü",
    bootNsToWallTime: (ns) => ({ seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) }),
    hook: (id) => (id === 7 ? hook : undefined),
    describe: (tgid) => (tgid === 42 ? { process, parent: withParent ? parent : undefined } : undefined),
  };
}

const base = { subsystem: "", event: "", policyName: "", message: "", tags: [], labels: [] };
const KPROBE: HookDescription = { ...base, kind: "kprobe", functionName: "__x64_sys_write", policyName: "p", message: "m", tags: ["a", "b"], labels: ["fd", "", "buf"] };
const TRACEPOINT: HookDescription = { ...base, kind: "tracepoint", functionName: "", subsystem: "syscalls", event: "sys_enter_openat", labels: ["dfd"] };
const UPROBE: HookDescription = { ...base, kind: "uprobe", functionName: "readline", path: "/bin/bash", policyName: "u" };

const UPROBE_AT: HookDescription = { ...base, kind: "uprobe", functionName: "", path: "/tmp/t", policyName: "u", offset: 0x1136n, refCtrOffset: 0x3028n };
const LSM: HookDescription = { ...base, kind: "lsm", functionName: "file_open", policyName: "l", message: "m", tags: ["t"] };
const USDT: HookDescription = { ...base, kind: "usdt", functionName: "function__entry", subsystem: "python", path: "/usr/bin/python3.11", policyName: "s", labels: ["f"] };

/* sockaddr {AF_INET, port 443, 10.1.2.3}, capability 21, syscall64 110 */
const SOCKADDR_PAYLOAD = (() => {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint16(0, 2, true);
  v.setUint16(2, 443, true);
  b.set([10, 1, 2, 3], 8);
  return b;
})();
const STRUCTS: (ArgSpec | null)[] = [
  { type: GenType.sockaddr, payload: SOCKADDR_PAYLOAD },
  { type: GenType.capability, value: 21n },
  { type: GenType.syscall64, value: 110n },
  { type: GenType.linuxBinprm, payload: utf8("/usr/bin/true") },
  { type: GenType.netDevice, payload: utf8("lo") },
];

/* perf_event {kretprobe on "security_inode_unlink" through PMU type 6}; module taints: proprietary, unsigned */
const PERF_PAYLOAD = (() => {
  const b = new Uint8Array(PERF_EVENT.bytes);
  const v = new DataView(b.buffer);
  v.setBigUint64(PERF_EVENT.config, 1n, true);
  v.setBigUint64(PERF_EVENT.probeOffset, 16n, true);
  v.setUint32(PERF_EVENT.type, 6, true);
  b.set(utf8("security_inode_unlink"), PERF_EVENT.kprobeFunc);
  return b;
})();
const TAINTS = 0x2001n;
const STRUCTS2: (ArgSpec | null)[] = [
  { type: GenType.dentry, payload: utf8("/dir/file"), value: 0o100644n, flags: ArgHdrFlag.unlinked },
  { type: GenType.iovIter, payload: utf8("fgs-iov"), value: 7n },
  { type: GenType.iovIter, payload: utf8("fgs"), value: 9000n, flags: ArgHdrFlag.truncated },
  { type: GenType.loadInfo, payload: utf8("dummy"), value: TAINTS, flags: ArgHdrFlag.sigKnown },
  { type: GenType.module, payload: utf8("dummy"), value: TAINTS },
  { type: GenType.perfEvent, payload: PERF_PAYLOAD },
];

const ARGS: (ArgSpec | null)[] = [
  { type: GenType.int, value: BigInt.asUintN(64, -5n) },
  { type: GenType.size, value: 18446744073709551615n },
  { type: GenType.charBuf, payload: new Uint8Array([0, 1, 255]) },
  { type: GenType.long, value: BigInt.asUintN(64, -9223372036854775808n) },
  { type: GenType.string, payload: utf8("pâth/🚀/".repeat(40)) },
  null,
];
const MORE: (ArgSpec | null)[] = [
  { type: GenType.charBuf, payload: new Uint8Array([1, 2]), value: 9000n, flags: ArgHdrFlag.truncated },
  { type: GenType.fd, value: 3n },
  { type: GenType.fd, value: 3n, payload: utf8("/etc/passwd") },
  { type: GenType.file, payload: utf8("/tmp/x"), flags: ArgHdrFlag.unlinked },
  { type: GenType.path, payload: new Uint8Array([0xff, 0xfe, 0x41]) },
  { type: GenType.uint32, value: 0n },
];
/** Integers around the 2^53 and sign limits, written from their 32-bit halves. */
const WIDE: (ArgSpec | null)[] = [
  { type: GenType.uint64, value: 2n ** 53n + 1n },
  { type: GenType.long, value: BigInt.asUintN(64, -1n) },
  { type: GenType.sint64, value: 2n ** 62n + 3n },
  { type: GenType.int, value: 2n ** 31n },
  { type: GenType.uint32, value: 2n ** 32n - 1n },
];

const CASES: [string, Uint8Array, HookDescription, boolean][] = [
  ["kprobe with scalar, string and bytes args and a return", record(OP_KPROBE, ARGS, { type: GenType.int, value: 0n }, 3), KPROBE, true],
  ["kprobe with message-valued args, no parent", record(OP_KPROBE, MORE), KPROBE, false],
  ["kprobe with wide integers", record(OP_KPROBE, WIDE), KPROBE, true],
  ["tracepoint", record(OP_TRACEPOINT, ARGS.slice(0, 3)), TRACEPOINT, true],
  ["uprobe", record(OP_KPROBE, MORE.slice(0, 2)), UPROBE, true],
  /* current language: actions on tracepoints and uprobes, LSM and USDT events, kernel-struct arguments */
  ["tracepoint with an action", record(OP_TRACEPOINT, ARGS.slice(0, 1), undefined, 13), TRACEPOINT, true],
  ["uprobe with an action", record(OP_KPROBE, MORE.slice(0, 1), undefined, 10), UPROBE, true],
  ["lsm", record(OP_KPROBE, MORE.slice(3, 5), undefined, 5), LSM, true],
  ["usdt", record(OP_KPROBE, ARGS.slice(0, 2)), USDT, false],
  ["kernel-struct arguments", record(OP_KPROBE, STRUCTS), KPROBE, true],
  ["dentry, iov_iter, load_info, module, perf_event", record(OP_KPROBE, STRUCTS2), KPROBE, true],
  ["uprobe at an offset with a reference counter", record(OP_KPROBE, MORE.slice(1, 2)), UPROBE_AT, true],
];

describe("policy events written from their record", () => {
  for (const [name, bytes, hook, withParent] of CASES) {
    test(`${name}: the same message as the built one, both editions`, () => {
      const c = ctx(hook, withParent);
      const built = genericEvent(bytes, c)!;
      const lazy = genericAgentEvent(bytes, c)!;
      const direct = fromBinary(GetEventsResponseSchema, lazy.encoded());
      expect(equals(GetEventsResponseSchema, direct, built)).toBe(true);
      expect(equals(GetEventsResponseSchema, lazy.message, built)).toBe(true);
      expect(lazy.eventCase).toBe(built.event.case);
      const legacy = fromBinary(GetEventsResponseSchema, lazy.encoded("fgs"));
      expect(equals(GetEventsResponseSchema, legacy, fromBinary(GetEventsResponseSchema, new AgentEvent(built).encoded("fgs")))).toBe(true);
      expect(lazy.encoded()).toEqual(encodeResponse(built));
    });
  }

  test("dentry, iov_iter, load_info, module, perf_event: each field of the argument", () => {
    const ev = genericEvent(record(OP_KPROBE, STRUCTS2), ctx(KPROBE))!;
    const args = ev.event.case === "processKprobe" ? ev.event.value.args.map((a) => a.arg) : [];
    const tainted = [TaintedBitsType.TAINT_PROPRIETARY_MODULE, TaintedBitsType.TAINT_UNSIGNED_MODULE];
    const [dentry, iov, cut, info, mod, perf] = args;
    expect(dentry?.case === "pathArg" ? [dentry.value.path, dentry.value.flags, dentry.value.mount] : dentry).toEqual(["/dir/file", "unlinked", ""]);
    expect(iov?.case === "bytesArg" ? new TextDecoder().decode(iov.value) : iov).toBe("fgs-iov");
    expect(cut?.case === "truncatedBytesArg" ? [new TextDecoder().decode(cut.value.bytesArg), cut.value.origSize] : cut).toEqual(["fgs", 9000n]);
    expect(info?.case === "moduleArg" ? [info.value.name, info.value.signatureOk, info.value.tainted] : info).toEqual(["dummy", false, tainted]);
    expect(mod?.case === "moduleArg" ? [mod.value.name, mod.value.signatureOk, mod.value.tainted] : mod).toEqual(["dummy", undefined, tainted]);
    expect(perf?.case === "perfEventArg" ? [perf.value.KprobeFunc, perf.value.Type, perf.value.Config, perf.value.ProbeOffset] : perf)
      .toEqual(["security_inode_unlink", "6", 1n, 16n]);
    const signed = toKprobeArgument({ type: GenType.loadInfo, flags: ArgHdrFlag.sigKnown | ArgHdrFlag.sigOk, value: 0n, lo: 0, hi: 0, payload: utf8("m") });
    expect(signed.arg.case === "moduleArg" ? [signed.arg.value.signatureOk, signed.arg.value.tainted] : undefined).toEqual([true, []]);
    const tracepointType = new Uint8Array(PERF_PAYLOAD);
    new DataView(tracepointType.buffer).setUint32(PERF_EVENT.type, 2, true);
    const tp = toKprobeArgument({ type: GenType.perfEvent, flags: 0, value: 0n, lo: 0, hi: 0, payload: tracepointType });
    expect(tp.arg.case === "perfEventArg" ? tp.arg.value.Type : undefined).toBe("PERF_TYPE_TRACEPOINT");
  });

  test("bytes for a copying consumer: the encoder's view while current, the same bytes again after other events were encoded", () => {
    const cases = [CASES[3]!, CASES[4]!, CASES[0]!]; // the last has a long_arg
    const [first, second, long] = cases.map(([, bytes, hook, withParent]) => genericAgentEvent(bytes, ctx(hook, withParent))!);
    // The expected bytes, each a copy of its own (encoding them uses the shared writer too).
    const want = cases.map(([, bytes, hook, withParent]) => new AgentEvent(genericEvent(bytes, ctx(hook, withParent))!));
    const [tetragon1, fgs1, tetragon2, tetragonLong, fgsLong] = [want[0]!.encoded(), want[0]!.encoded("fgs"), want[1]!.encoded(), want[2]!.encoded(), want[2]!.encoded("fgs")];
    const view = first!.encodedForCopy();
    expect(view).toEqual(tetragon1);
    expect(first!.encodedForCopy()).toBe(view); // every stream of one publish shares it
    expect(first!.encodedForCopy("fgs")).toEqual(fgs1); // no long_arg: the editions agree
    expect(second!.encodedForCopy()).toEqual(tetragon2); // overwrites the shared bytes...
    expect(first!.encodedForCopy()).toEqual(tetragon1); // ...so the first event encodes again
    const kept = first!.encoded(); // a copy of its own, from the current view
    expect(kept).toEqual(tetragon1);
    second!.encodedForCopy();
    expect(kept).toEqual(tetragon1);
    expect(first!.encodedForCopy()).toBe(kept); // once it has bytes of its own, those
    expect(long!.encodedForCopy("fgs")).toEqual(fgsLong);
    expect(long!.encodedForCopy()).toEqual(tetragonLong);
    expect(fgsLong).not.toEqual(tetragonLong);
  });

  test("the payloads are copied out of the ring: bytes reused after the call do not change the event", () => {
    const bytes = record(OP_KPROBE, [{ type: GenType.string, payload: utf8("/etc/shadow") }]);
    const lazy = genericAgentEvent(bytes, ctx(KPROBE))!;
    bytes.fill(0x41, RECORD.bytes);
    const ev = fromBinary(GetEventsResponseSchema, lazy.encoded());
    const arg = ev.event.case === "processKprobe" ? ev.event.value.args[0]?.arg : undefined;
    expect(arg).toEqual({ case: "stringArg", value: "/etc/shadow" });
  });
});
