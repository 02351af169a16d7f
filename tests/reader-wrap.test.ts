// The ring's data pages are mapped once (bpf/runtime/fgs_runtime.c), so a
// record that runs past the ring's end is joined by fgs_ring_take. A small
// ring makes that happen every few records: each exec record must still
// decode to its own pid and arguments, in order.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { decodeRecord, OP_EXEC } from "../src/decode/process";
import { RingBufferReader } from "../src/reader/ring-reader";
import { bpfObjectBytes } from "./helpers/build";

const RING_BYTES = 8 * 1024;
let object: BpfObject;
let reader: RingBufferReader;
const execs = new Map<number, string[]>();

beforeAll(() => {
  object = BpfObject.open("process", bpfObjectBytes("process"), { maxEntries: new Map([["events", RING_BYTES]]) });
  object.load();
  for (const prog of object.programs()) object.track(prog.attach());
  reader = RingBufferReader.start(object.map("events").fd);
  reader.consume((rec) => {
    const r = decodeRecord(rec.slice());
    if (r?.op === OP_EXEC) execs.set(r.tgid, r.argv);
  });
});

afterAll(() => {
  reader.stop();
  object.close();
});

test("records that wrap around the end of a once-mapped ring arrive whole", async () => {
  const expected = new Map<number, string[]>();
  for (let i = 0; i < 300; i++) {
    // Argument lengths vary so records end at ever different ring offsets.
    const args = ["/bin/true", `wrap-${i}`, "x".repeat((i * 37) % 300)];
    const p = Bun.spawn(args);
    await p.exited;
    expected.set(p.pid, args);
  }
  const last = [...expected.keys()].at(-1)!;
  for (let i = 0; i < 250 && !execs.has(last); i++) await Bun.sleep(20);
  for (const [pid, args] of expected) expect(execs.get(pid)).toEqual(args);
  // The ring went round many times, so records straddled its end.
  expect(reader.stats().bytes).toBeGreaterThan(10 * RING_BYTES);
});
