// Issue 3 end to end: real kernel → agent → a real gRPC stream. Each test runs
// known commands and asserts the exact ProcessExec/ProcessExit, with /proc
// ground truth taken while the process lives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { spawn } from "bun";
import { CapabilitiesType, type Process } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { agentWithEvents, EventRecorder } from "./helpers/events";
import { procTruth, randomHex } from "./helpers/process-run";

let agent: RunningAgent;
let events: EventRecorder;

const shared = agentWithEvents();
beforeAll(async () => ({ agent, events } = await shared.start()));
afterAll(() => shared.stop());

function capNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit <= 40; bit++) {
    const name = CapabilitiesType[bit];
    if (mask & (1n << BigInt(bit)) && name !== undefined) names.push(name);
  }
  return names;
}

function decodeExecId(p: Process): [string, bigint, number] {
  const text = Buffer.from(p.execId, "base64").toString("ascii");
  const [node, ktime, pid] = text.split(":");
  if (node === undefined || ktime === undefined || pid === undefined) throw new Error(`exec_id ${text} is not node:ktime:pid`);
  return [node, BigInt(ktime), Number(pid)];
}

describe("ProcessExec and ProcessExit over gRPC", () => {
  test("a known command: every Process field checked against /proc while it lives", async () => {
    const child = spawn(["/bin/sleep", "0.7"], { cwd: "/tmp" });
    await Bun.sleep(200);
    const truth = procTruth(child.pid);
    await child.exited;
    const exec = await events.execOf(child.pid, "/bin/sleep");
    const p = exec.process!;
    expect(p.binary).toBe("/bin/sleep");
    expect(p.arguments).toBe("0.7");
    expect(p.cwd).toBe("/tmp");
    expect(p.pid).toBe(child.pid);
    expect(p.uid).toBe(truth.uid);
    expect(p.auid).toBe(truth.auid);
    expect(p.flags.split(" ")).toContain("execve");
    expect(p.cap?.effective).toEqual(capNames(truth.caps.effective).map((n) => CapabilitiesType[n as keyof typeof CapabilitiesType]));
    expect(p.cap?.permitted).toEqual(capNames(truth.caps.permitted).map((n) => CapabilitiesType[n as keyof typeof CapabilitiesType]));
    expect(p.ns?.mnt?.inum).toBe(truth.ns.mnt);
    expect(p.ns?.pid?.inum).toBe(truth.ns.pid);
    expect(p.ns?.net?.inum).toBe(truth.ns.net);
    expect(p.ns?.user?.inum).toBe(truth.ns.user);
    expect(p.ns?.uts?.inum).toBe(truth.ns.uts);
    expect(p.ns?.cgroup?.inum).toBe(truth.ns.cgroup);
    expect(p.ns?.mnt?.isHost).toBe(true);
    expect(p.docker).toBe("");
    const [node, ktime, pid] = decodeExecId(p);
    expect([node, pid]).toEqual([hostname(), child.pid]);
    expect(ktime).toBeGreaterThan(0n);
    expect(p.startTime?.seconds).toBeGreaterThan(BigInt(Math.floor(Date.now() / 1000) - 60));
    expect(exec.parent?.pid).toBe(process.pid);
    expect(p.parentExecId).toBe(exec.parent?.execId ?? "missing");
    const exit = await events.exitOf(p.execId);
    expect(exit.processExit.status).toBe(0);
    expect(exit.processExit.signal).toBe("");
    expect(exit.processExit.process?.binary).toBe("/bin/sleep");
    expect(exit.processExit.parent?.pid).toBe(process.pid);
  });

  test("exit code 3 and SIGKILL", async () => {
    const three = spawn(["/bin/sh", "-c", "exit 3"]);
    await three.exited;
    const e3 = await events.execOf(three.pid, "/bin/sh");
    expect((await events.exitOf(e3.process!.execId)).processExit).toMatchObject({ status: 3, signal: "" });
    const killed = spawn(["/bin/sleep", "30"]);
    const ek = await events.execOf(killed.pid, "/bin/sleep");
    killed.kill("SIGKILL");
    await killed.exited;
    expect((await events.exitOf(ek.process!.execId)).processExit.signal).toBe("SIGKILL");
  });

  test("a fork that does not exec is a clone child of its parent and parents what it execs", async () => {
    // The subshell is a fork of dash that never execs (it has two commands);
    // it forks again to exec /bin/echo. dash exec's the last command directly.
    const sh = spawn(["/bin/sh", "-c", "(/bin/echo clone-marker; /bin/true) ; exit 0"], { stdout: "ignore" });
    await sh.exited;
    const shell = await events.execOf(sh.pid, "/bin/sh");
    const echo = await events.find((ev) => ev.event.case === "processExec" && ev.event.value.process?.arguments === "clone-marker");
    const echoExec = echo.event.value as { process: Process; parent: Process };
    const parent = echoExec.parent;
    expect(parent.flags).toBe("clone");
    expect(parent.binary).toBe("/bin/sh");
    expect(parent.arguments).toBe(shell.process!.arguments);
    expect(parent.parentExecId).toBe(shell.process!.execId);
  });

  test("argv with newlines and non-UTF-8 bytes keeps the JSON valid", async () => {
    const p = spawn(["/bin/echo", "a\nb", Buffer.from([0xff, 0xfe, 0x41]).toString("latin1"), "c d"], { stdout: "ignore" });
    await p.exited;
    const exec = await events.execOf(p.pid, "/bin/echo");
    expect(exec.process!.arguments.startsWith("a\nb ")).toBe(true);
    expect(exec.process!.arguments.endsWith(" c d")).toBe(true);
  });

  test("a process in a cgroup with a 64-hex id gets its docker field", async () => {
    const id = randomHex(32);
    const cg = `/sys/fs/cgroup/unified/docker-${id}.scope`;
    mkdirSync(cg);
    try {
      const p = spawn(["/bin/sh", "-c", `echo $$ > ${cg}/cgroup.procs && exec /bin/true`]);
      await p.exited;
      const exec = await events.execOf(p.pid, "/bin/true");
      expect(exec.process!.docker).toBe(id.slice(0, 31));
    } finally {
      await Bun.sleep(100);
      rmdirSync(cg);
    }
  });

  test("a process running before the agent started is known from /proc (procFS) and its exit is complete", async () => {
    const early = spawn(["/bin/sleep", "120"], { cwd: "/" });
    await Bun.sleep(100);
    const a2 = await startAgent();
    const rec = EventRecorder.start(a2.client());
    await rec.ready();
    try {
      early.kill("SIGTERM");
      await early.exited;
      const exit = await rec.find((ev) => ev.event.case === "processExit" && ev.event.value.process?.pid === early.pid);
      const p = (exit.event.value as { process: Process }).process;
      expect(p.flags.split(" ")).toContain("procFS");
      expect(p.binary).toBe("/usr/bin/sleep");
      expect(p.arguments).toBe("120");
      expect(p.cwd).toBe("/");
      expect((exit.event.value as { signal: string }).signal).toBe("SIGTERM");
    } finally {
      rec.stop();
      await a2.stop();
    }
  });

  test("ancestors are reported when the sensor option is on", async () => {
    const c = agent.client();
    await c.setSensorConfig({ name: "process", cfgkey: "ancestors", cfgval: "true" });
    try {
      const p = spawn(["/bin/sh", "-c", "/bin/sh -c '/bin/echo ancestors-marker'"], { stdout: "ignore" });
      await p.exited;
      const ev = await events.find((e) => e.event.case === "processExec" && e.event.value.process?.arguments === "ancestors-marker");
      const exec = ev.event.value as { ancestors: Process[]; parent: Process };
      expect(exec.ancestors.length).toBeGreaterThanOrEqual(2);
      expect(exec.ancestors[0]?.execId).toBe(exec.parent.parentExecId);
      expect(exec.ancestors.map((a) => a.pid)).toContain(process.pid);
    } finally {
      await c.setSensorConfig({ name: "process", cfgkey: "ancestors", cfgval: "false" });
    }
  });
});

describe("bounded memory", () => {
  test("after 50,000 short-lived processes the agent's memory returns near its baseline", async () => {
    const rss = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${agent.proc.pid}/status`, "utf8"))?.[1]) * 1024;
    const liveEntries = async () => Number(/entries=(\d+)/.exec((await agent.client().getHealth({})).healthStatus[1]?.details ?? "")?.[1]);
    Bun.gc(true);
    const entriesBefore = await liveEntries();
    const before = rss();
    const r = spawn(["python3", "-c", "import os\nfor i in range(50000):\n  pid = os.posix_spawn('/bin/true', ['/bin/true'], {})\n  os.waitpid(pid, 0)\n"]);
    await r.exited;
    await Bun.sleep(1500);
    const entriesAfter = await liveEntries();
    const after = rss();
    console.log(`rss before ${(before / 2 ** 20).toFixed(1)} MiB, after 50k processes ${(after / 2 ** 20).toFixed(1)} MiB; cache entries ${entriesBefore} → ${entriesAfter}`);
    expect(entriesAfter).toBeLessThan(entriesBefore + 200);
    expect(after).toBeLessThan(before + 40 * 2 ** 20);
  }, 240000);
});
