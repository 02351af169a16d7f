// The `fgs` client commands against a real agent (dist/fgs on both sides).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

function fgs(...args: string[]) {
  return spawnSync(FGS, [...args, "--server-address", agent.address], { encoding: "utf8", timeout: 30000 });
}

test("the agent runs under the pid it was started with, re-executed with Bun's idle GC timer off", () => {
  // src/agent/runtime-env.ts: the variable is set by the agent itself (the test runner did not set it).
  expect(process.env.BUN_GC_TIMER_DISABLE).toBeUndefined();
  const environ = readFileSync(`/proc/${agent.proc.pid}/environ`, "utf8").split("\0");
  expect(environ).toContain("BUN_GC_TIMER_DISABLE=1");
  expect(readFileSync(`/proc/${agent.proc.pid}/cmdline`, "utf8").split("\0").slice(1, 2)).toEqual(["agent"]);
});

test("version shows client and agent versions", () => {
  const r = fgs("version");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^client: \d+\.\d+\.\d+ \(commit [0-9a-f]+/m);
  expect(r.stdout).toMatch(/^agent: +\d+\.\d+\.\d+\+[0-9a-f]+/m);
});

test("status shows running and the lost-event counters", () => {
  const r = fgs("status");
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("running");
  expect(r.stdout).toContain("lost_events=");
});

test("sensors list / disable / enable change the real hooks", () => {
  expect(fgs("sensors", "list").stdout).toMatch(/process\s+enabled/);
  expect(fgs("sensors", "disable", "process").status).toBe(0);
  expect(fgs("sensors", "list").stdout).toMatch(/process\s+disabled/);
  expect(fgs("sensors", "enable", "process").status).toBe(0);
  expect(fgs("sensors", "list").stdout).toMatch(/process\s+enabled/);
  const bad = fgs("sensors", "enable", "nope");
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("not_found");
  expect(bad.stderr.split("\n").filter(Boolean)).toHaveLength(1);
});

async function captureEvents(format: string[], trigger: () => void): Promise<string> {
  const p = Bun.spawn([FGS, "getevents", ...format, "--server-address", agent.address], { stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(800);
  trigger();
  await Bun.sleep(1200);
  p.kill("SIGINT");
  return await new Response(p.stdout).text();
}

test("getevents -o json prints one proto-JSON object per line", async () => {
  const out = await captureEvents(["-o", "json"], () => spawnSync("/bin/echo", ["json-marker"]));
  const events = out.trim().split("\n").map((l) => JSON.parse(l));
  const exec = events.find((e) => e.process_exec?.process?.arguments === "json-marker");
  expect(exec).toBeDefined();
  expect(exec.process_exec.process.binary).toBe("/bin/echo");
  expect(typeof exec.node_name).toBe("string");
  expect(exec.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  const exit = events.find((e) => e.process_exit?.process?.exec_id === exec.process_exec.process.exec_id);
  expect(exit).toBeDefined();
});

test("getevents -o compact prints exec and exit lines, no colour on a pipe", async () => {
  const out = await captureEvents(["-o", "compact"], () => spawnSync("/bin/echo", ["compact-marker"]));
  expect(out).toMatch(/🚀 process \S+ \/bin\/echo compact-marker/);
  expect(out).toMatch(/💥 exit +\S+ \/bin\/echo compact-marker 0/);
  expect(out).not.toContain("\u001b[");
  const coloured = await captureEvents(["-o", "compact", "--color", "always"], () => spawnSync("/bin/echo", ["colour-marker"]));
  expect(coloured).toContain("\u001b[");
});

test("the agent serves on a unix socket, and the client reaches it there", async () => {
  const path = `/tmp/fgs-test-${process.pid}.sock`;
  const a = await startAgent(["--server-address", `unix:${path}`]);
  try {
    expect(a.address).toBe(`unix:${path}`);
    const r = spawnSync(FGS, ["sensors", "list", "--server-address", `unix:${path}`], { encoding: "utf8", timeout: 30000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/process\s+enabled/);
  } finally {
    await a.stop();
  }
});
