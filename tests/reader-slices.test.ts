// The reader copies each slice's records out of the ring into a buffer of its
// own (fgs_ring_take). A 64-byte buffer is smaller than any exec record: the
// reader must grow it, then end slices at the records that do not fit, and
// still deliver every record whole and in order.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { decodeRecord, OP_EXEC } from "../src/decode/process";
import { RingBufferReader } from "../src/reader/ring-reader";
import { bpfObjectBytes } from "./helpers/build";

let object: BpfObject;
let reader: RingBufferReader;
const execs: { pid: number; argv: string[] }[] = [];

beforeAll(() => {
  object = BpfObject.open("process", bpfObjectBytes("process"));
  object.load();
  for (const prog of object.programs()) object.track(prog.attach());
  reader = RingBufferReader.start(object.map("events").fd, { sliceBytes: 64 });
  reader.consume((rec) => {
    const r = decodeRecord(rec.slice());
    if (r?.op === OP_EXEC) execs.push({ pid: r.tgid, argv: r.argv });
  });
});

afterAll(() => {
  reader.stop();
  object.close();
});

test("records larger than the copy buffer arrive whole and in order", async () => {
  const expected: { pid: number; argv: string[] }[] = [];
  for (let i = 0; i < 200; i++) {
    const argv = ["/bin/true", `slice-${i}`, "y".repeat((i * 53) % 700)];
    const p = Bun.spawn(argv);
    await p.exited;
    expected.push({ pid: p.pid, argv });
  }
  const last = expected.at(-1)!.pid;
  for (let i = 0; i < 250 && !execs.some((e) => e.pid === last); i++) await Bun.sleep(20);
  const pids = new Set(expected.map((e) => e.pid));
  expect(execs.filter((e) => pids.has(e.pid))).toEqual(expected);
  // Each slice held only the records that fit in the grown buffer.
  const s = reader.stats();
  expect(s.slices).toBeGreaterThan(s.records / 4);
});
