/* ProcessExec / ProcessExit messages from the process cache fed by the real
 * kernel's records: exec ids, parents, clone inheritance, /proc start-up walk,
 * docker, namespaces, capabilities, exit status, reference counts. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { mkdirSync, readFileSync, realpathSync, rmdirSync } from "node:fs";
import { create, toJsonString } from "@bufbuild/protobuf";
import {
  CapabilitiesType,
  GetEventsResponseSchema,
  ProcessSchema,
  type GetEventsResponse,
  type Process,
  type ProcessExec,
  type ProcessExit,
} from "../gen/tetragon/tetragon_pb";
import { systemClock } from "../src/bpf/clock";
import { ProcessCache } from "../src/cache";
import { capList } from "../src/cache/caps";
import { namespacesInit } from "../src/cache/namespaces";
import { readHostNamespaces } from "../src/kernel/namespaces";
import { OP_CLONE, OP_EXEC, type CloneRecord, type ExecRecord } from "../src/decode/process";
import { ProcessProbe } from "./helpers/process-kernel";
import { procTruth, randomHex, sh, tempDir } from "./helpers/process-run";

const NODE = "test-node";
const TRUE = realpathSync("/bin/true");
const SLEEP = realpathSync("/bin/sleep");
/* the path it is executed by (tests/helpers/process-run.ts sh()), not /usr/bin/dash */
const SHELL = "/bin/sh";
const clock = systemClock();

let probe: ProcessProbe;
let cache: ProcessCache;
/** A cache that skipped the /proc walk: every process from before is a miss. */
let blind: ProcessCache;
let before: Subprocess;
let beforeStart: bigint;
const events: GetEventsResponse[] = [];
let dir: { path: string; remove(): void };

function b64(s: string): string {
  return Buffer.from(s).toString("base64");
}

function startTicks(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  if (start === undefined) throw new Error(`/proc/${pid}/stat has no start time`);
  return BigInt(start);
}

beforeAll(() => {
  dir = tempDir();
  before = spawn([SLEEP, "60"], { cwd: dir.path, stdin: "ignore", stdout: "ignore" });
  beforeStart = startTicks(before.pid) * 10_000_000n;
  probe = ProcessProbe.start();
  cache = new ProcessCache({ nodeName: NODE, clock, hostNamespaces: readHostNamespaces("/proc"), ancestors: true });
  blind = new ProcessCache({ nodeName: NODE, clock, hostNamespaces: readHostNamespaces("/proc") });
  cache.walkProcFs(probe.map("execve_map"));
  probe.onRecord = (r) => {
    const ev = cache.handle(r);
    blind.handle(r);
    if (ev) events.push(ev);
  };
});

afterAll(async () => {
  before?.kill("SIGKILL");
  await probe?.stop();
  dir?.remove();
});

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = find();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

function execEvent(pid: number, binary: string): Promise<{ ev: GetEventsResponse; exec: ProcessExec }> {
  return until(() => {
    for (const ev of events) {
      if (ev.event.case === "processExec" && ev.event.value.process?.pid === pid && ev.event.value.process.binary === binary)
        return { ev, exec: ev.event.value };
    }
    return undefined;
  }, `exec event of ${binary} (${pid})`);
}

function exitEvent(pid: number): Promise<{ ev: GetEventsResponse; exit: ProcessExit }> {
  return until(() => {
    for (const ev of events) {
      if (ev.event.case === "processExit" && ev.event.value.process?.pid === pid) return { ev, exit: ev.event.value };
    }
    return undefined;
  }, `exit event of ${pid}`);
}

function execRecord(pid: number, binary: string): ExecRecord {
  const r = probe.of(pid).find((x): x is ExecRecord => x.op === OP_EXEC && x.binary === binary);
  if (!r) throw new Error(`no exec record of ${binary} by ${pid}`);
  return r;
}

const host = readHostNamespaces("/proc");

describe("ProcessExec and ProcessExit from kernel records", () => {
  test("an exec and its exit: every Process field", async () => {
    const r = await sh(`exec ${TRUE} a 'b c'`, { cwd: dir.path });
    const { ev, exec } = await execEvent(r.pid, TRUE);
    const rec = execRecord(r.pid, TRUE);
    const self = cache.lookup(process.pid);
    expect(self?.flags).toBeDefined();
    const expected = create(ProcessSchema, {
      execId: b64(`${NODE}:${rec.ktime}:${r.pid}`),
      pid: r.pid,
      uid: 0,
      cwd: dir.path,
      binary: TRUE,
      arguments: "a b c",
      flags: "execve",
      startTime: clock.bootNsToTimestamp(rec.ktime),
      auid: 4294967295,
      docker: "",
      parentExecId: self?.execId,
      refcnt: 1,
      cap: { effective: capList(rec.caps.effective), permitted: capList(rec.caps.permitted), inheritable: [] },
      ns: namespacesInit(rec.ns, host),
    });
    expect(exec.process).toEqual(expected);
    expect(ev.nodeName).toBe(NODE);
    expect(ev.time).toEqual(expected.startTime);
    expect(exec.parent?.pid).toBe(process.pid);
    expect(exec.parent?.execId).toBe(b64(`${NODE}:${startTicks(process.pid) * 10_000_000n}:${process.pid}`));
    expect(exec.parent?.flags.split(" ")).toContain("procFS");
    // Ancestors: from the grandparent up to pid 1.
    const ancestors = exec.ancestors.map((a) => a.pid);
    expect(ancestors[0]).toBe(Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]));
    expect(ancestors[ancestors.length - 1]).toBe(1);

    const { exit } = await exitEvent(r.pid);
    expect({ ...exit.process, refcnt: 0 }).toEqual({ ...expected, refcnt: 0 });
    expect({ status: exit.status, signal: exit.signal, parent: exit.parent?.execId }).toEqual({
      status: 0,
      signal: "",
      parent: self?.execId,
    });
    expect(cache.lookupExecId(expected.execId)).toBeUndefined();
  });

  test("exit status 3 and SIGKILL", async () => {
    const r = await sh("exit 3");
    expect((await exitEvent(r.pid)).exit).toMatchObject({ status: 3, signal: "" });
    const p = spawn([SLEEP, "30"], { stdin: "ignore", stdout: "ignore" });
    await execEvent(p.pid, SLEEP);
    p.kill("SIGKILL");
    await p.exited;
    const { exit } = await exitEvent(p.pid);
    expect({ status: exit.status, signal: exit.signal, binary: exit.process?.binary }).toEqual({
      status: 0,
      signal: "SIGKILL",
      binary: SLEEP,
    });
  });

  test("a fork that does not exec inherits binary and arguments and parents what it execs", async () => {
    const r = await sh(`( ${TRUE} x; exit 5 ); exit 0`);
    const shell = await execEvent(r.pid, SHELL);
    const clone = await until(
      () => probe.records.find((x): x is CloneRecord => x.op === OP_CLONE && x.parentTgid === r.pid),
      "clone record",
    );
    const { exec } = await execEvent(
      (await until(() => probe.records.find((x) => x.op === OP_CLONE && x.parentTgid === clone.tgid), "grandchild")).tgid,
      TRUE,
    );
    const cloneId = b64(`${NODE}:${clone.ktime}:${clone.tgid}`);
    expect(exec.process?.parentExecId).toBe(cloneId);
    expect(exec.parent).toMatchObject({
      execId: cloneId,
      pid: clone.tgid,
      binary: SHELL,
      arguments: shell.exec.process?.arguments,
      flags: "clone",
      parentExecId: shell.exec.process?.execId,
      cwd: shell.exec.process?.cwd,
    });
    const { exit } = await exitEvent(clone.tgid);
    expect({ status: exit.status, process: exit.process?.execId, flags: exit.process?.flags, parent: exit.parent?.execId }).toEqual({
      status: 5,
      process: cloneId,
      flags: "clone",
      parent: shell.exec.process?.execId,
    });
    // The shell's own exec is its first after the fork from this test process.
    expect(shell.exec.process?.flags).toBe("execve clone");
  });

  test("a process running before start: learned from /proc, its exit carries full information", async () => {
    const id = b64(`${NODE}:${beforeStart}:${before.pid}`);
    const known = cache.lookup(before.pid);
    expect(known?.execId).toBe(id);
    before.kill("SIGTERM");
    await before.exited;
    const { exit } = await exitEvent(before.pid);
    expect(exit.process).toMatchObject({
      execId: id,
      pid: before.pid,
      binary: SLEEP,
      arguments: "60",
      cwd: dir.path,
      flags: "procFS auid",
      parentExecId: b64(`${NODE}:${startTicks(process.pid) * 10_000_000n}:${process.pid}`),
    });
    expect(exit.signal).toBe("SIGTERM");
    // The kernel knew it too (execve_map was seeded): same identity in its record.
    const rec = probe.of(before.pid).find((x) => x.op === 3);
    expect(rec && "ktime" in rec ? rec.ktime : 0n).toBe(beforeStart);
    // A cache that did not walk /proc reports it as a miss.
    expect(blind.stats().misses).toBeGreaterThan(0);
  });

  test("a process the cache never saw: miss", () => {
    const ev = blind.onExit({
      op: 3,
      time: 1n,
      tgid: 999999999,
      tid: 999999999,
      ktime: 42n,
      startBoottime: 42n,
      exitCode: 0,
      flags: 0,
    });
    expect(ev.event.case === "processExit" ? ev.event.value.process : undefined).toMatchObject({
      execId: b64(`${NODE}:42:999999999`),
      pid: 999999999,
      flags: "miss",
    });
  });

  test("docker: the container id from the cgroup path, empty on the host", async () => {
    const id = randomHex(32);
    const top = `/sys/fs/cgroup/unified/fgs-test-${randomHex(4)}`;
    const cg = `${top}/docker-${id}.scope`;
    mkdirSync(cg, { recursive: true });
    try {
      const r = await sh(`echo $$ > ${cg}/cgroup.procs && exec ${TRUE}`);
      const { exec } = await execEvent(r.pid, TRUE);
      expect(exec.process?.docker).toBe(id.slice(0, 31));
      expect(exec.parent?.docker).toBe("");
    } finally {
      rmdirSync(cg);
      rmdirSync(top);
    }
  });

  test("ns is_host and capability lists", async () => {
    const p = spawn(["unshare", "-p", "-f", "setpriv", "--bounding-set=-net_raw", "--inh-caps=+kill", SLEEP, "30"], {
      stdin: "ignore",
      stdout: "ignore",
    });
    try {
      const clone = await until(
        () => probe.records.find((x): x is CloneRecord => x.op === OP_CLONE && x.parentTgid === p.pid),
        "fork of unshare",
      );
      const { exec } = await execEvent(clone.tgid, SLEEP);
      const truth = procTruth(clone.tgid);
      const ns = exec.process?.ns;
      expect({ pid: ns?.pid, net: ns?.net, user: ns?.user }).toMatchObject({
        pid: { inum: truth.ns.pid, isHost: false },
        net: { inum: truth.ns.net, isHost: true },
        user: { inum: truth.ns.user, isHost: true },
      });
      const cap = exec.process?.cap;
      expect(cap?.inheritable).toEqual([CapabilitiesType.CAP_KILL]);
      expect(cap?.effective).not.toContain(CapabilitiesType.CAP_NET_RAW);
      expect(cap?.effective).toContain(CapabilitiesType.CAP_SYS_ADMIN);
      expect(cap?.effective).toEqual(capList(truth.caps.effective));
      expect(cap?.permitted).toEqual(capList(truth.caps.permitted));
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
  });

  test("non-UTF-8 arguments keep the JSON valid", async () => {
    const r = await sh(`exec ${TRUE} "$(printf 'caf\\351')" "$(printf 'a\\nb')"`);
    const { ev } = await execEvent(r.pid, TRUE);
    const json = JSON.parse(toJsonString(GetEventsResponseSchema, ev)) as { processExec: { process: Process } };
    expect(json.processExec.process.arguments).toBe("caf\uFFFD a\nb");
  });

  test("reference counts: children hold their parent; entries go when nothing refers to them", async () => {
    const p = spawn(["/bin/sh", "-c", `${SLEEP} 0.3 & ${SLEEP} 0.3 & wait`], { stdin: "ignore", stdout: "ignore" });
    const shell = await execEvent(p.pid, SHELL);
    const sleeps = await until(() => {
      const s = events.filter(
        (e) => e.event.case === "processExec" && e.event.value.process?.binary === SLEEP && e.event.value.parent?.pid === p.pid,
      );
      return s.length === 2 ? s : undefined;
    }, "two sleeps");
    const shellEntry = cache.lookup(p.pid);
    // itself, and two children (their clones, replaced by execs, still hold it via the execs)
    expect(shellEntry?.refcnt).toBe(3);
    const second = sleeps[1]?.event.value as ProcessExec;
    expect(second.parent?.refcnt).toBe(3);
    await p.exited;
    const { exit } = await exitEvent(p.pid);
    expect(exit.process?.execId).toBe(shell.exec.process?.execId);
    for (const s of sleeps) {
      const id = (s.event.value as ProcessExec).process?.execId ?? "";
      expect(cache.lookupExecId(id)).toBeUndefined();
    }
    expect(cache.lookupExecId(shell.exec.process?.execId ?? "")).toBeUndefined();
  });
});
