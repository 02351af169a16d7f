// Issue 12: policies written the way the original agent's users wrote them load
// and mean what they meant there. Each goes through a real agent (dist/fgs) and
// a real gRPC client; enforcement is checked where it happens (the kernel).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { KprobeAction, type ProcessKprobe } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { EventRecorder } from "./helpers/events";
import { grpcJsClient, grpcUnary } from "./helpers/grpc-js";

let agent: RunningAgent;
let events: EventRecorder;

/* Only the programs these tests run: on a busy machine a stream of every
 * event can fall behind and be ended by the agent (bus overflow). */
const OURS = { allowList: [{ binaryRegex: ["^/(usr/)?bin/(cat|true|sh|echo|sleep|python3|unshare)$", "^/tmp/fgs-"] }] };
const dir = `/tmp/fgs-compat-${process.pid}`;

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  agent = await startAgent();
  events = EventRecorder.start(agent.client(), OURS);
  await events.ready();
});
afterAll(async () => {
  events.stop();
  await agent.stop();
  rmSync(dir, { recursive: true, force: true });
});

const policy = (name: string, spec: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
${spec}`;

/** openat(dfd, "path") with the given selectors (YAML, indented under selectors:). */
const openat = (selectors: string) => `  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: int
    - index: 1
      type: "string"
    selectors:
${selectors}`;

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("call succeeded");
}

const kprobesOf = (pid: number): ProcessKprobe[] => events.kprobesOf(pid);

const openedPaths = (pid: number): string[] =>
  kprobesOf(pid).map((k) => String(k.args[1]?.arg.value)).filter((p) => p.startsWith(dir));

/** Runs cat on the files; returns its pid once its exit was seen (all its events are in). */
async function cat(files: string[], binary = "/bin/cat", reported = binary): Promise<number> {
  const p = spawn([binary, ...files], { stdout: "ignore", stderr: "ignore" });
  await p.exited;
  const exec = await events.execOf(p.pid, reported);
  await events.exitOf(exec.process!.execId);
  return p.pid;
}

function file(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "x");
  return path;
}

describe("names the original accepted", () => {
  test("underscores and capitals load, list, report and delete; only unshowable names are refused", async () => {
    const c = agent.client();
    const name = "sys_openat_Passwd";
    const target = file("named");
    await c.addTracingPolicy({ yaml: policy(name, openat(`    - matchArgs:\n      - {index: 1, operator: Equal, values: ["${target}"]}\n`)) });
    expect((await c.listSensors({})).sensors).toContainEqual(expect.objectContaining({ name, enabled: true }));
    const pid = await cat([target]);
    expect(openedPaths(pid)).toEqual([target]);
    const dup = await refusal(c.addTracingPolicy({ yaml: policy(name, openat("    - matchActions: [{action: Post}]\n")) }));
    expect(dup.code).toBe(Code.AlreadyExists);
    expect(dup.rawMessage).toBe(
      `metadata.name: failed to add tracing policy "${name}": a sensor collection with the name already exists (the tracing policy "${name}"; delete it first)`,
    );
    await c.deleteTracingPolicy({ yaml: name });
    expect((await c.listSensors({})).sensors.map((s) => s.name)).not.toContain(name);

    const bell = await refusal(c.addTracingPolicy({ yaml: policy("ring\\u0007bell", openat("    - matchActions: [{action: Post}]\n")) }));
    expect(bell.code).toBe(Code.InvalidArgument);
    expect(bell.rawMessage).toBe(`metadata.name: "ring\\u0007bell" cannot be shown (it contains U+0007, a control or formatting character)`);
  });

  test("a built-in sensor's name is taken too, and the error names it", async () => {
    const e = await refusal(agent.client().addTracingPolicy({ yaml: policy("process", openat("    - matchActions: [{action: Post}]\n")) }));
    expect(e.code).toBe(Code.AlreadyExists);
    expect(e.rawMessage).toContain(`the built-in sensor "process"`);
  });
});

describe("string values ending in \\0", () => {
  test("Equal, Prefix and Postfix match the same calls with and without the NUL", async () => {
    const c = agent.client();
    const eq = file("eq.txt");
    const pre = file("prefix-1.txt");
    const post = file("one.post");
    const other = file("other.txt");
    const selectors = (nul: string) => `    - matchArgs:
      - {index: 1, operator: Equal, values: ["${eq}${nul}"]}
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["${dir}/prefix-${nul}"]}
    - matchArgs:
      - {index: 1, operator: Postfix, values: [".post${nul}"]}
`;
    for (const [name, nul] of [["nul_terminated", "\\0"], ["plain", ""]] as const) {
      await c.addTracingPolicy({ yaml: policy(name, openat(selectors(nul))) });
      try {
        const pid = await cat([eq, pre, post, other]);
        expect({ name, paths: openedPaths(pid) }).toEqual({ name, paths: [eq, pre, post] });
      } finally {
        await c.deleteTracingPolicy({ yaml: name });
      }
    }
  });
});

describe("documents the original's examples wrote", () => {
  test("no kind: a TracingPolicy (warned once); Mask on the flags, the return value and a \\0 value as there", async () => {
    const c = agent.client();
    const target = file("kindless");
    const yaml = `apiVersion: cilium.io/v1alpha1
metadata:
  name: "sys-openat-kindless"
spec:
  kprobes:
  - call: "sys_openat"
    return: true
    syscall: true
    args:
    - index: 0
      type: int
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    returnArg:
      type: int
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${target}\\0"
      - index: 2
        operator: "Mask"
        values:
        - 0x40 # CREATE
        - 0x1  # WRONLY
        - 0x2  # RDWR
      matchReturnArgs:
      - index: 0
        operator: "GT"
        values:
        - 0
`;
    await c.addTracingPolicy({ yaml });
    try {
      const reader = await cat([target]);
      const writer = spawn(["/bin/sh", "-c", `echo y > ${target}`]);
      await writer.exited;
      const k = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === writer.pid);
      const kp = k.event.value as ProcessKprobe;
      expect(kp.args[1]?.arg.value).toBe(target);
      expect(Number(kp.return?.arg.value)).toBeGreaterThan(0);
      expect(kprobesOf(reader)).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "sys-openat-kindless" });
    }
    const warned = agent.log().split("\n").filter((l) => l.includes('"policy field has no effect here"') && l.includes("sys-openat-kindless"));
    expect(warned.map((l) => (JSON.parse(l) as { field: string }).field)).toEqual(["kind: missing: taken as TracingPolicy"]);
  });
});

describe("matchPIDs followForks with isNamespacePID", () => {
  test("the pid in its namespace matches, and that process's descendants follow (unshare -p -f)", async () => {
    const c = agent.client();
    const [a, b, outside] = [file("ns-a"), file("ns-b"), file("ns-outside")];
    await c.addTracingPolicy({
      yaml: policy("ns_follow", openat(`    - matchPIDs:
      - {operator: In, values: [2], followForks: true, isNamespacePID: true}
      matchArgs:
      - {index: 1, operator: Prefix, values: ["${dir}/ns-"]}
`)),
    });
    try {
      // In the new namespace: sh is pid 1; the inner sh is pid 2, its cats follow it; the last cat is sh's (pid 1's).
      const script = `/bin/sh -c '/bin/cat ${a}; /bin/cat ${b}; true'; /bin/cat ${outside}; true`;
      const u = spawn(["/usr/bin/unshare", "-p", "-f", "/bin/sh", "-c", script], { stdout: "ignore", stderr: "pipe" });
      expect(await u.exited).toBe(0);
      const opened = async (path: string) =>
        (await events.find((e) => e.event.case === "processKprobe" && e.event.value.args[1]?.arg.value === path)).event.value as ProcessKprobe;
      const [ka, kb] = [await opened(a), await opened(b)];
      expect(ka.process?.binary).toBe("/bin/cat");
      expect(ka.parent?.binary).toBe("/bin/sh");
      expect(kb.parent?.pid).toBe(ka.parent?.pid);
      // The outside cat's exec is in; a kprobe for it would have come before its exit.
      const outsider = await events.find((e) => e.event.case === "processExec" && e.event.value.process?.arguments === outside);
      await events.exitOf((outsider.event.value as { process: { execId: string } }).process.execId);
      await Bun.sleep(200);
      expect(events.events.some((e) => e.event.case === "processKprobe" && e.event.value.args[1]?.arg.value === outside)).toBe(false);
    } finally {
      await c.deleteTracingPolicy({ yaml: "ns_follow" });
    }
  });
});

describe("action fields the action does not use", () => {
  test("argName on UnfollowFD and argError on SigKill (any case, as the original) load; it still kills in the kernel; each field warns once", async () => {
    const c = agent.client();
    const forbidden = join(dir, "forbidden");
    writeFileSync(forbidden, "x");
    const yaml = policy("unused_fields", openat(`    - matchArgs:
      - {index: 1, operator: Equal, values: ["${forbidden}\\0"]}
      matchActions:
      - {action: SigKill, argError: -1, argName: 1}
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${dir}/never"]}
      matchActions:
      - {action: UnfollowFD, argFd: 0, argName: 1}
`));
    for (let round = 0; round < 2; round++) {
      await c.addTracingPolicy({ yaml });
      try {
        const victim = spawn(["/bin/cat", forbidden], { stdout: "ignore", stderr: "ignore" });
        await victim.exited;
        expect(victim.signalCode).toBe("SIGKILL");
        const k = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === victim.pid);
        expect((k.event.value as ProcessKprobe).action).toBe(KprobeAction.SIGKILL);
      } finally {
        await c.deleteTracingPolicy({ yaml: "unused_fields" });
      }
    }
    const warnings = agent.log().split("\n").filter((l) => l.includes('"policy field has no effect here"') && l.includes('"unused_fields"'));
    expect(warnings.map((l) => (JSON.parse(l) as { field: string }).field)).toEqual([
      "spec.kprobes[0].selectors[0].matchActions[0].argName: ignored: Sigkill does not use argName",
      "spec.kprobes[0].selectors[0].matchActions[0].argError: ignored: Sigkill does not use argError",
      "spec.kprobes[0].selectors[1].matchActions[0].argName: ignored: UnfollowFD does not use argName",
    ]);
  });

  test("Override with any argError the original took is accepted; only the kernel can refuse it", async () => {
    const grpc = grpcJsClient("tetragon", agent.address);
    try {
      for (const argError of ["-1", "0", "1", "-2147483648"]) {
        const yaml = policy(`override_${argError.replace("-", "m")}`, `  - call: "security_file_open"
    args: [{index: 0, type: file}]
    selectors:
    - matchActions: [{action: Override, argError: ${argError}}]
`);
        const err = await grpcUnary(grpc, "AddTracingPolicy", { yaml }).then(() => null, (e: { code: number; details: string }) => e);
        // This kernel has no kprobes and forbids trampolines: a kernel reason, never the value.
        expect({ argError, code: err?.code }).toEqual({ argError, code: 9 /* FAILED_PRECONDITION */ });
        const details = decodeURIComponent(err!.details);
        expect(details).toContain("kprobe: the kernel has no kprobes");
        expect(details).not.toContain("must be an integer");
      }
    } finally {
      grpc.close();
    }
  });
});

describe("matchBinaries and the binary of symlinked paths", () => {
  test("matchBinaries compares the path executed by: /bin/cat is not /usr/bin/cat on merged /usr", async () => {
    const c = agent.client();
    const target = file("bin-target");
    await c.addTracingPolicy({
      yaml: policy("bin_cat", openat(`    - matchBinaries:
      - {operator: In, values: ["/bin/cat\\0"]}
      matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
`)),
    });
    try {
      const viaBin = await cat([target], "/bin/cat");
      const viaUsr = await cat([target], "/usr/bin/cat");
      expect(kprobesOf(viaBin).map((k) => k.process?.binary)).toEqual(["/bin/cat"]);
      expect(kprobesOf(viaUsr)).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "bin_cat" });
    }
  });

  test("binary-path=resolved: the resolved file in process.binary and in matchBinaries", async () => {
    const c = agent.client();
    const target = file("resolved-target");
    expect((await c.getSensorConfig({ name: "process", cfgkey: "binary-path" })).cfgval).toBe("exec");
    await c.setSensorConfig({ name: "process", cfgkey: "binary-path", cfgval: "resolved" });
    await c.addTracingPolicy({
      yaml: policy("bin_resolved", openat(`    - matchBinaries:
      - {operator: In, values: ["/usr/bin/cat"]}
      matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
`)),
    });
    try {
      // Executed as /bin/cat, reported and matched as the file it runs.
      const pid = await cat([target], "/bin/cat", "/usr/bin/cat");
      expect(kprobesOf(pid).map((k) => k.process?.binary)).toEqual(["/usr/bin/cat"]);
    } finally {
      await c.setSensorConfig({ name: "process", cfgkey: "binary-path", cfgval: "exec" });
      await c.deleteTracingPolicy({ yaml: "bin_resolved" });
    }
    const bad = await refusal(c.setSensorConfig({ name: "process", cfgkey: "binary-path", cfgval: "real" }));
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  test("/bin/sh -c reports /bin/sh, a #! script its own path, a relative exec the absolute path", async () => {
    const script = join(dir, "hello.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const sh = spawn(["/bin/sh", "-c", `cd ${dir} && ./hello.sh; true`], { stdout: "ignore" });
    await sh.exited;
    expect((await events.execOf(sh.pid, "/bin/sh")).process?.arguments).toBe(`-c cd ${dir} && ./hello.sh; true`);
    const child = await events.find((e) => e.event.case === "processExec" && e.event.value.parent?.pid === sh.pid);
    expect((child.event.value as { process: { binary: string } }).process.binary).toBe(script);
  });
});
