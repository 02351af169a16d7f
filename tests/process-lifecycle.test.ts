/* Clone and exit records from the real kernel: exit codes, signals, threads
 * (which are not processes), exec from multi-threaded processes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { readdirSync, realpathSync } from "node:fs";
import {
  OP_CLONE,
  OP_EXEC,
  OP_EXIT,
  type CloneRecord,
  type ExecRecord,
  type ExitRecord,
  type ProcessRecord,
} from "../src/decode/process";
import { ProcessProbe } from "./helpers/process-kernel";
import { program } from "./helpers/process-programs";
import { flagNames, run, sh } from "./helpers/process-run";

let probe: ProcessProbe;
const TRUE = realpathSync("/bin/true");
const SLEEP = realpathSync("/bin/sleep");
/* the path it is executed by (tests/helpers/process-run.ts sh()), not /usr/bin/dash */
const SHELL = "/bin/sh";

beforeAll(() => {
  probe = ProcessProbe.start();
});

afterAll(async () => {
  await probe?.stop();
});

async function exitOf(pid: number): Promise<ExitRecord> {
  return (await probe.waitFor((r) => r.op === OP_EXIT && r.tgid === pid, 5000, `exit of ${pid}`)) as ExitRecord;
}

async function execOf(pid: number, binary: string): Promise<ExecRecord> {
  const pred = (r: ProcessRecord) => r.op === OP_EXEC && r.tgid === pid && r.binary === binary;
  return (await probe.waitFor(pred, 5000, `exec of ${binary} by ${pid}`)) as ExecRecord;
}

function exitsOf(pid: number): ExitRecord[] {
  return probe.of(pid).filter((r): r is ExitRecord => r.op === OP_EXIT);
}

describe("exit records", () => {
  test("exit code 3", async () => {
    const r = await sh("exit 3");
    const exec = await execOf(r.pid, SHELL);
    const exit = await exitOf(r.pid);
    expect({ code: exit.exitCode, tid: exit.tid, ktime: exit.ktime, start: exit.startBoottime }).toEqual({
      code: 3 << 8,
      tid: r.pid,
      ktime: exec.ktime,
      start: exec.startBoottime,
    });
    expect(flagNames(exit.flags)).toEqual(["execve", "parentMiss"]);
  });

  test("killed by SIGKILL", async () => {
    const p = spawn([SLEEP, "30"], { stdin: "ignore", stdout: "ignore" });
    const exec = await execOf(p.pid, SLEEP);
    p.kill("SIGKILL");
    await p.exited;
    const exit = await exitOf(p.pid);
    expect({ code: exit.exitCode, ktime: exit.ktime }).toEqual({ code: 9, ktime: exec.ktime });
  });

  test("a thread exiting is not a process exit", async () => {
    const p = spawn([program("thread-exit"), "5"], { stdin: "pipe", stdout: "pipe" });
    const reader = p.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("joined\n");
    // The thread has exited (only the main thread is left) and no exit came.
    // pthread_join returns when the kernel clears the thread's tid, a moment
    // before it releases the task: its /proc entry can outlive the join briefly.
    const tasks = () => readdirSync(`/proc/${p.pid}/task`);
    for (let i = 0; i < 100 && tasks().length > 1; i++) await Bun.sleep(10);
    expect(tasks()).toEqual([String(p.pid)]);
    await Bun.sleep(100);
    expect(exitsOf(p.pid)).toEqual([]);
    p.stdin.end();
    await p.exited;
    const exit = await exitOf(p.pid);
    expect(exit.exitCode).toBe(5 << 8);
    await Bun.sleep(100);
    expect(exitsOf(p.pid).length).toBe(1);
  });

  test("the main thread exits first: one exit, reported by the last thread", async () => {
    const r = await run([program("leader-exit"), "7"]);
    expect(r.exitCode).toBe(7);
    const exit = await exitOf(r.pid);
    expect(exit.exitCode).toBe(7 << 8);
    expect(exit.tid).not.toBe(r.pid);
    await Bun.sleep(100);
    expect(exitsOf(r.pid).length).toBe(1);
  });

  test("execve from a multi-threaded process, by the main thread and by another thread", async () => {
    for (const who of ["leader", "thread"]) {
      const r = await run([program("mt-exec"), who, TRUE, "arg"]);
      expect(r.exitCode).toBe(0);
      const exec = await execOf(r.pid, TRUE);
      const exit = await exitOf(r.pid);
      expect({ argv: exec.argv, tgid: exec.tgid, exitKtime: exit.ktime, code: exit.exitCode }).toEqual({
        argv: [TRUE, "arg"],
        tgid: r.pid,
        exitKtime: exec.ktime,
        code: 0,
      });
      // The exec'ing thread's own id before the kernel made it the leader.
      if (who === "leader") expect(exec.tid).toBe(r.pid);
      else expect(exec.tid).not.toBe(r.pid);
      await Bun.sleep(100);
      expect(exitsOf(r.pid).length).toBe(1);
    }
  });
});

describe("clone records", () => {
  test("a fork without exec: clone record, its own exit, identity from its start", async () => {
    const r = await sh("( exit 4 ); exit 0");
    const parentExec = await execOf(r.pid, SHELL);
    const clone = (await probe.waitFor(
      (x) => x.op === OP_CLONE && x.parentTgid === r.pid,
      5000,
      "clone of the subshell",
    )) as CloneRecord;
    const exit = await exitOf(clone.tgid);
    expect({
      parentKtime: clone.parentKtime,
      flags: flagNames(clone.flags),
      exitKtime: exit.ktime,
      exitCode: exit.exitCode,
      exitFlags: flagNames(exit.flags),
    }).toEqual({
      parentKtime: parentExec.ktime,
      flags: ["clone"],
      exitKtime: clone.ktime,
      exitCode: 4 << 8,
      exitFlags: ["clone"],
    });
    expect(probe.of(clone.tgid).some((x) => x.op === OP_EXEC)).toBe(false);
    expect(clone.ktime).toBeGreaterThan(parentExec.ktime);
  });

  test("threads are not clones", async () => {
    const p = spawn([program("thread-exit"), "0"], { stdin: "pipe", stdout: "pipe" });
    await p.stdout.getReader().read();
    p.stdin.end();
    await p.exited;
    await exitOf(p.pid);
    const clones = probe.records.filter((x): x is CloneRecord => x.op === OP_CLONE && x.parentTgid === p.pid);
    expect(clones).toEqual([]);
  });
});
