// Issue 11, "correct answers": malformed input is the caller's error
// (invalid_argument, never internal), unknown enum names are refused, 64-bit
// policy values stay exact, errors quote a bounded prefix of the input, and
// shutdown ends every connect-node stream with a status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePolicies } from "../src/policy/spec/parse";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";

let agent: RunningAgent;
const dir = mkdtempSync(join(tmpdir(), "fgs-answers-"));
beforeAll(async () => {
  agent = await startAgent(["--console-token-file", join(dir, "token")]);
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SVC = "/tetragon.FineGuidanceSensors";

function curl(url: string, args: string[]): { status: number; out: string } {
  const r = spawnSync("curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}", ...args, url], { encoding: "latin1" });
  const lines = r.stdout.split("\n");
  return { status: Number(lines.pop()), out: lines.join("\n") };
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Connect's 5-byte envelope around a JSON message. */
function envelope(json: string, flags = 0): Buffer {
  const body = Buffer.from(json);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

const GARBAGE = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]);

const policy = (name: string, value: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
  kprobes:
  - call: sys_close
    syscall: true
    args:
    - index: 0
      type: uint64
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [${value}]
`;

describe("malformed input", () => {
  test("a body that is not protobuf: invalid_argument over Connect and gRPC", () => {
    const connect = curl(`${agent.baseUrl}${SVC}/GetVersion`, ["-X", "POST", "-H", "content-type: application/proto", "--data-binary", `@${file("bad.bin", GARBAGE)}`]);
    expect(connect.status).toBe(400);
    expect(JSON.parse(connect.out)).toMatchObject({ code: "invalid_argument" });
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, GARBAGE.length]), GARBAGE]);
    const grpc = curl(`${agent.baseUrl}${SVC}/GetVersion`, ["-i", "--http2-prior-knowledge", "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", `@${file("bad.grpc", framed)}`]);
    expect(grpc.out).toContain("grpc-status: 3");
    const web = curl(`${agent.baseUrl}${SVC}/GetVersion`, ["-X", "POST", "-H", "content-type: application/grpc-web+proto", "--data-binary", `@${join(dir, "bad.grpc")}`]);
    expect(web.out).toMatch(/grpc-status: ?3/);
    const stream = curl(`${agent.baseUrl}${SVC}/GetEvents`, ["-X", "POST", "-H", "content-type: application/connect+proto", "--data-binary", `@${join(dir, "bad.grpc")}`]);
    expect(stream.out).toContain('"code":"invalid_argument"');
  });

  test("a YAML alias bomb: invalid_argument", () => {
    const bomb = ["a: &a [x,x,x,x,x,x,x,x,x]", "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]", "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]", "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]", "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]"].join("\n");
    const r = curl(`${agent.baseUrl}${SVC}/AddTracingPolicy`, ["-X", "POST", "-H", "content-type: application/json", "--data-binary", JSON.stringify({ yaml: bomb })]);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.out)).toMatchObject({ code: "invalid_argument" });
    expect(r.out).toContain("alias");
  });

  test('event_set "PROCESS_EXECC" in Connect JSON is refused, not dropped (match-all)', () => {
    const body = envelope(JSON.stringify({ allow_list: [{ event_set: ["PROCESS_EXECC"] }] }));
    const r = curl(`${agent.baseUrl}${SVC}/GetEvents`, ["-N", "-X", "POST", "-H", "content-type: application/connect+json", "--data-binary", `@${file("typo.env", body)}`]);
    expect(r.out).toContain("invalid_argument");
    expect(r.out).toContain("PROCESS_EXECC");
  });

  test("the CLI refuses an unknown event type name", () => {
    const r = spawnSync(FGS, ["getevents", "--event-types", "process_execc", "--server-address", agent.address], { encoding: "utf8", timeout: 20000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("process_execc");
  });

  test("an error quotes a bounded prefix of a 100 KB name", () => {
    const r = curl(`${agent.baseUrl}${SVC}/EnableSensor`, ["-X", "POST", "-H", "content-type: application/json", "--data-binary", `@${file("long.json", JSON.stringify({ name: "n".repeat(100_000) }))}`]);
    expect(r.status).toBe(404);
    expect(r.out.length).toBeLessThan(2000);
    const policyName = curl(`${agent.baseUrl}${SVC}/AddTracingPolicy`, ["-X", "POST", "-H", "content-type: application/json", "--data-binary", `@${file("longpolicy.json", JSON.stringify({ yaml: policy("x".repeat(200_000), "1") }))}`]);
    expect(policyName.status).toBe(400);
    expect(policyName.out.length).toBeLessThan(2000);
  });
});

describe("64-bit policy values", () => {
  test("unquoted 0xffffffffffffffff and 18446744073709551615 are exact", () => {
    for (const text of ["0xffffffffffffffff", "18446744073709551615", "18446744073709551614", "9007199254740993"]) {
      const [p] = parsePolicies(policy("big", text));
      const hook = p!.hooks[0] as unknown as { selectors: { matchArgs: { values: bigint[] }[] }[] };
      expect(hook.selectors[0]!.matchArgs[0]!.values).toEqual([BigInt(text)]);
    }
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM ends Connect and gRPC streams with a status", async () => {
    const a = await startAgent(["--console-token-file", join(dir, "token2")]);
    const connectBody = file("empty.env", envelope("{}"));
    const grpcBody = file("empty.grpc", new Uint8Array([0, 0, 0, 0, 0]));
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: Buffer }>((resolve) => {
        const p = spawn("curl", ["-sS", "-N", "--max-time", "20", ...args], { stdio: ["ignore", "pipe", "pipe"] });
        const chunks: Buffer[] = [];
        p.stdout.on("data", (c: Buffer) => chunks.push(c));
        p.on("close", (code) => resolve({ code, out: Buffer.concat(chunks) }));
      });
    const connect = run(["-X", "POST", "-H", "content-type: application/connect+json", "--data-binary", `@${connectBody}`, `${a.baseUrl}${SVC}/GetEvents`]);
    const grpc = run(["-i", "--http2-prior-knowledge", "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", `@${grpcBody}`, `${a.baseUrl}${SVC}/GetEvents`]);
    await Bun.sleep(1000);
    spawnSync("/bin/true");
    await Bun.sleep(300);
    expect(await a.stop("SIGTERM")).toBe(0);
    const c = await connect;
    expect(c.code).toBe(0);
    // The last envelope is the end-of-stream frame (flag 2).
    const tail = c.out.subarray(c.out.lastIndexOf(Buffer.from([2, 0, 0, 0])));
    expect(tail[0]).toBe(2);
    const g = await grpc;
    expect(g.code).toBe(0);
    // The gRPC event path ends streams with UNAVAILABLE at shutdown: clients may reconnect.
    expect(g.out.toString("latin1")).toContain("grpc-status: 14");
    expect(g.out.toString("latin1")).toContain("grpc-message: fgs agent is shutting down");
  }, 60_000);
});
