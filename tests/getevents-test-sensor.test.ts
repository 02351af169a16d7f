import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { systemClock } from "../src/bpf/clock";
import { RingBufferReader } from "../src/reader/ring-reader";
import { decodeTestRecord, OP_TEST, TEST_RECORD, testEvent } from "../src/decode/test";
import { createLogger } from "../src/log/logger";
import { TEST_TRIGGER, TestSensor } from "../src/sensors/test-sensor";
import type { GetEventsResponse } from "../gen/tetragon/tetragon_pb";
import { bpfObjectBytes, ROOT } from "./helpers/build";

interface BtfType {
  name?: string;
  kind: string;
  size?: number;
  members?: { name: string; bits_offset: number }[];
}

/** struct fgs_test_record as the compiler laid it out (BTF of the object). */
function testRecordLayout(): Record<string, number> {
  bpfObjectBytes("test_sensor"); // builds if stale
  const out = Bun.spawnSync(["bpftool", "btf", "dump", "file", `${ROOT}/bpf/build/test_sensor.bpf.o`, "-j"]);
  const types = (JSON.parse(out.stdout.toString()) as { types: BtfType[] }).types;
  const rec = types.find((t) => t.kind === "STRUCT" && t.name === "fgs_test_record");
  const hdr = types.find((t) => t.kind === "STRUCT" && t.name === "fgs_record_header");
  if (!rec?.members || !hdr?.members) throw new Error("fgs_test_record not in BTF");
  const layout: Record<string, number> = { bytes: rec.size ?? 0 };
  for (const m of [...hdr.members, ...rec.members]) layout[m.name] = m.bits_offset / 8;
  delete layout.hdr;
  return layout;
}

describe("test sensor decoder", () => {
  test("offsets match the compiled BTF", () => {
    expect(testRecordLayout()).toEqual({ ...TEST_RECORD });
  });

  test("decodes header and four u64 arguments; rejects short or foreign records", () => {
    const bytes = new Uint8Array(TEST_RECORD.bytes);
    const v = new DataView(bytes.buffer);
    v.setUint32(TEST_RECORD.op, OP_TEST, true);
    v.setUint32(TEST_RECORD.size, TEST_RECORD.bytes, true);
    v.setBigUint64(TEST_RECORD.ktime, 5_000_000_000n, true);
    [1n, 2n, 3n, 2n ** 64n - 1n].forEach((a, k) => v.setBigUint64(TEST_RECORD.arg0 + 8 * k, a, true));
    expect(decodeTestRecord(bytes)).toEqual({ ktime: 5_000_000_000n, args: [1n, 2n, 3n, 2n ** 64n - 1n] });
    const ev = testEvent(bytes, { nodeName: "n1", bootNsToTimestamp: (ns) => ({ seconds: ns / 1_000_000_000n, nanos: 7 }) });
    expect(ev.event.case).toBe("test");
    expect(ev.nodeName).toBe("n1");
    expect(ev.time?.seconds).toBe(5n);
    expect(ev.time?.nanos).toBe(7);
    expect(() => decodeTestRecord(bytes.subarray(0, 40))).toThrow(/too short/);
    v.setUint32(TEST_RECORD.op, 1, true);
    expect(() => decodeTestRecord(bytes)).toThrow(/not a test record/);
  });
});

describe("test sensor on the kernel", () => {
  let base: BpfObject;
  let sensor: TestSensor;
  let reader: RingBufferReader;
  const events: GetEventsResponse[] = [];
  const clock = systemClock();
  let pump: Promise<void>;

  beforeAll(() => {
    base = BpfObject.open("process", bpfObjectBytes("process"));
    base.load();
    const shared = new Map(["events", "execve_map", "lost_events", "fgs_config"].map((m) => [m, base.map(m).fd]));
    sensor = TestSensor.load(bpfObjectBytes("test_sensor"), shared, createLogger({ write: () => {} }));
    reader = RingBufferReader.start(base.map("events").fd);
    pump = (async () => {
      for await (const rec of reader.records()) {
        const op = new DataView(rec.buffer, rec.byteOffset, rec.byteLength).getUint32(0, true);
        if (op === OP_TEST) events.push(testEvent(rec.slice(), { nodeName: "node", bootNsToTimestamp: clock.bootNsToTimestamp }));
      }
    })();
  });

  afterAll(async () => {
    await sensor.remove();
    reader.stop();
    await Promise.race([pump, Bun.sleep(2000)]);
    base.close();
  });

  async function trigger(): Promise<number> {
    const child = Bun.spawn([...TEST_TRIGGER]);
    await child.exited;
    return child.pid;
  }

  const fromPid = (pid: number) => events.filter((e) => e.event.case === "test" && e.event.value.arg0 === BigInt(pid));

  async function waitFrom(pid: number, timeoutMs = 3000): Promise<GetEventsResponse> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = fromPid(pid)[0];
      if (hit) return hit;
      await Bun.sleep(10);
    }
    throw new Error(`no test event from pid ${pid}`);
  }

  test("disabled: no events; enabled: getppid() from a known process emits one", async () => {
    expect(sensor.enabled).toBe(false);
    const quiet = await trigger();
    await Bun.sleep(200);
    expect(fromPid(quiet)).toEqual([]);

    await sensor.enable();
    expect(sensor.enabled).toBe(true);
    const before = Date.now();
    const pid = await trigger();
    const ev = await waitFrom(pid);
    if (ev.event.case !== "test") throw new Error("not a test event");
    expect(ev.event.value.arg1).toBe(BigInt(pid)); // single-threaded shell: tid = tgid
    expect(ev.event.value.arg3).toBeGreaterThan(0n);
    const ms = Number(ev.time?.seconds ?? 0n) * 1000 + (ev.time?.nanos ?? 0) / 1e6;
    expect(Math.abs(ms - before)).toBeLessThan(5000);
  });

  test("disable stops the events again", async () => {
    await sensor.disable();
    expect(sensor.enabled).toBe(false);
    const pid = await trigger();
    await Bun.sleep(200);
    expect(fromPid(pid)).toEqual([]);
  });
});
