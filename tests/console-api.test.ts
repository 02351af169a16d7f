/** The console's server side against a real agent: the static route at GET /
 * and fgs.console.v1.ProcessInspector/ListProcesses from the process cache. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ProcessInspector, type ProcessEntry } from "../gen/fgs/console/v1/console_pb";
import { ROOT, startAgent, type RunningAgent } from "./helpers/agent";
import { markerProgram, removeMarkers } from "./helpers/console";

let agent: RunningAgent;
let inspector: Client<typeof ProcessInspector>;

beforeAll(async () => {
  agent = await startAgent();
  inspector = createClient(ProcessInspector, createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1" }));
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  removeMarkers();
});

describe("GET / and the asset paths", () => {
  test("serve the page, its script and stylesheet with a strict CSP", async () => {
    const page = await fetch(`${agent.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/console.js">');
    const js = await fetch(`${agent.baseUrl}/console.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${agent.baseUrl}/console.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await css.text()).toContain("prefers-color-scheme: dark");
  });

  test("HEAD answers without a body; other paths and methods reach the API", async () => {
    const head = await fetch(`${agent.baseUrl}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(100);
    expect((await fetch(`${agent.baseUrl}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${agent.baseUrl}/`, { method: "POST" })).status).not.toBe(200);
    const version = await fetch(`${agent.baseUrl}/tetragon.FineGuidanceSensors/GetVersion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(version.status).toBe(200);
  });
});

describe("ProcessInspector.ListProcesses", () => {
  test("lists live processes with their parent's exec id, from the cache", async () => {
    const sleeper = markerProgram("/bin/sleep", "fgs-console-list");
    const proc = spawn([sleeper, "30"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      const deadline = Date.now() + 10_000;
      let found: ProcessEntry | undefined;
      while (!found && Date.now() < deadline) {
        const { processes } = await inspector.listProcesses({});
        found = processes.find((e) => e.process?.pid === proc.pid && e.process.binary === sleeper);
        if (!found) await Bun.sleep(100);
      }
      expect(found?.alive).toBe(true);
      expect(found?.process?.arguments).toBe("30");
      const { processes } = await inspector.listProcesses({});
      const parent = processes.find((e) => e.process?.execId === found?.process?.parentExecId);
      expect(parent?.process?.pid).toBe(process.pid);
      expect(processes.every((e) => e.alive)).toBe(true);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });

  test("honours the limit and says when it cut the list", async () => {
    const res = await inspector.listProcesses({ limit: 2 });
    expect(res.processes.length).toBe(2);
    expect(res.truncated).toBe(true);
    const all = await inspector.listProcesses({ includeExited: true });
    expect(all.truncated).toBe(false);
    expect(all.processes.length).toBeGreaterThan(2);
  });
});

test("ListProcesses over gRPC through server reflection, with no schema", () => {
  const buf = join(ROOT, "node_modules/.bin/buf");
  const url = `${agent.baseUrl}/fgs.console.v1.ProcessInspector/ListProcesses`;
  const r = spawnSync(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", '{"limit": 1}', url], { encoding: "utf8", timeout: 60_000 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  const res = JSON.parse(r.stdout) as { processes: { process: { pid: number }; alive: boolean }[]; truncated: boolean };
  expect(res.processes.length).toBe(1);
  expect(res.truncated).toBe(true);
});
