// The ring-buffer reader on the real kernel: records arrive in order from the
// mapped ring, and a dead wake-up thread is noticed and replaced while
// records keep flowing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { decodeRecord, OP_EXEC } from "../src/decode/process";
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
