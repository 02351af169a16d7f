// A 1,000,000-event storm through the real agent and a real gRPC stream:
// every event the kernel produced is either delivered to the client or
// counted where it was dropped (kernel ring, reader, stream queue), exactly;
// the stream is never ended, and delivery resumes at once after the storm.
// Asserts counts, never time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { EventType, GetEventsRequestSchema, HealthStatusType } from "../gen/tetragon/tetragon_pb";
import { ROOT, startAgent, type RunningAgent } from "./helpers/agent";

const STORM = 1_000_000;
/** write_loop writes its summary line too: one more event. */
const PRODUCED = STORM + 1;

const dir = mkdtempSync(join(tmpdir(), "fgs-storm-"));
const writeLoop = join(dir, "write_loop");
let agent: RunningAgent;

function policy(binary: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: storm-writes
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 2, type: size_t}
    selectors:
    - matchBinaries: [{operator: In, values: ["${binary}"]}]
`;
}

/** A raw gRPC GetEvents stream that counts messages without decoding them. */
class CountingStream {
  received = 0;
  error: string | undefined;
  ended = false;
  private pending: Buffer = Buffer.alloc(0);
  private readonly session: http2.ClientHttp2Session;

  constructor(address: string) {
    this.session = http2.connect(`http://${address}`);
    this.session.on("error", (e) => (this.error ??= e.message));
    const req = this.session.request({ ":path": "/tetragon.FineGuidanceSensors/GetEvents", ":method": "POST", "content-type": "application/grpc", te: "trailers" });
    const body = toBinary(GetEventsRequestSchema, create(GetEventsRequestSchema, { allowList: [{ eventSet: [EventType.PROCESS_KPROBE] }] }));
    const frame = Buffer.alloc(5 + body.byteLength);
    frame.writeUInt32BE(body.byteLength, 1);
    frame.set(body, 5);
    req.end(frame);
    req.on("data", (chunk: Buffer) => this.count(chunk));
    req.on("trailers", (t) => (this.error ??= t["grpc-status"] === "0" ? undefined : `grpc-status ${t["grpc-status"]}: ${t["grpc-message"]}`));
    req.on("end", () => (this.ended = true));
    req.on("error", (e) => (this.error ??= e.message));
  }

  private count(chunk: Buffer): void {
    const buf: Buffer = this.pending.byteLength ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.byteLength - at >= 5) {
      const len = buf.readUInt32BE(at + 1);
      if (buf.byteLength - at < 5 + len) break;
      at += 5 + len;
      this.received++;
    }
    this.pending = buf.subarray(at);
  }

  close(): void {
    this.session.close();
  }
}

interface Counters {
  kernelLost: number;
  shed: number;
  streamDelivered: number;
  streamDropped: number;
  streamQueued: number;
}

/** The agent's own counts, from GetHealth (the same text `fgs status` prints). */
async function counters(): Promise<Counters> {
  const health = await agent.client().getHealth({ eventSet: [HealthStatusType.STATUS] });
  const details = health.healthStatus.map((h) => h.details).join("; ");
  const num = (re: RegExp): number => Number(re.exec(details)?.[1] ?? 0);
  const stream = /streams=\d+\(grpc [^)]*\):delivered=(\d+),dropped=(\d+),queued=(\d+)/.exec(details);
  if (!stream) throw new Error(`no stream counters in health details: ${details}`);
  return {
    kernelLost: num(/lost_events=[^;]*?op5=(\d+)/),
    shed: num(/shed_by_op=[^ ;]*?op5:(\d+)/),
    streamDelivered: Number(stream[1]),
    streamDropped: Number(stream[2]),
    streamQueued: Number(stream[3]),
  };
}

async function settled(client: CountingStream): Promise<Counters> {
  let last = await counters();
  for (let i = 0; i < 600; i++) {
    await Bun.sleep(100);
    const now = await counters();
    if (now.streamQueued === 0 && now.streamDelivered === client.received && JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error(`the agent never settled: ${JSON.stringify(last)}, client received ${client.received}`);
}

function runWriteLoop(n: number): void {
  const r = spawnSync(writeLoop, [String(n)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`write_loop failed: ${r.stderr}`);
}

describe("a 1,000,000-event storm through the real agent", () => {
  beforeAll(async () => {
    const cc = spawnSync("cc", ["-O2", "-o", writeLoop, join(ROOT, "bench", "c", "write_loop.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cannot build write_loop: ${cc.stderr}`);
    const file = join(dir, "storm.yaml");
    writeFileSync(file, policy(writeLoop));
    agent = await startAgent(["--policy", file]);
  });
  afterAll(() => agent.stop());

  test("produced = delivered + kernel-ring + reader + stream drops, exactly; the stream stays open and resumes", async () => {
    const client = new CountingStream(agent.address);
    for (let i = 0; i < 100 && !/subscribers=1 /.test((await agent.client().getHealth({})).healthStatus.map((h) => h.details).join(" ")); i++) await Bun.sleep(50);

    runWriteLoop(STORM);
    const after = await settled(client);
    const dropped = after.kernelLost + after.shed + after.streamDropped;
    console.log(`storm: produced ${PRODUCED}, delivered ${client.received}, kernel ring ${after.kernelLost}, reader ${after.shed}, stream ${after.streamDropped}`);
    expect(client.error).toBeUndefined();
    expect(client.ended).toBe(false);
    expect(after.streamDelivered).toBe(client.received);
    expect(client.received + dropped).toBe(PRODUCED);
    expect(client.received).toBeGreaterThan(0);

    // Right after the storm, a small burst arrives whole on the same stream.
    const before = client.received;
    runWriteLoop(100);
    const calm = await settled(client);
    expect(client.received - before).toBe(101);
    expect(calm.kernelLost + calm.shed + calm.streamDropped).toBe(dropped);
    expect(client.error).toBeUndefined();
    client.close();
  }, 600_000);
});
