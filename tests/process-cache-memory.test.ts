/* The cache never grows without bound: after 50,000 short-lived processes
 * (real execs, forks and exits from the kernel) its entries and the heap are
 * back near where they started. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { systemClock } from "../src/bpf/clock";
import { ProcessCache } from "../src/cache";
import { readHostNamespaces } from "../src/kernel/namespaces";
import { OP_EXIT } from "../src/decode/process";
import { ProcessProbe } from "./helpers/process-kernel";
import { sh } from "./helpers/process-run";

const COUNT = 50_000;
const TRUE = realpathSync("/bin/true");
let probe: ProcessProbe;
let cache: ProcessCache;
let events = 0;
const exited = new Set<number>();

beforeAll(() => {
  probe = ProcessProbe.start({ ringBufferBytes: 32 << 20 });
  probe.keep = false;
  cache = new ProcessCache({ nodeName: "mem", clock: systemClock(), hostNamespaces: readHostNamespaces("/proc"), ancestors: true });
  cache.walkProcFs(probe.map("execve_map"));
  probe.onRecord = (r) => {
    if (cache.handle(r)) events++;
    if (r.op === OP_EXIT) exited.add(r.tgid);
  };
});

afterAll(async () => {
  await probe?.stop();
});

function heapMiB(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed / (1 << 20);
}

function lostRecords(): bigint {
  let sum = 0n;
  const lost = probe.map("lost_events");
  for (let op = 0; op < 16; op++) {
    const key = new Uint8Array(new Uint32Array([op]).buffer);
    for (const v of lost.lookupPerCpu(key)) sum += new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
  }
  return sum;
}

test(`${COUNT} short-lived processes leave the cache and heap near their baseline`, async () => {
  // Warm up code paths and allocator pools before measuring.
  await sh(`i=0; while [ $i -lt 500 ]; do ${TRUE}; i=$((i+1)); done`);
  await Bun.sleep(200);
  const baseEntries = cache.stats().entries;
  const baseHeap = heapMiB();

  const started = Date.now();
  // Two loops in parallel (one per core here): half the wall time.
  const loop = `i=0; while [ $i -lt ${COUNT / 2} ]; do ${TRUE}; i=$((i+1)); done`;
  const r = await sh(`(${loop}) & (${loop}) & wait`);
  const ran = Date.now() - started;
  expect(r.exitCode).toBe(0);
  const deadline = Date.now() + 60_000;
  while (!exited.has(r.pid) && Date.now() < deadline) await Bun.sleep(50);
  expect(exited.has(r.pid)).toBe(true);

  const lost = lostRecords();
  if (lost > 0n) cache.reconcile();
  const stats = cache.stats();
  const heap = heapMiB();
  console.log(
    `ran ${ran} ms, drained ${Date.now() - started - ran} ms later; entries ${baseEntries} -> ${stats.entries}, heap ${baseHeap.toFixed(1)} -> ${heap.toFixed(1)} MiB, events ${events}, lost ${lost}, reclaimed ${stats.reclaimed}`,
  );
  expect(stats.execs).toBeGreaterThanOrEqual(COUNT);
  // Other engineers' processes come and go meanwhile: allow a few.
  expect(Math.abs(stats.entries - baseEntries)).toBeLessThan(50);
  expect(heap - baseHeap).toBeLessThan(16);
}, 300_000);
