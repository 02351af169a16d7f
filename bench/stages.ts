// Per-stage cost of the user-space event path, in-process, on the agent's own
// code: decode (bytes → record), enrich (record → GetEventsResponse with the
// cached Process), filter (one binary_regex stream), encode (wire bytes, once),
// queue (the stream's ring of enveloped bytes, taken out in write batches) —
// for a write-policy record like
// the throughput benchmark's (gen_record + 2 integer args). The kernel-to-JS
// read is measured on the real ring by the throughput run (reader stats).
import { create } from "@bufbuild/protobuf";
import { GetEventsRequestSchema } from "../gen/tetragon/tetragon_pb";
import { EnvelopeRing } from "../src/bus/envelope-ring";
import { AgentEvent } from "../src/bus/event";
import { ProcessCache } from "../src/cache/index";
import { decodeGenericRecord, genericAgentEvent, genericEvent, OP_KPROBE, type HookDescription } from "../src/decode/generic";
import { OP_CLONE, OP_EXEC, OP_EXIT, type CloneRecord, type ExecRecord, type ExitRecord } from "../src/decode/process";
import { compileFilters } from "../src/filters/index";
import { ARG_HDR, GenType, RECORD } from "../src/decode/generic-layout";
import { bootNsPlusOffset, bootNsToWall } from "../src/bpf/clock";
import { fmt, type Section } from "./lib/report";

const N = 200_000;
/** Events per write batch, as the gRPC writer takes them (BATCH_EVENTS in src/server/grpc-events.ts). */
const BATCH = 1024;
const TGID = 4242;

/** The records as views into one buffer, as the reader hands them over (a
 * view of a small standalone array makes JSC create its ArrayBuffer on first
 * use of .buffer, which the agent never pays). */
function inOneBuffer(records: readonly Uint8Array[]): Uint8Array[] {
  const all = new Uint8Array(records.reduce((n, r) => n + r.byteLength, 0));
  let at = 0;
  return records.map((r) => {
    all.set(r, at);
    at += r.byteLength;
    return all.subarray(at - r.byteLength, at);
  });
}

function writeRecord(ktime: bigint): Uint8Array {
  const argBytes = 2 * ARG_HDR.bytes;
  const buf = new Uint8Array(RECORD.bytes + argBytes);
  const v = new DataView(buf.buffer);
  v.setUint32(RECORD.op, OP_KPROBE, true);
  v.setUint32(RECORD.size, buf.byteLength, true);
  v.setBigUint64(RECORD.ktime, ktime, true);
  v.setUint32(RECORD.tgid, TGID, true);
  v.setUint32(RECORD.tid, TGID, true);
  v.setUint32(RECORD.hookId, 1, true);
  v.setUint8(RECORD.action, 0);
  v.setUint8(RECORD.nargs, 2);
  v.setUint32(RECORD.dataLen, argBytes, true);
  for (let slot = 0; slot < 6; slot++) v.setUint16(RECORD.argOff + 2 * slot, slot < 2 ? slot * ARG_HDR.bytes : 0xffff, true);
  v.setUint16(RECORD.argOff + 12, 0xffff, true);
  const arg = (at: number, type: number, value: bigint) => {
    v.setUint8(RECORD.bytes + at + ARG_HDR.type, type);
    v.setBigUint64(RECORD.bytes + at + ARG_HDR.value, value, true);
  };
  arg(0, GenType.int, 1n);
  arg(ARG_HDR.bytes, GenType.size, 1n);
  return buf;
}

function execRecord(): ExecRecord {
  return {
    op: OP_EXEC, ktime: 1_000_000n, tgid: TGID, startBoottime: 1_000_000n, parentTgid: 1, parentKtime: 0n,
    uid: 0, auid: 4294967295, flags: 1, cwd: "/work/main", binary: "/work/main/bench/build/write_loop",
    argv: ["write_loop", "2000000"], cgroup: "/", caps: { effective: 0x1ffffffffffn, permitted: 0x1ffffffffffn, inheritable: 0n },
    ns: { uts: 1, ipc: 2, mnt: 3, pid: 4, pidForChildren: 4, net: 5, time: 6, timeForChildren: 6, cgroup: 7, user: 8 },
  } as unknown as ExecRecord;
}

/** One short-lived child of the exec_loop kind: fork, exec, exit (the records as decoded). */
function execCycle(i: number): [CloneRecord, ExecRecord, ExitRecord] {
  const tgid = 100_000 + (i % 4_000_000);
  const fork = 10_000_000n + BigInt(i) * 1000n;
  const exec = { ...execRecord(), ktime: fork + 500n, tgid, tid: tgid, startBoottime: fork, parentTgid: TGID, parentKtime: 1_000_000n, binary: "/bin/true", argv: ["/bin/true", "lat", String(i)] };
  return [
    { op: OP_CLONE, time: fork, tgid, parentTgid: TGID, ktime: fork, parentKtime: 1_000_000n, flags: 0, nspid: tgid },
    exec,
    { op: OP_EXIT, time: fork + 900n, tgid, tid: tgid, ktime: fork + 500n, startBoottime: fork, exitCode: 0, flags: 0 },
  ];
}

/** Clone, exec and exit through the process cache, and the wire bytes of the exec and exit events. */
function execStage(cache: ProcessCache, rows: [string, number][]): void {
  const cycles = Array.from({ length: N / 4 }, (_, i) => execCycle(i));
  const t0 = performance.now();
  for (const [clone, exec, exit] of cycles) {
    cache.handle(clone);
    new AgentEvent(cache.handle(exec)!).encoded();
    new AgentEvent(cache.handle(exit)!).encoded();
  }
  rows.push(["exec: clone + exec + exit records → cache → 2 events' bytes", ((performance.now() - t0) * 1000) / cycles.length]);
}

function time<T>(label: string, rows: [string, number][], f: (i: number) => T): T[] {
  const out: T[] = new Array(N);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) out[i] = f(i);
  rows.push([label, ((performance.now() - t0) * 1000) / N]);
  return out;
}

export async function stagesBenchmark(): Promise<Section> {
  // The agent's conversion (src/bpf/clock.ts), with a wall-clock offset like a real one.
  const bootNsToTimestamp = (ns: bigint) => bootNsPlusOffset(ns, 1_764_600_000, 123_456_789);
  const cache = new ProcessCache({ nodeName: "bench-node", clock: { bootNsToTimestamp }, hostNamespaces: execRecord().ns });
  cache.onExec(execRecord());
  const hook: HookDescription = { kind: "kprobe", functionName: "__x64_sys_write", subsystem: "", event: "", policyName: "bench-write-all", message: "", tags: [], labels: [] };
  const bootNsToWallTime = (ns: bigint) => bootNsToWall(ns, 1_764_600_000, 123_456_789);
  const ctx = { nodeName: "bench-node", bootNsToWallTime, hook: () => hook, describe: (tgid: number) => cache.describe(tgid) };
  const records = inOneBuffer(Array.from({ length: N }, (_, i) => writeRecord(2_000_000n + BigInt(i))));
  const predicate = compileFilters(create(GetEventsRequestSchema, { allowList: [{ binaryRegex: ["write_loop$"] }] }), {});
  const rows: [string, number][] = [];
  for (let round = 0; round < 2; round++) {
    rows.length = 0; // the first round warms the JIT
    time("decode", rows, (i) => decodeGenericRecord(records[i]!));
    const msgs = time("decode + enrich (record → message)", rows, (i) => genericEvent(records[i]!, ctx)!);
    time("filter (binary_regex)", rows, (i) => predicate(msgs[i]!));
    const events = msgs.map((m) => new AgentEvent(m));
    const bytes = time("encode (once per event)", rows, (i) => events[i]!.encoded());
    time("record → bytes directly (no message; the gRPC path)", rows, (i) => genericAgentEvent(records[i]!, ctx)!.encoded());
    execStage(cache, rows);
    // What a gRPC stream does with each event's bytes: into its envelope ring, out a batch at a time.
    const ring = new EnvelopeRing();
    const out = Buffer.allocUnsafe(BATCH * (32 + (bytes[0]?.byteLength ?? 0)));
    time("queue in the stream's ring, out in 1,024-event batches", rows, (i) => {
      ring.push(bytes[i]!);
      if (ring.length < BATCH) return ring.length;
      const span = ring.span(BATCH);
      ring.takeInto(out, span);
      return span.bytes;
    });
  }
  const total = rows.filter(([l]) => l !== "decode" && !l.startsWith("record → bytes") && !l.startsWith("exec:")).reduce((s, [, us]) => s + us, 0);
  return {
    title: "User-space stages per event (in-process, write-policy record)",
    rows: [...rows.map(([metric, us]) => ({ metric, value: `${fmt(us, 2)} µs/${metric.startsWith("exec:") ? "exec" : "event"}` })), { metric: "sum, message path (without read and HTTP/2)", value: `${fmt(total, 2)} µs/event`, target: "≤ 5 µs" }],
    notes: [`${fmt(N)} events per stage, second of two rounds; read (ring → JS) and the HTTP/2 write are in the throughput run`],
  };
}

if (import.meta.main) {
  const s = await stagesBenchmark();
  for (const r of s.rows) console.log(`${r.metric.padEnd(40)} ${r.value}`);
}
