// Issue 11, items 3-4 and the medium list: every cost a caller can impose is
// bounded and each refusal names its limit. Real oversized, slow and numerous
// connections on loopback, bounded in count and time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FilterSchema, GetEventsResponseSchema, type Filter } from "../gen/tetragon/tetragon_pb";
import { compileFilters, FILTER_LIMITS } from "../src/filters/index";
import { SERVER_LIMITS } from "../src/server/limits";
import { startAgent, type RunningAgent } from "./helpers/agent";

let agent: RunningAgent;
const dir = mkdtempSync(join(tmpdir(), "fgs-limits-"));
const HEADER_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 3;

beforeAll(async () => {
  agent = await startAgent(["--api-header-timeout", String(HEADER_TIMEOUT_S), "--api-idle-timeout", String(IDLE_TIMEOUT_S), "--console-token-file", join(dir, "token")]);
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const [host, portText] = (() => {
  const i = () => agent.address.lastIndexOf(":");
  return [() => agent.address.slice(0, i()), () => Number(agent.address.slice(i() + 1))];
})();

function curl(path: string, args: string[]): { status: number; body: string; ms: number } {
  const t = performance.now();
  const r = spawnSync("curl", ["-sS", "--max-time", "20", "-w", "\n%{http_code}", ...args, `${agent.baseUrl}${path}`], { encoding: "utf8", maxBuffer: 1 << 20 });
  const lines = r.stdout.trimEnd().split("\n");
  return { status: Number(lines.pop()), body: lines.join("\n"), ms: performance.now() - t };
}

/** A raw loopback connection: resolves with how long the server kept it open. */
function rawConnection(onConnect: (s: net.Socket) => void, maxMs: number): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now();
    const s = net.connect(portText(), host());
    const timer = setTimeout(() => s.destroy(), maxMs);
    s.on("connect", () => onConnect(s));
    s.on("data", () => {});
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    });
  });
}

describe("request bodies", () => {
  test("a huge Content-Length is refused before any byte is read", () => {
    const r = curl("/tetragon.FineGuidanceSensors/GetVersion", ["-X", "POST", "-H", "content-type: application/json", "-H", "Content-Length: 4294967295", "--data-binary", "{}"]);
    expect(r.status).toBe(413);
    expect(r.body).toContain("requestBodyBytes");
    expect(r.body).toContain(String(SERVER_LIMITS.requestBodyBytes));
    expect(r.ms).toBeLessThan(5000);
  });

  test("a chunked body is cut while reading (readMaxBytes)", () => {
    const big = join(dir, "big.json");
    writeFileSync(big, `{"name":"${"x".repeat(SERVER_LIMITS.policyRequestBodyBytes + 1024)}"}`);
    const r = curl("/tetragon.FineGuidanceSensors/EnableSensor", ["-X", "POST", "-H", "content-type: application/json", "-H", "Transfer-Encoding: chunked", "--data-binary", `@${big}`]);
    expect(r.body).toContain("resource_exhausted");
    expect(r.body).toContain("readMaxBytes");
  });

  test("AddTracingPolicy takes a bigger body, still bounded", () => {
    const r = curl("/tetragon.FineGuidanceSensors/AddTracingPolicy", ["-X", "POST", "-H", "content-type: application/json", "-H", `Content-Length: ${SERVER_LIMITS.policyRequestBodyBytes + 1}`, "--data-binary", "{}"]);
    expect(r.status).toBe(413);
    expect(r.body).toContain("policyRequestBodyBytes");
  });
});

describe("connections", () => {
  test("slowloris: headers not complete within --api-header-timeout are cut", async () => {
    const held = await rawConnection((s) => {
      s.write("POST /tetragon.FineGuidanceSensors/GetVersion HTTP/1.1\r\n");
      const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write("X-Slow: 1\r\n")), 300);
    }, 15_000);
    expect(held).toBeGreaterThan(HEADER_TIMEOUT_S * 1000 - 200);
    expect(held).toBeLessThan(HEADER_TIMEOUT_S * 1000 + 3000);
  }, 30_000);

  test("an idle keep-alive connection is closed after --api-idle-timeout; a stream is not", async () => {
    const idle = rawConnection((s) => {
      s.write(`POST /tetragon.FineGuidanceSensors/GetVersion HTTP/1.1\r\nHost: ${agent.address}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
    }, 15_000);
    const client = agent.client();
    const abort = new AbortController();
    let events = 0;
    const stream = (async () => {
      try {
        for await (const _ of client.getEvents({}, { signal: abort.signal })) events++;
      } catch {
        // aborted below
      }
    })();
    const held = await idle;
    expect(held).toBeGreaterThan(IDLE_TIMEOUT_S * 1000 - 200);
    expect(held).toBeLessThan(IDLE_TIMEOUT_S * 1000 + 3000);
    await Bun.sleep(500);
    spawnSync("/bin/true");
    for (let i = 0; i < 50 && events === 0; i++) {
      spawnSync("/bin/true");
      await Bun.sleep(100);
    }
    expect(events).toBeGreaterThan(0); // the stream outlived the idle timeout
    abort.abort();
    await stream;
  }, 30_000);

  test("an idle HTTP/2 session is closed after --api-idle-timeout too", async () => {
    const session = http2.connect(agent.baseUrl);
    const start = performance.now();
    const closed = new Promise<number>((resolve) => session.on("close", () => resolve(performance.now() - start)));
    session.on("error", () => {});
    const req = session.request({ ":method": "POST", ":path": "/tetragon.FineGuidanceSensors/GetVersion", "content-type": "application/json" });
    req.end("{}");
    req.on("data", () => {});
    await new Promise<void>((resolve) => req.on("close", () => resolve()));
    const held = await Promise.race([closed, Bun.sleep(15_000).then(() => Infinity)]);
    session.destroy();
    expect(held).toBeGreaterThan(IDLE_TIMEOUT_S * 1000 - 200);
    expect(held).toBeLessThan(IDLE_TIMEOUT_S * 1000 + 3000);
  }, 30_000);

  test(`more than ${SERVER_LIMITS.connectionsPerCaller} connections of one uid are refused; others still served`, async () => {
    const sockets: net.Socket[] = [];
    const closedEarly: number[] = [];
    const extra = 6;
    await Promise.all(
      Array.from({ length: SERVER_LIMITS.connectionsPerCaller + extra }, (_, i) =>
        new Promise<void>((resolve) => {
          const s = net.connect(portText(), host(), () => resolve());
          s.on("error", () => resolve());
          s.on("close", () => closedEarly.push(i));
          sockets.push(s);
        })),
    );
    // Each accepted connection is identified first (/proc/net/tcp): give it time.
    for (let i = 0; i < 100 && closedEarly.length < extra; i++) await Bun.sleep(100);
    expect(closedEarly.length).toBeGreaterThanOrEqual(extra);
    // Connections of earlier tests may still count against the same uid.
    const kept = sockets.length - closedEarly.length;
    expect(kept).toBeLessThanOrEqual(SERVER_LIMITS.connectionsPerCaller);
    expect(kept).toBeGreaterThan(SERVER_LIMITS.connectionsPerCaller - 8);
    for (const s of sockets) s.destroy();
    await Bun.sleep(300);
    expect(curl("/tetragon.FineGuidanceSensors/GetVersion", ["-X", "POST", "-H", "content-type: application/json", "--data-binary", "{}"]).status).toBe(200);
    expect(agent.log()).toContain("connectionsPerCaller=");
  }, 30_000);

  test(`GetEvents streams per caller are capped at ${SERVER_LIMITS.streamsPerCaller}`, async () => {
    // Spread over several HTTP/2 connections (a session allows 100 concurrent streams).
    const clients = Array.from({ length: 4 }, () => agent.client());
    const client = clients[0]!;
    const abort = new AbortController();
    const firstEvent = new Set<number>();
    const opened = Array.from({ length: SERVER_LIMITS.streamsPerCaller }, async (_, k) => {
      try {
        for await (const _ev of clients[k % clients.length]!.getEvents({}, { signal: abort.signal })) firstEvent.add(k);
      } catch {
        // aborted at the end
      }
    });
    for (let i = 0; i < 100 && firstEvent.size < SERVER_LIMITS.streamsPerCaller; i++) {
      spawnSync("/bin/true");
      await Bun.sleep(100);
    }
    expect(firstEvent.size).toBe(SERVER_LIMITS.streamsPerCaller);
    const err = await (async () => {
      try {
        for await (const _ of client.getEvents({})) break;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).message).toContain("streamsPerCaller");
    abort.abort();
    await Promise.all(opened);
  }, 30_000);
});

describe("filters", () => {
  const filter = (f: MessageInitShape<typeof FilterSchema>) => create(FilterSchema, f);
  const refused = (allowList: Filter[]): string => {
    try {
      compileFilters({ allowList, denyList: [] });
    } catch (e) {
      expect(e).toBeInstanceOf(ConnectError);
      expect((e as ConnectError).code).toBe(Code.InvalidArgument);
      return (e as ConnectError).message;
    }
    throw new Error("accepted");
  };

  test("filters per request, pid_set filters, patterns, pids: each refusal names its limit", () => {
    expect(refused(Array.from({ length: FILTER_LIMITS.filtersPerRequest + 1 }, () => filter({ pid: [1] })))).toContain("filtersPerRequest");
    expect(refused(Array.from({ length: FILTER_LIMITS.pidSetFilters + 1 }, () => filter({ pidSet: [1] })))).toContain("pidSetFilters");
    expect(refused([filter({ binaryRegex: Array.from({ length: FILTER_LIMITS.patternsPerFilter + 1 }, (_, i) => `a${i}`) })])).toContain("patternsPerFilter");
    expect(refused([filter({ pidSet: Array.from({ length: FILTER_LIMITS.pidsPerFilter + 1 }, (_, i) => i) })])).toContain("pidsPerFilter");
    expect(refused([filter({ binaryRegex: ["([a-z]{1,30}){30}!"] })])).toContain("regexProgramSize");
    const near = "(\\w{1,10}){45}$"; // just under regexProgramSize
    expect(refused([filter({ binaryRegex: [near, near, near] })])).toContain("regexProgramBudget");
    expect(refused([filter({ eventSet: [99 as never] })])).toContain("unknown event_set value 99");
    const long = refused([filter({ binaryRegex: ["(" + "x".repeat(5000)] })]);
    expect(long.length).toBeLessThan(600);
  });

  test("1,000 pid_set filters cannot be asked for (RSS grew to 11.5 GB before)", () => {
    expect(refused(Array.from({ length: 1000 }, (_, i) => filter({ pidSet: [i + 1] })))).toMatch(/filtersPerRequest|pidSetFilters/);
  });

  test("the worst allowed regex budget on 20 unique 4096-character paths stays cheap", () => {
    // Two patterns of 975 instructions: the whole regexProgramBudget, neither matches.
    const patterns = ["(?i)(\\pL{1,40}){12}$", "(?i)(\\PN{1,40}){12}$"];
    const predicate = compileFilters({ allowList: [filter({ binaryRegex: patterns })], denyList: [] });
    const start = performance.now();
    for (let i = 0; i < 20; i++) {
      const binary = `/${String(i).padStart(4, "0")}${"é".repeat(4090)}1`;
      predicate(create(GetEventsResponseSchema, { event: { case: "processExec", value: { process: { binary } } } }));
    }
    const ms = performance.now() - start;
    console.log(`20 unique 4096-character paths against the largest allowed pattern: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
  });
});
