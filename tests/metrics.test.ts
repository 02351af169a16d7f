// Issue 14, metrics: a real agent serves /metrics; a real Prometheus text
// parser reads it; the counts follow a known workload (execs of a marker
// binary, a policy's events, a GetEvents stream).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgentToExit, startAgent, type RunningAgent } from "./helpers/agent";
import { scrape, sampleValue, type PromFamily } from "./helpers/prometheus";

let agent: RunningAgent;
let metricsUrl: string;
let dir: string;
let marker: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fgs-metrics-"));
  marker = join(dir, "fgs-metrics-marker");
  copyFileSync("/bin/true", marker);
  agent = await startAgent(["--metrics-address", "127.0.0.1:0", "--metrics-bpf-stats"]);
  const line = agent.log().split("\n").find((l) => l.includes('"serving metrics"'));
  if (!line) throw new Error(`no metrics address logged:\n${agent.log()}`);
  metricsUrl = `http://${(JSON.parse(line) as { address: string }).address}/metrics`;
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const value = (f: PromFamily[], name: string, labels: Record<string, string> = {}) => sampleValue(f, name, labels);

test("the metrics address is loopback and parses as Prometheus text with the expected families", async () => {
  expect(metricsUrl).toStartWith("http://127.0.0.1:");
  const families = await scrape(metricsUrl);
  const names = new Set(families.map((f) => f.name));
  for (const n of ["tetragon_events", "tetragon_bpf_missed_events", "tetragon_notify_overflowed_events", "tetragon_process_cache_size", "tetragon_handling_latency", "fgs_streams_live", "fgs_events_dropped", "fgs_ringbuf_size_bytes", "fgs_policy_load_errors"]) {
    expect(names).toContain(n);
  }
  expect(families.find((f) => f.name === "tetragon_handling_latency")?.type).toBe("histogram");
  expect(families.find((f) => f.name === "tetragon_events")?.type).toBe("counter");
  const notFound = await fetch(metricsUrl.replace("/metrics", "/nope"));
  expect(notFound.status).toBe(404);
});

test("N execs of a marker binary raise the exec counters, the stream and the BPF program counts by at least N", async () => {
  const N = 25;
  const c = agent.client();
  const abort = new AbortController();
  let markerExecs = 0;
  const reading = (async () => {
    try {
      for await (const ev of c.getEvents({}, { signal: abort.signal })) {
        if (ev.event.case === "processExec" && ev.event.value.process?.binary === marker) markerExecs++;
      }
    } catch {
      /* aborted */
    }
  })();
  await Bun.sleep(300);
  const before = await scrape(metricsUrl);
  expect(value(before, "fgs_streams_live")).toBeGreaterThanOrEqual(1);
  for (let i = 0; i < N; i++) expect(spawnSync(marker).status).toBe(0);
  const deadline = Date.now() + 10_000;
  while (markerExecs < N && Date.now() < deadline) await Bun.sleep(100);
  const after = await scrape(metricsUrl);
  abort.abort();
  await reading;
  expect(markerExecs).toBe(N);
  const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
  expect(delta("tetragon_events_total", { type: "PROCESS_EXEC" })).toBeGreaterThanOrEqual(N);
  expect(delta("tetragon_events_total", { type: "PROCESS_EXIT" })).toBeGreaterThanOrEqual(N);
  expect(delta("fgs_events_delivered_total", { stage: "stream" })).toBeGreaterThanOrEqual(2 * N);
  expect(delta("fgs_events_delivered_total", { stage: "reader" })).toBeGreaterThanOrEqual(3 * N); // exec, clone, exit records
  // One record in 16 is timed (the histogram is a sample; src/agent/pipeline.ts).
  expect(delta("tetragon_handling_latency_count")).toBeGreaterThanOrEqual(Math.floor((3 * N) / 16));
  expect(delta("tetragon_overhead_program_runs_total", { program: "fgs_exec" })).toBeGreaterThanOrEqual(N);
  expect(value(after, "tetragon_overhead_program_seconds_total", { program: "fgs_exec" })).toBeGreaterThan(0);
  expect(value(after, "tetragon_process_cache_size")).toBeGreaterThan(0);
});

test("policy events are counted by policy and hook; a refused policy is a load error", async () => {
  const c = agent.client();
  const name = "metrics-openat";
  const target = join(dir, "opened-file");
  await c.addTracingPolicy({
    yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["${target}"]}
`,
  });
  try {
    const N = 10;
    for (let i = 0; i < N; i++) spawnSync("/bin/cat", [target]);
    await Bun.sleep(500);
    const f = await scrape(metricsUrl);
    expect(value(f, "tetragon_policy_events_total", { policy: name, hook: "__x64_sys_openat" })).toBeGreaterThanOrEqual(N);
    expect(value(f, "tetragon_tracingpolicy_loaded")).toBe(1);
    const errorsBefore = value(f, "fgs_policy_load_errors_total");
    await c.addTracingPolicy({ yaml: "kind: Nonsense" }).catch(() => undefined);
    expect(value(await scrape(metricsUrl), "fgs_policy_load_errors_total")).toBe(errorsBefore + 1);
  } finally {
    await c.deleteTracingPolicy({ yaml: name });
  }
});

test("metrics are off by default and a bad address is a usage error", async () => {
  const r = runAgentToExit(["--metrics-address", "nohost"]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--metrics-address "nohost": expected host:port');
  expect(agent.log()).toContain('"serving metrics"');
});
