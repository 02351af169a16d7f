// BpfObject does not keep an object's ELF image after opening it (libbpf
// copies instructions, BTF and map data, and drops the ELF before
// bpf_object__open_mem returns). Proven by wiping the image right after open:
// the object must still load, attach and produce correct records.
import { afterAll, expect, test } from "bun:test";
import { BpfObject } from "../src/bpf/object";
import { decodeRecord, OP_EXEC } from "../src/decode/process";
import { RingBufferReader } from "../src/reader/ring-reader";
import { bpfObjectBytes } from "./helpers/build";

let object: BpfObject | undefined;
let reader: RingBufferReader | undefined;

afterAll(() => {
  reader?.stop();
  object?.close();
});

test("an object loads, attaches and reports execs after its image was overwritten", async () => {
  const image = new Uint8Array(bpfObjectBytes("process")); // a copy: the helper may cache its bytes
  object = BpfObject.open("process", image);
  image.fill(0xa5);
  Bun.gc(true);
  object.load();
  for (const prog of object.programs()) object.track(prog.attach());
  const execs = new Map<number, string[]>();
  reader = RingBufferReader.start(object.map("events").fd);
  reader.consume((rec) => {
    const r = decodeRecord(rec.slice());
    if (r?.op === OP_EXEC) execs.set(r.tgid, r.argv);
  });
  const p = Bun.spawn(["/bin/true", "image-wiped"]);
  await p.exited;
  for (let i = 0; i < 100 && !execs.has(p.pid); i++) await Bun.sleep(20);
  expect(execs.get(p.pid)).toEqual(["/bin/true", "image-wiped"]);
});
