// GetEventsResponse.rate_limit_info (40001), upstream's report of the export
// rate limit: the same bytes and JSON in both editions, readable by a client
// built from upstream's numbering, shown by the CLI and the console, and
// written into the export file by the exporter (periodically and at stop).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import * as fgs from "../../gen/fgs/fgs_pb";
import { EventType, FilterSchema, GetEventsResponseSchema, ProcessExecSchema, ProcessSchema } from "../../gen/tetragon/tetragon_pb";
import { EventBus } from "../../src/bus/index";
import { encodeResponse } from "../../src/bus/encode";
import { formatCompactLine, formatJsonLine } from "../../src/cli/output";
import { eventTypeName, summarize } from "../../src/console/page/format";
import { FileExporter } from "../../src/export/exporter";
import { RATE_LIMIT_REPORT_MS, rateLimitInfoEvent } from "../../src/export/rate-limit";
import { compileFilters } from "../../src/filters/index";
import { createLogger } from "../../src/log/logger";
import { EventTally } from "../../src/metrics/event-tally";

const TIME = { seconds: 1_700_000_000n, nanos: 250_000_000 };
const MAX_U64 = 18446744073709551615n;

describe("rate_limit_info on the wire", () => {
  test("field 40001 and RATE_LIMIT_INFO = 40001 in both editions", () => {
    for (const schemas of [{ GetEventsResponseSchema, EventType }, { GetEventsResponseSchema: fgs.GetEventsResponseSchema, EventType: fgs.EventType }]) {
      expect(schemas.GetEventsResponseSchema.field.rateLimitInfo?.number).toBe(40001);
      expect(schemas.EventType.RATE_LIMIT_INFO).toBe(40001);
    }
    expect(fgs.RateLimitInfoSchema.field.numberOfDroppedProcessEvents?.number).toBe(1);
  });

  for (const dropped of [1n, 120n, 0n, MAX_U64]) {
    test(`${dropped} dropped: the hand writer's bytes are protobuf-es's, and the fgs edition reads them`, () => {
      const ev = create(GetEventsResponseSchema, { event: { case: "rateLimitInfo", value: { numberOfDroppedProcessEvents: dropped } }, nodeName: "node1", time: TIME });
      const bytes = encodeResponse(ev);
      expect([...bytes]).toEqual([...toBinary(GetEventsResponseSchema, ev)]);
      const older = fromBinary(fgs.GetEventsResponseSchema, bytes);
      expect(older.event.case).toBe("rateLimitInfo");
      expect(older.event.case === "rateLimitInfo" ? older.event.value.numberOfDroppedProcessEvents : -1n).toBe(dropped);
      expect([...toBinary(fgs.GetEventsResponseSchema, older)]).toEqual([...bytes]);
    });
  }

  test("a client built from upstream's numbering decodes it", () => {
    // Only what upstream's api/v1/tetragon/events.proto says about these fields.
    const upstream = protobuf.parse(`
      syntax = "proto3";
      package tetragon;
      message Timestamp { int64 seconds = 1; int32 nanos = 2; }
      message RateLimitInfo { uint64 number_of_dropped_process_events = 1; }
      message GetEventsResponse {
        oneof event { RateLimitInfo rate_limit_info = 40001; }
        string node_name = 1000;
        Timestamp time = 1001;
      }`, { keepCase: true }).root.lookupType("tetragon.GetEventsResponse");
    const bytes = encodeResponse(rateLimitInfoEvent(4242, "node1", create(TimestampSchema, TIME)));
    const decoded = upstream.toObject(upstream.decode(bytes), { longs: String, oneofs: true }) as Record<string, unknown>;
    expect(decoded).toEqual({ event: "rate_limit_info", rate_limit_info: { number_of_dropped_process_events: "4242" }, node_name: "node1", time: { seconds: "1700000000", nanos: 250_000_000 } });
  });
});

describe("rate_limit_info as JSON and text", () => {
  const ev = rateLimitInfoEvent(120, "node1", create(TimestampSchema, TIME));

  test("the JSON line: uint64 as a string, protobuf field names, node and time, the same in both editions", () => {
    const line = formatJsonLine(ev);
    expect(line).toBe('{"node_name":"node1","time":"2023-11-14T22:13:20.250Z","rate_limit_info":{"number_of_dropped_process_events":"120"}}');
    const older = fromJsonString(fgs.GetEventsResponseSchema, line);
    expect(toJsonString(fgs.GetEventsResponseSchema, older, { useProtoFieldName: true })).toBe(line);
    expect(fromJsonString(GetEventsResponseSchema, line)).toEqual(ev);
  });

  test("compact line, console row, event type names and the metrics tally", () => {
    expect(formatCompactLine(ev, { colour: false })).toBe("🚦 ratelimit node1 120 events dropped");
    expect(formatCompactLine(rateLimitInfoEvent(1, "n", create(TimestampSchema, TIME)), { colour: false })).toBe("🚦 ratelimit n 1 event dropped");
    expect(summarize(ev)).toMatchObject({ emoji: "🚦", kind: "ratelimit", detail: "120 events dropped", binary: "", pid: "" });
    expect(eventTypeName(ev)).toBe("RATE_LIMIT_INFO");
    const tally = new EventTally();
    tally.observe("rateLimitInfo");
    expect([...tally.snapshot().byType]).toEqual([["RATE_LIMIT_INFO", 1]]);
  });

  test("event_set RATE_LIMIT_INFO selects it; process filters do not match it", () => {
    const byType = compileFilters({ allowList: [create(FilterSchema, { eventSet: [EventType.RATE_LIMIT_INFO] })], denyList: [] });
    const byBinary = compileFilters({ allowList: [create(FilterSchema, { binaryRegex: [".*"] })], denyList: [] });
    expect(byType(ev)).toBe(true);
    expect(byBinary(ev)).toBe(false);
  });
});

describe("the exporter reports what its rate limit dropped", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "fgs-ratelimit-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const exec = (pid: number) =>
    create(GetEventsResponseSchema, { event: { case: "processExec", value: create(ProcessExecSchema, { process: create(ProcessSchema, { pid, binary: "/bin/x" }) }) }, nodeName: "node1", time: TIME });

  interface Line {
    rate_limit_info?: { number_of_dropped_process_events?: string };
    process_exec?: unknown;
    node_name?: string;
    time?: string;
  }
  const lines = (path: string): Line[] =>
    readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Line);
  const reports = (path: string): number[] => lines(path).flatMap((l) => (l.rate_limit_info ? [Number(l.rate_limit_info.number_of_dropped_process_events ?? 0)] : []));

  async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await Bun.sleep(5);
    }
  }

  test("the upstream interval: one minute", () => {
    expect(RATE_LIMIT_REPORT_MS).toBe(60_000);
  });

  test("once per interval when something was dropped, nothing otherwise, and the rest at stop", async () => {
    const path = join(dir, "periodic.log");
    const bus = new EventBus();
    const interval = 300;
    const config = { file: { path, perm: 0o600, maxSizeBytes: 0, maxBackups: 0, compress: false }, rotationIntervalMs: 0, allowList: [], denyList: [], fieldFilters: [], rateLimitPerMinute: 2, rateLimitReportMs: interval, nodeName: "node-r" };
    const exporter = await FileExporter.start(config, bus, createLogger({ write: () => {} }));
    await Bun.sleep(20); // subscribed
    const start = Date.now();
    for (let pid = 1; pid <= 10; pid++) bus.publish(exec(pid));
    await until("10 events taken", () => exporter.stats().written + exporter.stats().droppedRateLimit === 10);
    expect(exporter.stats()).toMatchObject({ written: 2, droppedRateLimit: 8 });
    expect(reports(path)).toEqual([]); // not before the interval
    await until("the first report", () => reports(path).length === 1, 2000);
    expect(Date.now() - start).toBeGreaterThanOrEqual(interval - 50);
    expect(reports(path)).toEqual([8]);
    await Bun.sleep(interval * 2.5); // nothing dropped since: no report
    expect(reports(path)).toEqual([8]);
    for (let pid = 11; pid <= 15; pid++) bus.publish(exec(pid));
    await until("15 events taken", () => exporter.stats().written + exporter.stats().droppedRateLimit === 15);
    const written = exporter.stats().written;
    await exporter.stop();
    bus.close();
    const all = lines(path);
    expect(all.filter((l) => l.process_exec)).toHaveLength(written);
    expect(written + reports(path).reduce((a, b) => a + b, 0)).toBe(15);
    expect(reports(path)[0]).toBe(8);
    expect(reports(path).length).toBeLessThanOrEqual(3);
    expect(exporter.stats().written).toBe(written); // reports are not counted as exported events
    expect(exporter.describe()).toContain(`rate_limit_reports=${reports(path).length}`);
    for (const l of all.filter((x) => x.rate_limit_info)) {
      expect(l.node_name).toBe("node-r");
      expect(Math.abs(Date.parse(l.time ?? "") - Date.now())).toBeLessThan(10_000);
    }
  });

  test("no drop, no report (not even at stop)", async () => {
    const path = join(dir, "quiet.log");
    const bus = new EventBus();
    const config = { file: { path, perm: 0o600, maxSizeBytes: 0, maxBackups: 0, compress: false }, rotationIntervalMs: 0, allowList: [], denyList: [], fieldFilters: [], rateLimitPerMinute: 100, rateLimitReportMs: 50 };
    const exporter = await FileExporter.start(config, bus, createLogger({ write: () => {} }));
    await Bun.sleep(20);
    for (let pid = 1; pid <= 5; pid++) bus.publish(exec(pid));
    await until("5 lines", () => exporter.stats().written === 5);
    await Bun.sleep(200);
    await exporter.stop();
    bus.close();
    expect(lines(path)).toHaveLength(5);
    expect(reports(path)).toEqual([]);
  });
});
