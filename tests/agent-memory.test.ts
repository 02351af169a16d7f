// What a wave of processes leaves behind is collected once the reader is
// idle: the real agent, 3,000 real processes that live a few seconds (their
// cache entries grow old in the heap) and then exit; the agent's
// memory_collections count goes up. (Its anon RSS is
// logged, not asserted: how soon the allocators return freed pages varies.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, realpathSync } from "node:fs";
import { HealthStatusType } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { sh } from "./helpers/process-run";

const PROCESSES = 3000;
const SLEEP = realpathSync("/bin/sleep");
const TRUE = realpathSync("/bin/true");
let agent: RunningAgent;

beforeAll(async () => {
  agent = await startAgent();
});

afterAll(async () => {
  await agent?.stop();
});

async function details(): Promise<string> {
  const health = await agent.client().getHealth({ eventSet: [HealthStatusType.STATUS] });
  return health.healthStatus.map((h) => h.details).join("; ");
}

async function counter(name: string): Promise<number> {
  const m = new RegExp(`\\b${name}=(\\d+)`).exec(await details());
  if (!m) throw new Error(`no ${name} in health details: ${await details()}`);
  return Number(m[1]);
}

function anonMiB(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no RssAnon for ${pid}`);
  return Number(m[1]) / 1024;
}

async function settled<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await Bun.sleep(100);
    v = await read();
  }
  return v;
}

test(`after ${PROCESSES} processes lived and exited, the idle agent runs a full collection`, async () => {
  await sh(`i=0; while [ $i -lt 200 ]; do ${TRUE}; i=$((i+1)); done`);
  await Bun.sleep(1000);
  const before = await counter("memory_collections");
  const baseline = anonMiB(agent.proc.pid);
  const recordsBefore = await counter("records");

  const r = await sh(`i=0; while [ $i -lt ${PROCESSES} ]; do ${SLEEP} 3 & i=$((i+1)); done; wait`);
  expect(r.exitCode).toBe(0);
  // a fork, an exec and an exit record each
  const records = await settled(() => counter("records"), (n) => n - recordsBefore >= 3 * PROCESSES, 60_000);
  expect(records - recordsBefore).toBeGreaterThanOrEqual(3 * PROCESSES);

  const after = await settled(() => counter("memory_collections"), (n) => n > before, 10_000);
  expect(after).toBeGreaterThan(before);
  await Bun.sleep(1500); // the allocator gives freed pages back shortly after a collection
  const anon = anonMiB(agent.proc.pid);
  console.log(`anon RSS ${baseline.toFixed(1)} -> ${anon.toFixed(1)} MiB; memory_collections ${before} -> ${after}`);
}, 120_000);
