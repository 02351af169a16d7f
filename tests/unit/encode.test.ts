// The event encoder writes the hot events by hand and splices the process
// cache's Process bytes: whatever it writes must decode to exactly the
// message protobuf-es would have written.
import { describe, expect, test } from "bun:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GetEventsResponseSchema,
  KprobeAction,
  KprobeArgumentSchema,
  KprobeCredSchema,
  KprobeFileSchema,
  KprobePathSchema,
  KprobeSockSchema,
  KprobeSockaddrSchema,
  KprobeCapabilitySchema,
  KprobeLinuxBinprmSchema,
  KprobeNetDevSchema,
  KprobeBpfAttrSchema,
  KprobeBpfMapSchema,
  KprobePerfEventSchema,
  KernelModuleSchema,
  SyscallIdSchema,
  UserNamespaceSchema,
  NamespaceSchema,
  KprobeTruncatedBytesSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessKprobeSchema,
  ProcessSchema,
  ProcessTracepointSchema,
  ProcessUprobeSchema,
  ProcessLsmSchema,
  ProcessUsdtSchema,
  RateLimitInfoSchema,
  TestSchema,
  type GetEventsResponse,
  type KprobeArgument,
  type Process,
} from "../../gen/tetragon/tetragon_pb";
import { AgentEvent } from "../../src/bus/event";
import { encodeEvent, encodeResponse, HAND_WRITER_COVERS_SCHEMA, HAND_WRITTEN } from "../../src/bus/encode";
import { processTemplate, processWithRefcnt } from "../../src/cache/process-message";

const long = "x".repeat(300);
const unicode = "pâth/🚀/名前";

function proc(pid: number, refcnt: number, binary = "/usr/bin/curl"): Process {
  const t = processTemplate(
    create(ProcessSchema, {
      execId: `bm9kZToxOjE=${pid}`, pid, uid: 1000, cwd: "/tmp", binary, arguments: `${long} ${unicode}`, flags: "execve rootcwd",
      startTime: { seconds: 1_700_000_000n, nanos: 5 }, auid: 4294967295, docker: "", parentExecId: "p", cap: { effective: [0, 1, 21] },
      ns: { uts: { inum: 4026531838, isHost: true } },
    }),
  );
  return processWithRefcnt(t, refcnt);
}

const arg = (a: KprobeArgument["arg"]): KprobeArgument => create(KprobeArgumentSchema, { arg: a });

const ARGS: KprobeArgument[] = [
  arg({ case: "intArg", value: 0 }),
  arg({ case: "intArg", value: -1 }),
  arg({ case: "intArg", value: 2147483647 }),
  arg({ case: "sizeArg", value: 0n }),
  arg({ case: "sizeArg", value: 18446744073709551615n }),
  arg({ case: "longArg", value: -9223372036854775808n }),
  arg({ case: "longArg", value: 9007199254740993n }),
  arg({ case: "stringArg", value: "" }),
  arg({ case: "stringArg", value: long + unicode }),
  arg({ case: "bytesArg", value: new Uint8Array(200).fill(7) }),
  arg({ case: "fileArg", value: create(KprobeFileSchema, { path: "/etc/passwd", flags: "unlinked" }) }),
  arg({ case: "pathArg", value: create(KprobePathSchema, { path: unicode }) }),
  arg({ case: "sockArg", value: create(KprobeSockSchema, { family: "AF_INET", daddr: "10.0.0.1", dport: 443 }) }),
  arg({ case: "truncatedBytesArg", value: create(KprobeTruncatedBytesSchema, { bytesArg: new Uint8Array([1, 2]), origSize: 9000n }) }),
  arg({ case: "credArg", value: create(KprobeCredSchema, { permitted: [1, 2] }) }),
  arg({ case: undefined }),
  create(KprobeArgumentSchema, { arg: { case: "intArg", value: 7 }, label: "flags" }),
  create(KprobeArgumentSchema, { arg: { case: "fileArg", value: create(KprobeFileSchema, { path: "/x" }) }, label: "file" }),
  /* kernel-struct arguments of the current language (upstream numbers 12..30) */
  arg({ case: "sockaddrArg", value: create(KprobeSockaddrSchema, { family: "AF_INET", addr: "127.0.0.1", port: 9 }) }),
  create(KprobeArgumentSchema, { arg: { case: "capabilityArg", value: create(KprobeCapabilitySchema, { value: 21, name: "CAP_SYS_ADMIN" }) }, label: "cap" }),
  arg({ case: "linuxBinprmArg", value: create(KprobeLinuxBinprmSchema, { path: "/usr/bin/true" }) }),
  arg({ case: "netDevArg", value: create(KprobeNetDevSchema, { name: "lo" }) }),
  arg({ case: "bpfAttrArg", value: create(KprobeBpfAttrSchema, { ProgType: "BPF_PROG_TYPE_KPROBE", InsnCnt: 3, ProgName: "p" }) }),
  arg({ case: "bpfMapArg", value: create(KprobeBpfMapSchema, { MapType: "BPF_MAP_TYPE_HASH", KeySize: 4, ValueSize: 8, MaxEntries: 1, MapName: "m" }) }),
  arg({ case: "perfEventArg", value: create(KprobePerfEventSchema, { KprobeFunc: "f", Type: "kprobe", Config: 1n, ProbeOffset: 2n }) }),
  arg({ case: "moduleArg", value: create(KernelModuleSchema, { name: "dummy", signatureOk: true }) }),
  arg({ case: "syscallId", value: create(SyscallIdSchema, { id: 42, abi: "x64" }) }),
  arg({ case: "userNsArg", value: create(UserNamespaceSchema, { level: 0, uid: 0, gid: 0, ns: create(NamespaceSchema, { inum: 4026531837, isHost: true }) }) }),
  arg({ case: "sockArg", value: create(KprobeSockSchema, { family: "AF_INET", state: "TCP_SYN_SENT", cookie: 7n }) }),
];

function response(event: GetEventsResponse["event"], nanos = 123): GetEventsResponse {
  return create(GetEventsResponseSchema, { event, nodeName: "node-ü", time: { seconds: 1_700_000_001n, nanos } });
}

const EVENTS: [string, GetEventsResponse][] = [
  ["exec with parent and ancestors", response({ case: "processExec", value: create(ProcessExecSchema, { process: proc(1, 1), parent: proc(2, 3), ancestors: [proc(3, 200), proc(4, 0)] }) })],
  ["exec of a process without cached bytes", response({ case: "processExec", value: create(ProcessExecSchema, { process: create(ProcessSchema, { pid: 9, flags: "miss" }) }) })],
  ["exit with signal", response({ case: "processExit", value: create(ProcessExitSchema, { process: proc(1, 0), signal: "SIGKILL", status: 0 }) }, 0)],
  ["exit with status", response({ case: "processExit", value: create(ProcessExitSchema, { process: proc(1, 1), parent: proc(2, 1), status: 3 }) })],
  ["kprobe with every argument kind", response({ case: "processKprobe", value: create(ProcessKprobeSchema, { process: proc(5, 2), parent: proc(6, 130), functionName: "__x64_sys_write", args: ARGS, return: ARGS[1], action: KprobeAction.SIGKILL, policyName: "p", message: "m", tags: ["a", "b"] }) })],
  ["tracepoint", response({ case: "processTracepoint", value: create(ProcessTracepointSchema, { process: proc(7, 1), subsys: "syscalls", event: "sys_enter_openat", args: ARGS.slice(0, 9) }) })],
  ["tracepoint with action", response({ case: "processTracepoint", value: create(ProcessTracepointSchema, { process: proc(7, 1), subsys: "syscalls", event: "sys_enter_prctl", args: ARGS.slice(0, 2), action: KprobeAction.NOTIFYENFORCER, policyName: "p" }) })],
  ["uprobe", response({ case: "processUprobe", value: create(ProcessUprobeSchema, { process: proc(8, 1), parent: proc(9, 2), path: "/bin/bash", symbol: "readline", policyName: "p", message: "m", args: ARGS.slice(0, 3), tags: ["t"], action: KprobeAction.POST }) })],
  ["lsm", response({ case: "processLsm", value: create(ProcessLsmSchema, { process: proc(8, 1), parent: proc(9, 2), functionName: "file_open", policyName: "p", message: "m", args: ARGS.slice(0, 3), action: KprobeAction.OVERRIDE, tags: ["t", "u"] }) })],
  ["lsm, empty", response({ case: "processLsm", value: create(ProcessLsmSchema, {}) })],
  ["usdt", response({ case: "processUsdt", value: create(ProcessUsdtSchema, { process: proc(8, 1), parent: proc(9, 2), path: "/usr/bin/python3.11", provider: "python", name: "function__entry", policyName: "p", message: "m", args: ARGS.slice(0, 3), tags: ["t"], action: KprobeAction.POST }) })],
  ["usdt, empty", response({ case: "processUsdt", value: create(ProcessUsdtSchema, {}) })],
  ["tracepoint with policy name, message and tags", response({ case: "processTracepoint", value: create(ProcessTracepointSchema, { process: proc(7, 1), subsys: "syscalls", event: "sys_enter_openat", args: ARGS.slice(15), policyName: "p", message: "m", tags: ["x"] }) })],
  ["rate limit info", response({ case: "rateLimitInfo", value: create(RateLimitInfoSchema, { numberOfDroppedProcessEvents: 18446744073709551615n }) })],
  ["rate limit info, empty, no time", create(GetEventsResponseSchema, { event: { case: "rateLimitInfo", value: create(RateLimitInfoSchema, {}) } })],
  ["test event (protobuf-es path)", response({ case: "test", value: create(TestSchema, { arg0: 1n, arg3: 2n }) })],
  ["no event", create(GetEventsResponseSchema, { nodeName: "n" })],
  ["aggregated (protobuf-es path)", create(GetEventsResponseSchema, { event: { case: "processExit", value: { process: proc(1, 1) } }, aggregationInfo: { count: 5n } })],
];

describe("event encoder", () => {
  test("the hand writer covers every field of the messages it writes", () => {
    const missing = HAND_WRITTEN.flatMap(([s, n]) => s.fields.filter((f) => !n.includes(f.number)).map((f) => `${s.typeName}.${f.name} = ${f.number}`));
    expect(missing).toEqual([]);
    expect(HAND_WRITER_COVERS_SCHEMA).toBe(true);
  });

  for (const [name, ev] of EVENTS) {
    test(`${name}: decodes to the same message as protobuf-es writes`, () => {
      const hand = fromBinary(GetEventsResponseSchema, encodeResponse(ev));
      const reference = fromBinary(GetEventsResponseSchema, toBinary(GetEventsResponseSchema, ev));
      expect(equals(GetEventsResponseSchema, hand, reference)).toBe(true);
      expect(equals(GetEventsResponseSchema, hand, ev)).toBe(true);
    });
  }

  test("an event is encoded once, and the fgs edition shares the bytes unless it carries a long_arg", () => {
    const plain = new AgentEvent(EVENTS[0]![1]);
    expect(plain.encoded()).toBe(plain.encoded());
    expect(plain.encoded("fgs")).toBe(plain.encoded());
    const withLong = new AgentEvent(EVENTS[4]![1]);
    expect(withLong.encoded("fgs")).not.toBe(withLong.encoded());
    const legacy = fromBinary(GetEventsResponseSchema, withLong.encoded("fgs"));
    const args = legacy.event.case === "processKprobe" ? legacy.event.value.args : [];
    expect(args.some((a) => a.arg.case === "longArg")).toBe(false);
    expect(args[5]?.arg).toEqual({ case: "sizeArg", value: 9223372036854775808n });
    expect(args[6]?.arg).toEqual({ case: "sizeArg", value: 9007199254740993n });
  });

  test("a process message is shared while its refcnt stays, and replaced when it changes", () => {
    const t = processTemplate(create(ProcessSchema, { pid: 1, binary: "/bin/sh" }));
    const a = processWithRefcnt(t, 2);
    expect(processWithRefcnt(t, 2)).toBe(a);
    const b = processWithRefcnt(t, 3);
    expect(b).not.toBe(a);
    expect(a.refcnt).toBe(2);
    expect(b.refcnt).toBe(3);
  });

  test("a time given with Number seconds (policy events) is written as the Timestamp with BigInt seconds", () => {
    const body = (): void => {};
    for (const seconds of [0, 1, 1_764_612_345, 2 ** 40, -1, -62_135_596_800])
      for (const nanos of [0, 1, 999_999_999]) {
        const asNumber = encodeEvent(9, body, undefined, "n", { seconds, nanos });
        const asBigInt = encodeEvent(9, body, undefined, "n", { seconds: BigInt(seconds), nanos });
        expect([seconds, nanos, asNumber]).toEqual([seconds, nanos, asBigInt]);
        const time = fromBinary(GetEventsResponseSchema, asNumber).time;
        expect([time?.seconds, time?.nanos]).toEqual([BigInt(seconds), nanos]);
      }
  });
});
