// The ring-buffer reader on the real kernel: records arrive in order from the
// mapped ring, and a dead wake-up thread is noticed and replaced while
// records keep flowing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { decodeRecord, OP_EXEC } from "../src/decode/process";
import { TEST_RECORD } from "../src/decode/test";
import { RingBufferReader } from "../src/reader/ring-reader";
import { bpfObjectBytes } from "./helpers/build";

let object: BpfObject;
let reader: RingBufferReader;
const execs: number[] = [];

async function spawnTrue(): Promise<number> {
  const p = Bun.spawn(["/bin/true"]);
  await p.exited;
  return p.pid;
}

async function waitForExec(pid: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!execs.includes(pid)) {
    if (Date.now() > end) throw new Error(`no exec record for pid ${pid} within ${ms} ms`);
    await Bun.sleep(10);
  }
}

describe("ring-buffer reader", () => {
  beforeAll(() => {
    object = BpfObject.open("process", bpfObjectBytes("process"));
    object.load();
    for (const prog of object.programs()) object.track(prog.attach());
    reader = RingBufferReader.start(object.map("events").fd);
    reader.consume((rec) => {
      const r = decodeRecord(rec.slice());
      if (r?.op === OP_EXEC) execs.push(r.tgid);
    });
  });
  afterAll(() => {
    reader.stop();
    object.close();
  });

  test("reads every record of a burst from the mapped ring, in order, batching wake-ups", async () => {
    const pids: number[] = [];
    for (let i = 0; i < 200; i++) pids.push(await spawnTrue());
    await waitForExec(pids.at(-1)!);
    const seen = execs.filter((p) => pids.includes(p));
    expect(seen).toEqual(pids);
    // The last exits may still be on their way: wait for them, bounded.
    for (let i = 0; i < 100 && reader.stats().records < 600; i++) await Bun.sleep(20);
    const s = reader.stats();
    expect(s.records).toBeGreaterThanOrEqual(600); // exec, clone, exit each
    expect(s.wakeups).toBeLessThan(s.records);
    // Other processes on the machine keep adding records, and a reader may be
    // lingering (up to 16 ms) before its next slice: it must drain within a second.
    for (let i = 0; i < 50 && reader.backlogBytes() > 0; i++) await Bun.sleep(20);
    expect(reader.backlogBytes()).toBe(0);
  });

  test("a dead wake-up thread is restarted and records keep coming", async () => {
    reader.haltNotifierForTest();
    const end = Date.now() + 5000;
    while (reader.stats().restarts < 1 && Date.now() < end) await Bun.sleep(20);
    const s = reader.stats();
    expect(s.restarts).toBe(1);
    expect(s.alive).toBe(true);
    expect(s.lastRestartMs).toBeGreaterThan(0);
    const pid = await spawnTrue();
    await waitForExec(pid);
  });
});

// A steady trickle (~1.5 records/ms, getppid calls from a child process) must
// be read in batches of about the longest linger, not in many small slices:
// every slice costs a timer wake-up and a write per stream.
describe("ring-buffer reader at a steady trickle", () => {
  const LINGER_MAX_MS = 40;
  const DURATION_MS = 1500;
  const WORK_PER_RECORD_MS = 0.03;
  let sensor: BpfObject;
  let trickle: RingBufferReader;
  let mine = 0;

  beforeAll(() => {
    sensor = BpfObject.open("test_sensor", bpfObjectBytes("test_sensor"));
    sensor.load();
    for (const prog of sensor.programs()) sensor.track(prog.attach());
    trickle = RingBufferReader.start(sensor.map("events").fd, { lingerMaxMs: LINGER_MAX_MS });
  });

  afterAll(() => {
    trickle.stop();
    sensor.close();
  });

  test("lingers up to its longest wait, so slices ≈ duration ÷ that wait", async () => {
    const child = Bun.spawn(["perl", "-e", `my $end = time + ${DURATION_MS / 1000}; while (time < $end) { getppid(); select(undef, undef, undef, 0.0005) }`]);
    trickle.consume((rec) => {
      // The agent decodes and publishes each record: records keep arriving meanwhile.
      for (const end = performance.now() + WORK_PER_RECORD_MS; performance.now() < end; );
      if (new DataView(rec.buffer, rec.byteOffset).getUint32(TEST_RECORD.arg0, true) === child.pid) mine++;
    });
    await child.exited;
    await Bun.sleep(3 * LINGER_MAX_MS);
    const s = trickle.stats();
    expect(mine).toBeGreaterThan(DURATION_MS / 2); // the trickle ran: at least 0.5 per ms
    // The ramp (1, 2, 4, … ms) plus one slice per longest wait, with room for
    // other getppid callers on the host; per-record or per-ms slicing is far above.
    expect(s.slices).toBeLessThan((2 * DURATION_MS) / LINGER_MAX_MS + 20);
  });
});

// A sparser trickle (~0.3 records/ms, below the batching rate at the default
// longest wait) is read a wake-up at a time, with no wait after each that
// would find nothing and cost a timer per record; the same trickle under a
// longer longest wait (the operator accepts the latency) is batched.
describe("ring-buffer reader at a sparse trickle", () => {
  const DURATION_MS = 1500;
  const sparseTrickle = () => Bun.spawn(["perl", "-e", `my $end = time + ${DURATION_MS / 1000}; while (time < $end) { getppid(); select(undef, undef, undef, 0.003) }`]);

  async function run(lingerMaxMs: number | undefined): Promise<{ mine: number; slices: number; wakeups: number }> {
    const sensor = BpfObject.open("test_sensor", bpfObjectBytes("test_sensor"));
    sensor.load();
    for (const prog of sensor.programs()) sensor.track(prog.attach());
    const reader = RingBufferReader.start(sensor.map("events").fd, { lingerMaxMs });
    let mine = 0;
    try {
      const child = sparseTrickle();
      reader.consume((rec) => {
        if (new DataView(rec.buffer, rec.byteOffset).getUint32(TEST_RECORD.arg0, true) === child.pid) mine++;
      });
      await child.exited;
      await Bun.sleep(300);
      const s = reader.stats();
      return { mine, slices: s.slices, wakeups: s.wakeups };
    } finally {
      reader.stop();
      sensor.close();
    }
  }

  test("at the default longest wait: about one slice per wake-up", async () => {
    const r = await run(undefined);
    expect(r.mine).toBeGreaterThan(DURATION_MS / 10); // the trickle ran
    expect(r.wakeups).toBeGreaterThan(r.mine / 4);
    // A 1 ms wait after every wake-up would make it two per wake-up.
    expect(r.slices).toBeLessThan(1.3 * r.wakeups + 10);
  });

  test("at a 100 ms longest wait: batches of about that wait", async () => {
    const r = await run(100);
    expect(r.mine).toBeGreaterThan(DURATION_MS / 10);
    expect(r.slices).toBeLessThan((3 * DURATION_MS) / 100 + 30);
  });
});
