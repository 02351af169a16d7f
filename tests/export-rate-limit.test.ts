// Issue 13 (Events): a real agent with --export-rate-limit under a burst of
// execs writes what the limit dropped into the export file as upstream's
// rate_limit_info lines (GetEventsResponse field 40001), so that the kept
// events plus the reported drops add up to exactly what was offered.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJsonString, toBinary } from "@bufbuild/protobuf";
import protobuf from "protobufjs";
import * as fgs from "../gen/fgs/fgs_pb";
import { GetEventsResponseSchema } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { sampleValue, scrape } from "./helpers/prometheus";

let dir: string;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("export rate-limit tests need root (they run the agent)");
  dir = mkdtempSync(join(tmpdir(), "fgs-export-rl-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of /bin/true with a unique name: the export allowlist keeps only it. */
function marker(name: string): string {
  const path = join(dir, name);
  copyFileSync("/bin/true", path);
  return path;
}

function runMany(bin: string, n: number): void {
  const r = spawnSync("/bin/sh", ["-c", `i=0; while [ $i -lt ${n} ]; do "${bin}" x; i=$((i+1)); done`], { timeout: 120_000 });
  expect(r.status).toBe(0);
}

interface Line {
  rate_limit_info?: { number_of_dropped_process_events?: string };
  process_exec?: { process?: { binary?: string } };
  process_exit?: { process?: { binary?: string } };
  node_name?: string;
  time?: string;
}

const rawLines = (path: string): string[] => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0);

/** The counters GetHealth reports for the exporter (written=… dropped_rate_limit=…). */
async function exportCounters(a: RunningAgent): Promise<{ written: number; droppedRateLimit: number }> {
  const details = (await a.client().getHealth({})).healthStatus.map((st) => st.details).join("; ");
  const get = (key: string) => {
    const m = new RegExp(`\\b${key}=(\\d+)`).exec(details);
    if (!m) throw new Error(`no ${key} in health details: ${details}`);
    return Number(m[1]);
  };
  return { written: get("written"), droppedRateLimit: get("dropped_rate_limit") };
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function metricsUrl(a: RunningAgent): string {
  const line = a.log().split("\n").find((l) => l.includes('"serving metrics"'));
  if (!line) throw new Error("no metrics address logged");
  return `http://${(JSON.parse(line) as { address: string }).address}/metrics`;
}

/** A client that knows only upstream's numbering (api/v1/tetragon/events.proto). */
const upstreamResponse = protobuf
  .parse(
    `syntax = "proto3";
     package tetragon;
     message Timestamp { int64 seconds = 1; int32 nanos = 2; }
     message RateLimitInfo { uint64 number_of_dropped_process_events = 1; }
     message GetEventsResponse {
       oneof event { RateLimitInfo rate_limit_info = 40001; }
       string node_name = 1000;
       Timestamp time = 1001;
     }`,
    { keepCase: true },
  )
  .root.lookupType("tetragon.GetEventsResponse");

const allowBinary = (bin: string) => JSON.stringify([{ binary_regex: [`^${bin}$`] }]);

describe("rate_limit_info in the export file", () => {
  test("a burst over the limit: kept events + reported drops = events offered, exactly, and the report decodes as field 40001", async () => {
    const path = join(dir, "burst.log");
    const bin = marker("rl-burst-marker");
    const N = 60; // 2N events offered (exec + exit)
    const a = await startAgent(["--node-name", "rl-node", "--export-file", path, "--export-allowlist", allowBinary(bin), "--export-rate-limit", "7", "--metrics-address", "127.0.0.1:0"]);
    const started = Date.now();
    let counters: { written: number; droppedRateLimit: number };
    try {
      runMany(bin, N);
      await waitFor("the exporter to take every event", async () => {
        const c = await exportCounters(a);
        return c.written + c.droppedRateLimit === 2 * N;
      });
      counters = await exportCounters(a);
      expect(counters.written).toBeGreaterThanOrEqual(7);
      expect(counters.written).toBeLessThanOrEqual(9); // a token or two may refill during the burst
      expect(sampleValue(await scrape(metricsUrl(a)), "tetragon_export_ratelimit_events_dropped_total")).toBe(counters.droppedRateLimit);
      // Reports come once per minute: none yet, unless this machine was very slow.
      if (Date.now() - started < 55_000) expect(rawLines(path).some((l) => l.includes("rate_limit_info"))).toBe(false);
    } finally {
      expect(await a.stop()).toBe(0);
    }
    const raw = rawLines(path);
    const lines = raw.map((l) => JSON.parse(l) as Line);
    const events = lines.filter((l) => !l.rate_limit_info);
    const reports = lines.filter((l) => l.rate_limit_info);
    const reported = reports.reduce((sum, l) => sum + Number(l.rate_limit_info?.number_of_dropped_process_events), 0);
    expect(events.length).toBe(counters.written);
    expect(reported).toBe(counters.droppedRateLimit);
    expect(events.length + reported).toBe(2 * N);
    expect(reports).toHaveLength(1); // the stop reports what the minute had not
    for (const l of events) expect(l.process_exec?.process?.binary ?? l.process_exit?.process?.binary).toBe(bin);

    const report = raw.find((l) => l.includes("rate_limit_info")) as string;
    const r = JSON.parse(report) as Line;
    expect(Object.keys(r).sort()).toEqual(["node_name", "rate_limit_info", "time"]);
    expect(r.node_name).toBe("rl-node");
    expect(r.rate_limit_info?.number_of_dropped_process_events).toBe(String(counters.droppedRateLimit)); // uint64: a JSON string
    const lastEvent = Math.max(...events.map((l) => Date.parse(l.time ?? "")));
    expect(Date.parse(r.time ?? "")).toBeGreaterThanOrEqual(lastEvent);

    // Decoded by our schema (both editions), and on the wire by a client of upstream's numbering.
    const ours = fromJsonString(GetEventsResponseSchema, report);
    expect(ours.event.case).toBe("rateLimitInfo");
    const older = fromJsonString(fgs.GetEventsResponseSchema, report);
    expect(older.event.case === "rateLimitInfo" ? older.event.value.numberOfDroppedProcessEvents : -1n).toBe(BigInt(counters.droppedRateLimit));
    const decoded = upstreamResponse.toObject(upstreamResponse.decode(toBinary(GetEventsResponseSchema, ours)), { longs: String, oneofs: true }) as Record<string, unknown>;
    expect(decoded.event).toBe("rate_limit_info");
    expect(decoded.rate_limit_info).toEqual({ number_of_dropped_process_events: String(counters.droppedRateLimit) });
    expect(decoded.node_name).toBe("rl-node");
  }, 120_000);

  test("under the limit nothing is dropped and no rate_limit_info line is written, not even at stop", async () => {
    const path = join(dir, "quiet.log");
    const bin = marker("rl-quiet-marker");
    const a = await startAgent(["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-rate-limit", "1000"]);
    try {
      runMany(bin, 5);
      await waitFor("10 lines", async () => (await exportCounters(a)).written === 10);
      expect((await exportCounters(a)).droppedRateLimit).toBe(0);
    } finally {
      expect(await a.stop()).toBe(0);
    }
    const lines = rawLines(path);
    expect(lines).toHaveLength(10);
    expect(lines.some((l) => l.includes("rate_limit_info"))).toBe(false);
  }, 60_000);
});
