// GetEvents filters, slow clients and many clients over the wire: a real
// server (one port: gRPC, gRPC-web, Connect) in this process, fed by the bus
// directly, read by grpc-js (a real gRPC stack) and by Connect JSON.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, fromBinary, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { FineGuidanceSensors as FgsService, GetEventsRequestSchema as FgsGetEventsRequestSchema, GetEventsResponseSchema as FgsGetEventsResponseSchema } from "../../gen/fgs/fgs_pb";
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import {
  ContainerSchema,
  GetEventsResponseSchema,
  PodSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessKprobeSchema,
  ProcessSchema,
  TestSchema,
} from "../../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as TetragonService, GetEventsRequestSchema } from "../../gen/tetragon/tetragon_pb";
import type { GetEventsResponse, Process } from "../../gen/tetragon/tetragon_pb";
import { Agent } from "../../src/agent/agent";
import { EventBus } from "../../src/bus/index";
import { createLogger } from "../../src/log/logger";
import { SensorManager } from "../../src/sensors/manager";
import { grpcJsClient, grpcStream } from "../helpers/grpc-js";

// ---- events ------------------------------------------------------------------

function proc(pid: number, binary: string, parent?: Process, namespace?: string, probe = false): Process {
  const pod = namespace === undefined ? undefined : create(PodSchema, { namespace, container: create(ContainerSchema, { maybeExecProbe: probe }) });
  return create(ProcessSchema, { pid, binary, execId: `exec-${pid}`, parentExecId: parent?.execId ?? "", pod });
}
const exec = (p: Process, parent?: Process): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "processExec", value: create(ProcessExecSchema, { process: p, parent }) } });
const exit = (p: Process, parent?: Process): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "processExit", value: create(ProcessExitSchema, { process: p, parent }) } });

const curl = proc(100, "/usr/bin/curl");
const bash = proc(200, "/bin/bash", undefined, "default");
const probe = proc(300, "/bin/ls", undefined, "kube-system", true);
const sleep = proc(201, "/usr/bin/sleep", bash, "default");
const cat = proc(202, "/usr/bin/cat", sleep, "default");
const EVENTS = [
  exec(curl),
  exec(bash),
  exec(probe),
  exec(sleep, bash),
  exec(cat, sleep),
  exit(sleep, bash),
  create(GetEventsResponseSchema, { event: { case: "test", value: create(TestSchema, { arg0: 1n }) } }),
  exit(curl),
];

/** Requests in proto JSON (snake_case names, enums by name, bare wrapper values) and what each must get. */
const CASES: readonly { name: string; request: Record<string, unknown>; want: string[] }[] = [
  { name: "binary_regex", request: { allow_list: [{ binary_regex: ["curl$"] }] }, want: ["exec100", "exit100"] },
  { name: "namespace", request: { allow_list: [{ namespace: ["default"] }] }, want: ["exec200", "exec201", "exec202", "exit201"] },
  { name: "namespace of host processes", request: { allow_list: [{ namespace: [""] }] }, want: ["exec100", "exit100"] },
  { name: "health_check", request: { allow_list: [{ health_check: true }] }, want: ["exec300"] },
  { name: "pid", request: { allow_list: [{ pid: [200, 300] }] }, want: ["exec200", "exec300"] },
  { name: "pid_set", request: { allow_list: [{ pid_set: [200] }] }, want: ["exec200", "exec201", "exec202", "exit201"] },
  { name: "event_set", request: { allow_list: [{ event_set: ["PROCESS_EXIT", "TEST"] }] }, want: ["exit201", "test", "exit100"] },
  { name: "deny binary_regex", request: { deny_list: [{ binary_regex: ["^/usr/bin/"] }] }, want: ["exec200", "exec300", "test"] },
  { name: "deny event_set", request: { deny_list: [{ event_set: ["PROCESS_EXEC"] }] }, want: ["exit201", "test", "exit100"] },
  {
    name: "allow filters ORed, fields ANDed, minus deny",
    request: {
      allow_list: [{ pid_set: [200], event_set: ["PROCESS_EXEC"] }, { event_set: ["TEST"] }],
      deny_list: [{ binary_regex: ["cat"] }],
    },
    want: ["exec200", "exec201", "test"],
  },
  {
    name: "namespace and health_check, deny pid",
    request: { allow_list: [{ namespace: ["kube-system", "default"], health_check: false }], deny_list: [{ pid: [202] }] },
    want: ["exec200", "exec201", "exit201"],
  },
];

// ---- agent -------------------------------------------------------------------

let agent: Agent;
let bus: EventBus;
let baseUrl: string;

async function startAgent(queueCapacity?: number): Promise<void> {
  bus = new EventBus({ queueCapacity });
  agent = await Agent.start({
    address: { kind: "tcp", host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
    log: createLogger({ write: () => {} }),
    version: "test",
    bus,
    sensors: new SensorManager(),
    components: [],
  });
  baseUrl = `http://${agent.address}`;
}

async function waitForSubscribers(n: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (bus.stats().subscribers < n) {
    if (Date.now() > deadline) throw new Error(`only ${bus.stats().subscribers}/${n} streams subscribed`);
    await Bun.sleep(5);
  }
}

// ---- clients -----------------------------------------------------------------

/** The shared-bytes path's transports other than gRPC (grpc-js tests that one). */
const transports = () => ({
  "grpc-web h1": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  "grpc-web h2": createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
  "connect binary h1": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  "connect binary h2": createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
});

type Json = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], o);

/** "exec100", "exit201", "test" from a grpc-js (keepCase) or Connect JSON (camelCase) event. */
function label(ev: Json): string {
  for (const [kind, keys] of [["exec", ["process_exec", "processExec"]], ["exit", ["process_exit", "processExit"]]] as const) {
    for (const k of keys) {
      const pid = get(ev, k, "process", "pid");
      if (pid !== undefined) return `${kind}${typeof pid === "object" ? get(pid, "value") : pid}`;
    }
  }
  return ev.test !== undefined && ev.test !== null ? "test" : `unknown:${JSON.stringify(ev)}`;
}

/** grpc-js wants wrapper messages as objects. */
function grpcRequest(request: Json): Json {
  const fix = (filters: unknown) =>
    (filters as Json[] | undefined)?.map((f) => (f.health_check === undefined ? f : { ...f, health_check: { value: f.health_check } }));
  return { ...request, allow_list: fix(request.allow_list) ?? [], deny_list: fix(request.deny_list) ?? [] };
}

interface StreamResult {
  events: Json[];
  error?: { code: string | number; message: string };
}

function grpcGetEvents(request: Json, pkg: "tetragon" | "fgs" = "tetragon", ownConnection = false): { result: Promise<StreamResult>; call: ClientReadableStream<unknown> } {
  const client = grpcJsClient(pkg, agent.address, ownConnection);
  const call = grpcStream(client, "GetEvents", grpcRequest(request));
  const events: Json[] = [];
  const result = new Promise<StreamResult>((resolve) => {
    call.on("data", (ev: Json) => events.push(ev));
    call.on("error", (e: ServiceError) => {
      client.close();
      resolve({ events, error: { code: e.code, message: e.details } });
    });
    call.on("end", () => {
      client.close();
      resolve({ events });
    });
  });
  return { result, call };
}

/** Server-streaming over Connect with JSON: enveloped request, enveloped responses. */
async function connectJsonGetEvents(request: Json): Promise<StreamResult> {
  const body = Buffer.from(JSON.stringify(request));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  const res = await fetch(`${baseUrl}/tetragon.FineGuidanceSensors/GetEvents`, {
    method: "POST",
    headers: { "content-type": "application/connect+json" },
    body: Buffer.concat([head, body]),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const events: Json[] = [];
  for (let off = 0; off + 5 <= bytes.length; ) {
    const flags = bytes[off] ?? 0;
    const len = bytes.readUInt32BE(off + 1);
    const msg = JSON.parse(bytes.subarray(off + 5, off + 5 + len).toString()) as Json;
    off += 5 + len;
    if ((flags & 0x02) === 0) events.push(msg);
    else if (msg.error !== undefined) return { events, error: msg.error as StreamResult["error"] };
  }
  return { events };
}

// ---- tests -------------------------------------------------------------------

describe("GetEvents filters over gRPC and Connect JSON", () => {
  beforeAll(() => startAgent());
  afterAll(() => agent.stop());

  test("every case on both protocols, all streams open at once", async () => {
    const grpc = CASES.map((c) => grpcGetEvents(c.request).result);
    const fgsPackage = grpcGetEvents(CASES[0]?.request ?? {}, "fgs").result;
    const connect = CASES.map((c) => connectJsonGetEvents(c.request));
    await waitForSubscribers(CASES.length * 2 + 1);
    for (const ev of EVENTS) bus.publish(ev);
    await Bun.sleep(200);
    bus.close(); // ends every stream normally
    const [g, c, f] = await Promise.all([Promise.all(grpc), Promise.all(connect), fgsPackage]);
    CASES.forEach((tc, k) => {
      expect({ case: tc.name, grpc: g[k]?.events.map(label), error: g[k]?.error }).toEqual({ case: tc.name, grpc: tc.want, error: undefined });
      expect({ case: tc.name, connect: c[k]?.events.map(label), error: c[k]?.error }).toEqual({ case: tc.name, connect: tc.want, error: undefined });
    });
    expect(f.events.map(label)).toEqual(CASES[0]?.want ?? []);
  });
});

/** Either package's response as the tetragon JSON `label` reads (same field numbers). */
function asTetragonJson(ev: unknown): Json {
  const typeName = (ev as { $typeName: string }).$typeName;
  const bytes = typeName === FgsGetEventsResponseSchema.typeName ? toBinary(FgsGetEventsResponseSchema, ev as never) : toBinary(GetEventsResponseSchema, ev as GetEventsResponse);
  return toJson(GetEventsResponseSchema, fromBinary(GetEventsResponseSchema, bytes)) as Json;
}

describe("GetEvents over gRPC-web and Connect binary (the shared-bytes path)", () => {
  beforeAll(() => startAgent());
  afterAll(() => agent.stop());

  test("every filter case and both packages decode to the published events, then end OK", async () => {
    const c = CASES[3] ?? CASES[0]!;
    const request = fromJson(GetEventsRequestSchema, c.request as JsonValue);
    const streams = (t: Transport): AsyncIterable<unknown>[] => [
      createClient(TetragonService, t).getEvents(request),
      createClient(FgsService, t).getEvents(fromBinary(FgsGetEventsRequestSchema, toBinary(GetEventsRequestSchema, request))),
    ];
    const runs = Object.entries(transports()).flatMap(([name, t]) =>
      streams(t).map(async (stream, k) => {
        const got: string[] = [];
        try {
          for await (const ev of stream) got.push(label(asTetragonJson(ev)));
          return { name: `${name} ${k ? "fgs" : "tetragon"}`, got };
        } catch (e) {
          return { name: `${name} ${k ? "fgs" : "tetragon"}`, got, error: String(e) };
        }
      }),
    );
    await waitForSubscribers(8);
    // Served by the shared-bytes writer, not connect-node (which leaves no label).
    expect(bus.stats().streams.map((st) => st.label.split(" ")[0]).sort()).toEqual(["connect", "connect", "connect", "connect", "grpc-web", "grpc-web", "grpc-web", "grpc-web"]);
    for (const ev of EVENTS) bus.publish(ev);
    await Bun.sleep(200);
    bus.close();
    for (const r of await Promise.all(runs)) expect(r).toEqual({ name: r.name, got: c.want });
  });

  test("an invalid filter is an invalid_argument error on each of them", async () => {
    for (const [name, t] of Object.entries(transports())) {
      let err: unknown;
      try {
        for await (const _ of createClient(TetragonService, t).getEvents({ allowList: [{ binaryRegex: ["(?<=x)y"] }] })) void _;
      } catch (e) {
        err = e;
      }
      expect({ name, code: ConnectError.from(err).code }).toEqual({ name, code: Code.InvalidArgument });
    }
  });
});

describe("GetEvents write buffers under many batches", () => {
  beforeAll(() => startAgent(50_000));
  afterAll(() => agent.stop());

  test("many batches arrive intact on each of them (write buffers are reused once written)", async () => {
    const N = 20_000;
    const want: string[] = [];
    const published: GetEventsResponse[] = [];
    for (let i = 0; i < N; i++) {
      const p = proc(10_000 + i, `/usr/bin/${"x".repeat(i % 97)}`);
      published.push(exec(p));
      want.push(`${p.pid}:${p.binary}`);
    }
    const runs = Object.entries(transports()).map(async ([name, t]) => {
      const got: string[] = [];
      for await (const ev of createClient(TetragonService, t).getEvents({})) {
        if (ev.event.case === "processExec") got.push(`${ev.event.value.process?.pid}:${ev.event.value.process?.binary}`);
      }
      return { name, count: got.length, same: got.every((g, i) => g === want[i]) };
    });
    await waitForSubscribers(4);
    for (let i = 0; i < N; i += 500) {
      for (const ev of published.slice(i, i + 500)) bus.publish(ev);
      await Bun.sleep(1);
    }
    await Bun.sleep(500);
    bus.close();
    for (const r of await Promise.all(runs)) expect(r).toEqual({ name: r.name, count: N, same: true });
  });

});

describe("GetEvents errors and limits over the wire", () => {
  beforeAll(() => startAgent(10_000));
  afterAll(() => agent.stop());

  test("an invalid regex fails the call with INVALID_ARGUMENT naming the pattern", async () => {
    const request = { allow_list: [{ binary_regex: ["ok", "(?<=x)y"] }] };
    const g = await grpcGetEvents(request).result;
    expect(g.error?.code).toBe(3);
    expect(decodeURIComponent(g.error?.message ?? "")).toContain('invalid binary_regex "(?<=x)y"');
    const c = await connectJsonGetEvents(request);
    expect(c.error?.code).toBe("invalid_argument");
    expect(c.error?.message).toContain('"(?<=x)y"');
  });

  /** Waits until the newest stream (the reading one) has at most `queued` events waiting. */
  async function paceTo(queued: number): Promise<void> {
    const newest = () => bus.stats().streams.reduce((a, b) => (b.id > a.id ? b : a));
    for (let n = 0; newest().queued > queued && n < 5_000; n++) await Bun.sleep(1);
  }

  test("a client that stops reading loses only its own events, counted, and its stream stays open; a reading client gets all 100,000", async () => {
    const silent = grpcGetEvents({}, "tetragon", true);
    silent.call.pause();
    const reading = grpcGetEvents({ allow_list: [{ pid: [1] }] }, "tetragon", true);
    await waitForSubscribers(2);
    const total = 100_000;
    const publish = (k: number) => {
      const p = create(ProcessSchema, { pid: 1, execId: `e${k}`, binary: "/bin/x", arguments: `${k}`.padEnd(512, ".") });
      bus.publish(create(GetEventsResponseSchema, { event: { case: "processExec", value: create(ProcessExecSchema, { process: p }) } }));
    };
    for (let k = 0; k < total; k++) {
      publish(k);
      // This process also runs both clients: give the reading one time to
      // keep up (the silent one never will), as a real reader thread yields.
      if (k % 500 === 499) await paceTo(2_000);
    }
    const deadline = Date.now() + 30_000;
    const streamOf = (id: number) => bus.stats().streams.find((st) => st.id === id);
    const [silentId, readingId] = bus.stats().streams.map((st) => st.id).sort((x, y) => x - y) as [number, number];
    while (streamOf(readingId)?.delivered !== total && Date.now() < deadline) await Bun.sleep(20);
    const stalled = streamOf(silentId);
    expect(stalled?.state).toBe("open");
    expect(stalled?.queued).toBeLessThanOrEqual(10_000);
    expect(stalled?.dropped).toBeGreaterThan(0);
    // What it was handed plus what it dropped and still holds is everything published.
    expect((stalled?.delivered ?? 0) + (stalled?.dropped ?? 0) + (stalled?.queued ?? 0)).toBe(total);
    // Delivery resumes without a reconnect once the client reads again.
    silent.call.resume();
    while (streamOf(silentId)?.queued !== 0 && Date.now() < deadline) await Bun.sleep(20);
    publish(total);
    while (streamOf(silentId)?.delivered !== total + 1 - (stalled?.dropped ?? 0) && Date.now() < deadline) await Bun.sleep(20);
    expect(streamOf(silentId)?.dropped).toBe(stalled?.dropped);
    await Bun.sleep(100);
    bus.close();
    const s = await silent.result;
    expect(s.error).toBeUndefined();
    expect(s.events.length).toBe(total + 1 - (stalled?.dropped ?? 0));
    const r = await reading.result;
    expect(r.error).toBeUndefined();
    expect(r.events.length).toBe(total + 1);
  }, 60_000);
});

describe("many clients over gRPC", () => {
  beforeAll(() => startAgent());
  afterAll(() => agent.stop());

  test("100 concurrent streams, each with its own pid filter", async () => {
    const streams = Array.from({ length: 100 }, (_, k) => grpcGetEvents({ allow_list: [{ pid: [1000 + k] }] }).result);
    await waitForSubscribers(100);
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 100; k++) {
        const p = create(ProcessSchema, { pid: 1000 + k, execId: `x${k}`, binary: "/bin/x" });
        bus.publish(round % 2 === 0 ? exec(p) : exit(p));
      }
    }
    await Bun.sleep(300);
    bus.close();
    const results = await Promise.all(streams);
    results.forEach((r, k) => {
      expect(r.error).toBeUndefined();
      expect(r.events.map(label)).toEqual(["exec", "exit", "exec", "exit", "exec"].map((kind) => `${kind}${1000 + k}`));
    });
  }, 30_000);
});

describe("aggregation over the wire", () => {
  beforeAll(() => startAgent());
  afterAll(() => agent.stop());

  test("identical kprobes arrive once with aggregation_info.count; an exit passes through after them", async () => {
    const p = create(ProcessSchema, { pid: 77, execId: "agg-77", binary: "/bin/agg" });
    const kp = (fn: string) =>
      create(GetEventsResponseSchema, { event: { case: "processKprobe", value: create(ProcessKprobeSchema, { process: p, functionName: fn }) } });
    const request = { aggregation_options: { window_size: "0.200s", channel_buffer_size: "100" } };
    const grpcReq = { aggregation_options: { window_size: { seconds: 0, nanos: 200_000_000 }, channel_buffer_size: 100 } };
    const g = grpcGetEvents(grpcReq).result;
    const c = connectJsonGetEvents(request);
    await waitForSubscribers(2);
    for (let k = 0; k < 5; k++) bus.publish(kp("fd_install"));
    bus.publish(kp("security_file_open"));
    await Bun.sleep(400); // the window ends: both aggregates go out
    for (let k = 0; k < 3; k++) bus.publish(kp("fd_install"));
    bus.publish(exit(p)); // flushes the pending aggregate first
    await Bun.sleep(100);
    bus.close();
    const summary = (evs: Json[]) =>
      evs.map((e) => {
        const fn = get(e, "process_kprobe", "function_name") ?? get(e, "processKprobe", "functionName");
        const count = get(e, "aggregation_info", "count") ?? get(e, "aggregationInfo", "count");
        return fn === undefined ? label(e) : `${fn} x${count}`;
      });
    const want = ["fd_install x5", "security_file_open x1", "fd_install x3", "exit77"];
    expect(summary((await g).events)).toEqual(want);
    expect(summary((await c).events)).toEqual(want);
  });
});
