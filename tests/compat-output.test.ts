// Issue 12: what the original's clients print and parse, and errors that help,
// through a real agent (dist/fgs), real gRPC clients and the fgs CLI.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync, type Subprocess } from "bun";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Process, ProcessKprobe } from "../gen/tetragon/tetragon_pb";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";
import { EventRecorder } from "./helpers/events";
import { grpcJsClient, grpcUnary } from "./helpers/grpc-js";

const dir = `/tmp/fgs-compat-out-${process.pid}`;
let agent: RunningAgent;
let events: EventRecorder;
let early: Subprocess;

/* Only the programs these tests run: on a busy machine a stream of every
 * event can fall behind and be ended by the agent (bus overflow). */
const OURS = { allowList: [{ binaryRegex: ["^/(usr/)?bin/(cat|true|sh|echo|sleep|python3|unshare)$", "^/tmp/fgs-"] }] };

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Learned from /proc at agent start: cwd "/" gives procFS ... rootcwd.
  early = spawn(["/bin/sleep", "300"], { cwd: "/" });
  agent = await startAgent();
  events = EventRecorder.start(agent.client(), OURS);
  await events.ready();
});
afterAll(async () => {
  early.kill();
  events.stop();
  await agent.stop();
  rmSync(dir, { recursive: true, force: true });
});

const policy = (name: string, spec: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
  kprobes:
${spec}`;

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("call succeeded");
}

function fgs(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync([FGS, ...args, "--server-address", agent.address], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("flags in the original's order", () => {
  test("a forked child exec in / is 'execve rootcwd clone'; a process learned from /proc 'procFS auid rootcwd'", async () => {
    const child = spawn(["/bin/true"], { cwd: "/" });
    await child.exited;
    expect((await events.execOf(child.pid, "/bin/true")).process?.flags).toBe("execve rootcwd clone");
    early.kill("SIGTERM");
    const exit = await events.find((e) => e.event.case === "processExit" && e.event.value.process?.pid === early.pid);
    const p = (exit.event.value as { process: Process }).process;
    expect(p.flags).toBe("procFS auid rootcwd");
  });
});

describe("function_name of syscall hooks", () => {
  test("sys_openat, __x64_sys_openat and openat with syscall: true all report __x64_sys_openat, and compact output says syscall", async () => {
    const c = agent.client();
    const target = join(dir, "fn");
    writeFileSync(target, "x");
    const hook = (call: string) => `  - call: ${call}
    syscall: true
    args: [{index: 0, type: int}, {index: 1, type: string}]
    selectors:
    - matchArgs: [{index: 1, operator: Equal, values: ["${target}"]}]
`;
    const compact = spawn([FGS, "getevents", "-o", "compact", "--color", "never", "--server-address", agent.address], { stdout: "pipe" });
    const out = { text: "" };
    const reading = (async () => {
      for await (const chunk of compact.stdout) out.text += new TextDecoder().decode(chunk);
    })();
    for (let i = 0; i < 100 && !out.text.includes("compact-ready"); i++) {
      spawnSync(["/bin/echo", "compact-ready"]);
      await Bun.sleep(100);
    }
    try {
      for (const call of ["sys_openat", "__x64_sys_openat", "openat"]) {
        await c.addTracingPolicy({ yaml: policy("fn-name", hook(call)) });
        try {
          const p = spawn(["/bin/cat", target], { stdout: "ignore" });
          await p.exited;
          const k = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === p.pid);
          expect({ call, fn: (k.event.value as ProcessKprobe).functionName }).toEqual({ call, fn: "__x64_sys_openat" });
        } finally {
          await c.deleteTracingPolicy({ yaml: "fn-name" });
        }
      }
      await Bun.sleep(500);
    } finally {
      compact.kill("SIGINT");
    }
    await reading;
    const lines = out.text.split("\n").filter((l) => l.includes(target) && l.startsWith("🔧"));
    expect(lines.length).toBe(3);
    for (const line of lines) expect(line).toMatch(/^🔧 syscall \S+ \/bin\/cat \S*__x64_sys_openat/);
  });
});

describe("health as the original's clients read it", () => {
  test("the first status entry's details are 'running'; the diagnostics are a second entry and in fgs status", async () => {
    const grpc = grpcJsClient("tetragon", agent.address);
    try {
      const h = await grpcUnary<{ health_status: { event: string; status: string; details: string }[] }>(grpc, "GetHealth", {});
      expect(h.health_status[0]).toEqual({ event: "HEALTH_STATUS_TYPE_STATUS", status: "HEALTH_STATUS_RUNNING", details: "running" });
      expect(h.health_status[1]?.details).toContain("sensors: process=enabled");
    } finally {
      grpc.close();
    }
    const status = fgs(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toStartWith("status: running\ndetails: running\n");
    expect(status.stdout).toContain("sensors: process=enabled");
  });
});

describe("errors that help", () => {
  test("every hook that cannot attach is named with what the kernel lacks, fentry's EPERM explained", async () => {
    const e = await refusal(agent.client().addTracingPolicy({
      yaml: policy("two-hooks", `  - call: fd_install
    args: [{index: 0, type: int}, {index: 1, type: file}]
  - call: security_file_open
    args: [{index: 0, type: file}]
`),
    }));
    expect(e.code).toBe(Code.FailedPrecondition);
    const lines = e.rawMessage.split("; spec.");
    expect(lines.length).toBe(2);
    expect(lines[0]).toStartWith("spec.kprobes[0] (fd_install): cannot attach: kprobe: the kernel has no kprobes");
    expect(lines[1]).toStartWith("kprobes[1] (security_file_open): cannot attach: kprobe: the kernel has no kprobes");
    for (const l of lines) {
      expect(l).toContain("generic_fentry: EPERM: this system does not permit attaching BPF programs to kernel functions, even as root");
    }
    expect((await agent.client().listSensors({})).sensors.map((s) => s.name)).not.toContain("two-hooks");
  });

  test("a Go template of a policy gets one clear error, and nobody prints Node warnings", async () => {
    const file = join(dir, "template.yaml");
    writeFileSync(file, `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "pid-{{.Pid}}"
spec:
  kprobes:
  - call: sys_write
    syscall: true
    selectors:
    - matchPIDs:
      - operator: In
        values:
        - {{.Pid}}
`);
    const before = agent.log().length;
    const r = fgs(["tracingpolicy", "add", file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain(`yaml: line 4 column 14: {{.Pid}} is a template placeholder: this is a template of a TracingPolicy, not a TracingPolicy (fill in its placeholders first)`);
    expect(r.stderr).not.toContain("Warning");
    await Bun.sleep(200);
    expect(agent.log().slice(before)).not.toContain("Warning");
  });

  test("fgs agent --policy DIR reports every bad file, not only the first", async () => {
    const pdir = join(dir, "policies");
    mkdirSync(pdir);
    writeFileSync(join(pdir, "a-good.yaml"), policy("good", "  - call: sys_getppid\n    syscall: true\n"));
    writeFileSync(join(pdir, "b-bad.yaml"), policy("bad-type", "  - call: sys_write\n    syscall: true\n    args: [{index: 0, type: intt}]\n"));
    writeFileSync(join(pdir, "c-template.yaml"), "{{.Pid}}\n");
    writeFileSync(join(pdir, "d-configmap.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    const r = spawnSync([FGS, "agent", "--server-address", "127.0.0.1:0", "--policy", pdir], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(r.exitCode).not.toBe(0);
    const last = r.stderr.toString().trim().split("\n").pop() ?? "";
    expect(last).toStartWith("fgs agent: ");
    expect(last).toContain(`${pdir}/b-bad.yaml: spec.kprobes[0].args[0].type: unknown type "intt"`);
    expect(last).toContain(`${pdir}/c-template.yaml: yaml: line 1 column 1: {{.Pid}} is a template placeholder`);
    expect(last).toContain(`${pdir}/d-configmap.yml: not a TracingPolicy: its kind is "ConfigMap"`);
    expect(last).not.toContain("a-good.yaml");
    expect(r.stderr.toString()).not.toContain("Warning");
  });
});
