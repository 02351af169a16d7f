// Issue 5 through the API: AddTracingPolicy / DeleteTracingPolicy / sensors on
// a real agent, malformed policies refused precisely while another client's
// stream keeps flowing, and in-kernel enforcement seen by a gRPC client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { Code, ConnectError } from "@connectrpc/connect";
import { KprobeAction, type ProcessKprobe } from "../gen/tetragon/tetragon_pb";
import { runAgentToExit, startAgent, type RunningAgent } from "./helpers/agent";
import { agentWithEvents, EventRecorder } from "./helpers/events";
import { grpcJsClient, grpcUnary } from "./helpers/grpc-js";
import { malformedPolicies } from "./fixtures/policies/malformed";

let agent: RunningAgent;
let events: EventRecorder;

const shared = agentWithEvents();
beforeAll(async () => ({ agent, events } = await shared.start()));
afterAll(() => shared.stop());

const policy = (name: string, body: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
${body}`;

const openatUnder = (name: string, prefix: string, action = "Post") =>
  policy(name, `  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values: ["${prefix}"]
      matchActions:
      - action: ${action}
`);

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("call succeeded");
}

describe("policy life cycle over gRPC", () => {
  test("add → event → list → disable → enable → delete", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: openatUnder("api-openat", "/etc/hostn") });
    expect((await c.listSensors({})).sensors).toContainEqual(expect.objectContaining({ name: "api-openat", enabled: true }));
    expect((await c.getSensorConfig({ name: "api-openat", cfgkey: "mechanism" })).cfgval).toContain("tracepoint");
    const cat = spawn(["/bin/cat", "/etc/hostname"], { stdout: "ignore" });
    await cat.exited;
    const ev = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === cat.pid);
    const k = ev.event.value as ProcessKprobe;
    expect(k.functionName).toBe("__x64_sys_openat");
    expect(k.args[0]?.arg).toEqual({ case: "stringArg", value: "/etc/hostname" });
    expect(k.action).toBe(KprobeAction.POST);
    expect(k.process?.binary).toBe("/bin/cat");
    expect(k.parent?.pid).toBe(process.pid);

    await c.disableSensor({ name: "api-openat" });
    const quiet = spawn(["/bin/cat", "/etc/hostname"], { stdout: "ignore" });
    await quiet.exited;
    await events.execOf(quiet.pid, "/bin/cat");
    await Bun.sleep(300);
    expect(events.events.some((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === quiet.pid)).toBe(false);
    await c.enableSensor({ name: "api-openat" });
    await c.deleteTracingPolicy({ yaml: "api-openat" });
    expect((await c.listSensors({})).sensors.map((s) => s.name)).not.toContain("api-openat");
    expect((await rejection(c.deleteTracingPolicy({ yaml: "api-openat" }))).code).toBe(Code.NotFound);
  });

  test("the same YAML deletes what it added; a duplicate name is refused", async () => {
    const c = agent.client();
    const yaml = openatUnder("api-dup", "/nonexistent-prefix");
    await c.addTracingPolicy({ yaml });
    expect((await rejection(c.addTracingPolicy({ yaml }))).code).toBe(Code.AlreadyExists);
    await c.deleteTracingPolicy({ yaml });
    expect((await c.listSensors({})).sensors.map((s) => s.name)).not.toContain("api-dup");
  });

  test("Sigkill: the process dies in the kernel, the client sees the action", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: openatUnder("api-kill", "/tmp/fgs-forbidden-", "Sigkill") });
    try {
      const victim = spawn(["/bin/cat", `/tmp/fgs-forbidden-${process.pid}`], { stdout: "ignore", stderr: "ignore" });
      await victim.exited;
      expect(victim.signalCode).toBe("SIGKILL");
      const ev = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === victim.pid);
      expect((ev.event.value as ProcessKprobe).action).toBe(KprobeAction.SIGKILL);
      const exit = await events.find((e) => e.event.case === "processExit" && e.event.value.process?.pid === victim.pid);
      expect((exit.event.value as { signal: string }).signal).toBe("SIGKILL");
    } finally {
      await c.deleteTracingPolicy({ yaml: "api-kill" });
    }
  });
});

describe("malformed policies", () => {
  test(`${malformedPolicies.length} malformed policies each get their exact error while another client keeps receiving events`, async () => {
    expect(malformedPolicies.length).toBeGreaterThanOrEqual(30);
    const bystander = EventRecorder.start(agent.client());
    await bystander.ready();
    const grpc = grpcJsClient("tetragon", agent.address);
    for (const [title, yaml, message] of malformedPolicies) {
      const err = (await grpcUnary(grpc, "AddTracingPolicy", { yaml }).then(
        () => undefined,
        (e: { code: number; details: string }) => e,
      )) as { code: number; details: string } | undefined;
      expect({ title, code: err?.code }).toEqual({ title, code: 3 /* INVALID_ARGUMENT */ });
      expect(decodeURIComponent(err!.details)).toBe(message);
    }
    grpc.close();
    const marker = spawn(["/bin/echo", "still-serving"], { stdout: "ignore" });
    await marker.exited;
    await bystander.execOf(marker.pid, "/bin/echo");
    bystander.stop();
    const sensors = (await agent.client().listSensors({})).sensors.map((s) => s.name);
    expect(sensors.sort()).toEqual(["process", "test"]);
  });

  test("a policy whose hook cannot attach here fails naming the hook, and nothing is left loaded", async () => {
    const yaml = policy("api-fd-install", "  kprobes:\n  - call: fd_install\n    args:\n    - {index: 0, type: int}\n");
    const err = await rejection(agent.client().addTracingPolicy({ yaml }));
    expect(err.message).toContain("fd_install");
    expect((await agent.client().listSensors({})).sensors.map((s) => s.name)).not.toContain("api-fd-install");
  });
});

describe("policies given at start", () => {
  test("--policy DIR loads every policy file; a bad file stops the agent with its error", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/fgs-policies-");
    try {
      writeFileSync(`${dir}/a.yaml`, openatUnder("start-a", "/nonexistent-a"));
      writeFileSync(`${dir}/b.yml`, openatUnder("start-b", "/nonexistent-b"));
      const a = await startAgent(["--policy", dir]);
      try {
        const names = (await a.client().listSensors({})).sensors.map((s) => s.name);
        expect(names).toEqual(expect.arrayContaining(["start-a", "start-b"]));
      } finally {
        await a.stop();
      }
      writeFileSync(`${dir}/c.yaml`, openatUnder("start-c", "/x").replace("type: string", "type: strng"));
      const bad = runAgentToExit(["--server-address", "127.0.0.1:0", "--policy", dir]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('unknown type "strng"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
