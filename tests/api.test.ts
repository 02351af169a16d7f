// Issue 2: every working method over gRPC (grpc-js, a real gRPC stack), gRPC-web,
// Connect JSON (curl) and buf curl; both packages; errors; busy address; shutdown.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport, createConnectTransport } from "@connectrpc/connect-node";
import { FineGuidanceSensors as TetragonService, HealthStatusResult } from "../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as FgsService } from "../gen/fgs/fgs_pb";
import { ROOT, runAgentToExit, startAgent, type RunningAgent } from "./helpers/agent";
import { grpcJsClient, grpcUnary } from "./helpers/grpc-js";

let agent: RunningAgent;
const version = (require(join(ROOT, "package.json")) as { version: string }).version;

beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

function curlJson(path: string, body: string, extra: string[] = []): { status: number; body: string } {
  const r = spawnSync("curl", ["-sS", "-w", "\n%{http_code}", "-X", "POST", "-H", "content-type: application/json", "--data-binary", body, ...extra, `${agent.baseUrl}${path}`], { encoding: "utf8" });
  const lines = r.stdout.trimEnd().split("\n");
  return { status: Number(lines.pop()), body: lines.join("\n") };
}

describe("gRPC with a real gRPC client (grpc-js)", () => {
  for (const pkg of ["tetragon", "fgs"] as const) {
    test(`${pkg}: GetVersion, GetHealth, ListSensors`, async () => {
      const c = grpcJsClient(pkg, agent.address);
      const v = await grpcUnary<{ version: string }>(c, "GetVersion", {});
      expect(v.version.startsWith(version)).toBe(true);
      const h = await grpcUnary<{ health_status: { status: string; details: string }[] }>(c, "GetHealth", {});
      expect(h.health_status[0]?.status).toBe("HEALTH_STATUS_RUNNING");
      expect(h.health_status[0]?.details).toBe("running");
      expect(h.health_status[1]?.details).toContain("process=enabled");
      const s = await grpcUnary<{ sensors: { name: string; enabled: boolean }[] }>(c, "ListSensors", {});
      expect(s.sensors).toContainEqual({ name: "process", enabled: true });
      c.close();
    });
  }

  test("unimplemented method answers UNIMPLEMENTED with a message", async () => {
    const c = grpcJsClient("tetragon", agent.address);
    const err = await grpcUnary(c, "GetStackTraceTree", { name: "x" }).catch((e: { code: number; details: string }) => e);
    expect((err as { code: number }).code).toBe(12);
    expect(decodeURIComponent((err as { details: string }).details)).toContain("not implemented");
    c.close();
  });

  test("unknown sensor answers NOT_FOUND", async () => {
    const c = grpcJsClient("tetragon", agent.address);
    const err = (await grpcUnary(c, "EnableSensor", { name: "no-such-sensor" }).catch((e) => e)) as { code: number; details: string };
    expect(err.code).toBe(5);
    expect(decodeURIComponent(err.details)).toContain("no-such-sensor");
    c.close();
  });
});

describe("Connect JSON with curl", () => {
  test("GetVersion over HTTP/1.1 and h2c, both packages", () => {
    for (const pkg of ["tetragon", "fgs"]) {
      for (const extra of [[], ["--http2-prior-knowledge"]]) {
        const r = curlJson(`/${pkg}.FineGuidanceSensors/GetVersion`, "{}", extra);
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body).version.startsWith(version)).toBe(true);
      }
    }
  });

  test("GetHealth reports real state", () => {
    const r = curlJson("/tetragon.FineGuidanceSensors/GetHealth", "{}");
    const body = JSON.parse(r.body);
    expect(body.healthStatus[0].status).toBe("HEALTH_STATUS_RUNNING");
    expect(body.healthStatus[0].details).toBe("running");
    expect(body.healthStatus[1].details).toMatch(/lost/);
  });

  test("malformed body → invalid_argument", () => {
    const r = curlJson("/tetragon.FineGuidanceSensors/GetVersion", "{not json");
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).code).toBe("invalid_argument");
  });

  test("unknown method → 404 not found", () => {
    expect(curlJson("/tetragon.FineGuidanceSensors/NoSuchMethod", "{}").status).toBe(404);
    expect(curlJson("/nope.Service/Method", "{}").status).toBe(404);
  });

  test("server-streaming GetEvents over Connect JSON delivers an exec event", async () => {
    const proc = Bun.spawn(["curl", "-sS", "-N", "--max-time", "8", "-X", "POST", "-H", "content-type: application/connect+json", "--data-binary", "@-", `${agent.baseUrl}/tetragon.FineGuidanceSensors/GetEvents`], { stdin: "pipe", stdout: "pipe" });
    const body = Buffer.from("{}");
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    proc.stdin.write(frame);
    proc.stdin.end();
    await Bun.sleep(1000);
    spawnSync("/bin/echo", ["connect-json-marker"]);
    await Bun.sleep(1500);
    proc.kill();
    const out = await new Response(proc.stdout).text();
    expect(out).toContain("connect-json-marker");
    expect(out).toContain('"processExec"');
  });
});

describe("gRPC-web and Connect transports (connect-node clients)", () => {
  test("gRPC-web over HTTP/1.1 and Connect binary, both packages", async () => {
    const web = createGrpcWebTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1" });
    const connectBinary = createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1", useBinaryFormat: true });
    for (const transport of [web, connectBinary]) {
      const t = createClient(TetragonService, transport);
      expect((await t.getVersion({})).version.startsWith(version)).toBe(true);
      const f = createClient(FgsService, transport);
      const h = await f.getHealth({});
      expect(h.healthStatus[0]?.status).toBe(HealthStatusResult.HEALTH_STATUS_RUNNING as number);
      expect((await f.listSensors({})).sensors.map((s) => s.name)).toContain("process");
    }
  });

  test("gRPC-web over h2c", async () => {
    const t = createClient(TetragonService, createGrpcWebTransport({ baseUrl: agent.baseUrl, httpVersion: "2" }));
    expect((await t.getVersion({})).version.startsWith(version)).toBe(true);
  });
});

describe("browsers", () => {
  // Issue 11: CORS is off by default (tests/security-auth.test.ts covers --cors-allow-origin).
  test("a page on another origin gets no CORS grant and no answer", () => {
    const pre = spawnSync("curl", ["-sS", "-i", "-X", "OPTIONS", "-H", "Origin: http://page.example", "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type,x-grpc-web", `${agent.baseUrl}/tetragon.FineGuidanceSensors/GetVersion`], { encoding: "utf8" });
    expect(pre.stdout).toMatch(/^HTTP\/1.1 403/);
    expect(pre.stdout.toLowerCase()).not.toContain("access-control-allow-origin");
    const r = curlJson("/tetragon.FineGuidanceSensors/GetVersion", "{}", ["-i", "-H", "Origin: http://page.example"]);
    expect(r.status).toBe(403);
    expect(r.body.toLowerCase()).not.toContain("access-control-allow-origin");
  });
});

describe("buf curl", () => {
  test("GetVersion and ListSensors through buf curl with the schema", () => {
    for (const protocol of ["grpc", "connect", "grpcweb"]) {
      const r = spawnSync(join(ROOT, "node_modules/.bin/buf"), ["curl", "--schema", join(ROOT, "proto"), "--protocol", protocol, "--http2-prior-knowledge", `${agent.baseUrl}/tetragon.FineGuidanceSensors/ListSensors`], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).sensors).toContainEqual({ name: "process", enabled: true });
    }
  });
});

describe("life cycle", () => {
  test("a second agent on a busy address fails clearly with non-zero exit", () => {
    const r = runAgentToExit(["--server-address", agent.address]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("address already in use");
    expect(r.stderr).not.toContain("    at ");
  });

  test("SIGTERM and SIGINT stop cleanly: streams closed, programs detached", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const a = await startAgent();
      try {
        await checkCleanStop(a, signal);
      } finally {
        // An assertion failing must not leave this agent attached.
        if (a.proc.exitCode === null) a.proc.kill("SIGKILL");
      }
    }
  });
});

async function checkCleanStop(a: RunningAgent, signal: NodeJS.Signals): Promise<void> {
  const ids = progIdsOf(a.proc.pid);
  expect(ids.length).toBeGreaterThan(0);
  const stream = a.client().getEvents({});
  const drained = (async () => {
    for await (const _ of stream) void _;
    return "ended";
  })().catch((e: Error) => `error: ${e.message}`);
  await Bun.sleep(300);
  expect(await a.stop(signal)).toBe(0);
  expect(await Promise.race([drained, Bun.sleep(5000).then(() => "still open")])).not.toBe("still open");
  // The kernel frees programs after an RCU grace period, not at close().
  let remaining = bpftoolProgIds();
  for (let i = 0; i < 50 && ids.some((id) => remaining.includes(id)); i++) {
    await Bun.sleep(100);
    remaining = bpftoolProgIds();
  }
  for (const id of ids) expect(remaining).not.toContain(id);
  expect(a.log()).toContain('"agent stopped"');
}

/** Program ids held by a process: fdinfo of BPF program and link fds names them. */
function progIdsOf(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
    if (m) ids.add(Number(m[1]));
  }
  return [...ids];
}

function bpftoolProgIds(): number[] {
  const r = spawnSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" });
  return (JSON.parse(r.stdout) as { id: number }[]).map((p) => p.id);
}
