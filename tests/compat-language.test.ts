// Issue 13 (part): fields of the current TracingPolicy language, loaded through
// the API of a real agent (dist/fgs), triggered, and checked field by field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessKprobe } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { EventRecorder } from "./helpers/events";

let agent: RunningAgent;
let events: EventRecorder;

/* Only the programs these tests run: on a busy machine a stream of every
 * event can fall behind and be ended by the agent (bus overflow). */
const OURS = { allowList: [{ binaryRegex: ["^/(usr/)?bin/(cat|true|sh|echo|sleep|python3|unshare)$", "^/tmp/fgs-"] }] };
const dir = `/tmp/fgs-lang-${process.pid}`;

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

function file(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "x");
  return path;
}

async function catOnce(path: string): Promise<number> {
  const p = spawn(["/bin/cat", path], { stdout: "ignore" });
  await p.exited;
  const exec = await events.execOf(p.pid, "/bin/cat");
  await events.exitOf(exec.process!.execId);
  return p.pid;
}

const kprobesOf = (pid: number): ProcessKprobe[] => events.kprobesOf(pid);

const warningsOf = (policy: string): string[] =>
  agent.log().split("\n")
    .filter((l) => l.includes('"policy field has no effect here"') && l.includes(`"policy":"${policy}"`))
    .map((l) => (JSON.parse(l) as { field: string }).field);

describe("hook message, tags, ignore; arg label and maxData", () => {
  test("message, tags, label and policy_name are in the event; maxData and ignore are accepted and warned once", async () => {
    const c = agent.client();
    const target = file("labelled");
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-report"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    message: "a watched file was opened"
    tags: ["observability.filesystem", "compat"]
    ignore:
      callNotFound: true
    args:
    - index: 0
      type: "int"
      label: "dirfd"
    - index: 1
      type: "string"
      label: "pathname"
      maxData: true
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["${target}"]
`;
    await c.addTracingPolicy({ yaml });
    try {
      const [k] = kprobesOf(await catOnce(target));
      expect(k).toBeDefined();
      expect({
        functionName: k!.functionName, policyName: k!.policyName, message: k!.message, tags: k!.tags,
        labels: k!.args.map((a) => a.label), path: k!.args[1]?.arg.value,
      }).toEqual({
        functionName: "__x64_sys_openat", policyName: "lang-report", message: "a watched file was opened",
        tags: ["observability.filesystem", "compat"], labels: ["dirfd", "pathname"], path: target,
      });
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-report" });
    }
    await c.addTracingPolicy({ yaml });
    await c.deleteTracingPolicy({ yaml: "lang-report" });
    expect(warningsOf("lang-report")).toEqual([
      "spec.kprobes[0].args[1].maxData: ignored: buffers are captured up to 4096 bytes here (truncated_bytes_arg past that)",
      "spec.kprobes[0].ignore.callNotFound: ignored: a call that does not exist is refused here, naming it",
    ]);
  });
});

describe("podSelector", () => {
  test("accepted, said plainly that there is no Kubernetes here, loaded disabled: it selects no process until enabled", async () => {
    const c = agent.client();
    const target = file("pods");
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "lang-pods"
  namespace: "default"
spec:
  podSelector:
    matchLabels:
      app: "web"
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
`;
    await c.addTracingPolicy({ yaml });
    try {
      expect((await c.listSensors({})).sensors).toContainEqual(expect.objectContaining({ name: "lang-pods", enabled: false }));
      expect(warningsOf("lang-pods")).toEqual([
        "spec.podSelector: there is no Kubernetes here, so no pod or container matches: the policy is loaded disabled (it would select nothing); enable it to apply it to every process on this host",
      ]);
      expect(kprobesOf(await catOnce(target))).toEqual([]);
      await c.enableSensor({ name: "lang-pods" });
      expect(kprobesOf(await catOnce(target)).map((k) => k.args[1]?.arg.value)).toEqual([target]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-pods" });
    }
  });
});

async function python(code: string): Promise<number> {
  const p = spawn(["/usr/bin/python3", "-c", code], { stdout: "ignore" });
  expect(await p.exited).toBe(0);
  const exec = await events.execOf(p.pid, "/usr/bin/python3");
  await events.exitOf(exec.process!.execId);
  return p.pid;
}

describe("spec.lists", () => {
  test("call: list:NAME is one hook per syscall of the list, each reported under its kernel symbol", async () => {
    const c = agent.client();
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-lists"
spec:
  lists:
  - name: "dups"
    type: "syscalls"
    values:
    - "sys_dup2"
    - "sys_dup3"
  kprobes:
  - call: "list:dups"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values: ["/usr/bin/python3"]
`;
    await c.addTracingPolicy({ yaml });
    try {
      expect((await c.getSensorConfig({ name: "lang-lists", cfgkey: "hooks" })).cfgval).toBe("2");
      const pid = await python("import os\nfd = os.open('/etc/hostname', os.O_RDONLY)\nos.dup2(fd, 100)\nos.dup2(fd, 101, inheritable=False)");
      const seen = kprobesOf(pid).map((k) => [k.functionName, k.policyName]);
      // dup2 then dup3 (os.dup2 with inheritable=False)
      expect(seen).toEqual([["__x64_sys_dup2", "lang-lists"], ["__x64_sys_dup3", "lang-lists"]]);
      expect(kprobesOf(pid)[0]!.args[0]?.arg.case).toBe("intArg");
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-lists" });
    }
    const unknown = await c.addTracingPolicy({ yaml: yaml.replace('call: "list:dups"', 'call: "list:nope"') }).catch((e: Error) => e);
    expect(String(unknown)).toContain(`spec.kprobes[0].call: no list named "nope" in spec.lists (lists: dups)`);
    const generated = await c.addTracingPolicy({ yaml: yaml.replace('type: "syscalls"', 'type: "generated_syscalls"') }).catch((e: Error) => e);
    expect(String(generated)).toContain("spec.lists[0].type: generated_syscalls is not supported yet");
  });
});

describe("spec.lists in values", () => {
  test("InMap list:NAME on raw_syscalls' id matches the list's syscall numbers", async () => {
    const c = agent.client();
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-list-values"
spec:
  lists:
  - name: "dups"
    type: "syscalls"
    values: ["sys_dup2", "sys_dup3"]
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
      type: "int64"
    selectors:
    - matchArgs:
      - index: 4
        operator: "InMap"
        values: ["list:dups"]
      matchBinaries:
      - operator: "In"
        values: ["/usr/bin/python3"]
`;
    await c.addTracingPolicy({ yaml });
    try {
      const pid = await python("import os\nfd = os.open('/etc/hostname', os.O_RDONLY)\nos.dup2(fd, 100)\nos.dup2(fd, 101, inheritable=False)");
      const ids = events.events
        .filter((e) => e.event.case === "processTracepoint" && e.event.value.process?.pid === pid)
        .map((e) => (e.event.value as { args: { arg: { value: unknown } }[] }).args[0]?.arg.value);
      expect(ids).toEqual([33n, 292n].map((n) => BigInt.asIntN(64, n))); /* x86-64: dup2 33, dup3 292 */
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-list-values" });
    }
  });
});

describe("rateLimit on Post", () => {
  test("one event per interval for the same arguments, per process or globally", async () => {
    const c = agent.client();
    const target = file("limited");
    const policy = (name: string, scope: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
      matchActions:
      - action: Post
        rateLimit: "1m"
        rateLimitScope: "${scope}"
`;
    const openFiveTimes = `for _ in range(5): open(${JSON.stringify(target)}).close()`;
    for (const [scope, expected] of [["process", [1, 1]], ["global", [1, 0]]] as const) {
      await c.addTracingPolicy({ yaml: policy(`lang-rate-${scope}`, scope) });
      try {
        const first = await python(openFiveTimes);
        const second = await python(openFiveTimes);
        expect({ scope, counts: [kprobesOf(first).length, kprobesOf(second).length] }).toEqual({ scope, counts: [...expected] });
      } finally {
        await c.deleteTracingPolicy({ yaml: `lang-rate-${scope}` });
      }
    }
    const bad = await c.addTracingPolicy({ yaml: policy("lang-rate-bad", "process").replace('"1m"', '"soon"') }).catch((e: Error) => e);
    expect(String(bad)).toContain(`rateLimit: "soon" is not a duration from 1ms to 24h`);
  });
});

describe("spec.uprobes", () => {
  test("a uprobe on a function of a program: ProcessUprobe (GetEventsResponse.process_uprobe = 12) with path, symbol, args, policy_name, message, tags", async () => {
    const src = join(dir, "target.c");
    const bin = join(dir, "uprobe-target");
    writeFileSync(src, `#include <stdio.h>
__attribute__((noinline)) int fgs_compat_target(int n, const char *word) { return printf("%d %s\\n", n, word) > 0; }
int main(int argc, char **argv) { return fgs_compat_target(argc, argc > 1 ? argv[1] : "none") ? 0 : 1; }
`);
    const cc = Bun.spawnSync(["cc", "-O1", "-o", bin, src]);
    expect(cc.exitCode).toBe(0);
    const c = agent.client();
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-uprobe"
spec:
  uprobes:
  - path: "${bin}"
    symbols:
    - "fgs_compat_target"
    message: "the target ran"
    tags: ["compat"]
    args:
    - index: 0
      type: "int"
      label: "n"
    - index: 1
      type: "string"
      label: "word"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["hello"]
`;
    await c.addTracingPolicy({ yaml });
    try {
      expect((await c.getSensorConfig({ name: "lang-uprobe", cfgkey: "mechanism" })).cfgval).toBe(`${bin}:fgs_compat_target=uprobe ${bin}:fgs_compat_target`);
      const hit = spawn([bin, "hello-uprobe"], { stdout: "ignore" });
      const miss = spawn([bin, "other"], { stdout: "ignore" });
      await Promise.all([hit.exited, miss.exited]);
      const ev = await events.find((e) => e.event.case === "processUprobe" && e.event.value.process?.pid === hit.pid);
      const u = ev.event.value as import("../gen/tetragon/tetragon_pb").ProcessUprobe;
      expect({
        path: u.path, symbol: u.symbol, policyName: u.policyName, message: u.message, tags: u.tags, binary: u.process?.binary,
        args: u.args.map((a) => [a.label, a.arg.value]),
      }).toEqual({
        path: bin, symbol: "fgs_compat_target", policyName: "lang-uprobe", message: "the target ran", tags: ["compat"], binary: bin,
        args: [["n", 2], ["word", "hello-uprobe"]],
      });
      const exit = await events.find((e) => e.event.case === "processExit" && e.event.value.process?.pid === miss.pid);
      expect(exit).toBeDefined();
      expect(events.events.some((e) => e.event.case === "processUprobe" && e.event.value.process?.pid === miss.pid)).toBe(false);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-uprobe" });
    }
  });
});

describe("NoPost", () => {
  test("the selector's other actions run (Sigkill, in the kernel) and no event is posted", async () => {
    const c = agent.client();
    const target = file("nopost");
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-nopost"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
      matchActions:
      - action: Sigkill
      - action: NoPost
`;
    await c.addTracingPolicy({ yaml });
    try {
      const victim = spawn(["/bin/cat", target], { stdout: "ignore", stderr: "ignore" });
      await victim.exited;
      expect(victim.signalCode).toBe("SIGKILL");
      const exit = await events.find((e) => e.event.case === "processExit" && e.event.value.process?.pid === victim.pid);
      expect((exit.event.value as { signal: string }).signal).toBe("SIGKILL");
      await Bun.sleep(200);
      expect(kprobesOf(victim.pid)).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-nopost" });
    }
  });
});

describe("spec.options", () => {
  test("accepted and warned once: they tune the upstream loader", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-options"
spec:
  options:
  - name: "disable-kprobe-multi"
    value: "1"
  kprobes:
  - call: "sys_getppid"
    syscall: true
` });
    await c.deleteTracingPolicy({ yaml: "lang-options" });
    expect(warningsOf("lang-options")).toEqual([
      `spec.options[0]: ignored: option "disable-kprobe-multi" tunes the upstream agent's loader and has no effect here`,
    ]);
  });
});

describe("InMap and NotInMap", () => {
  test("mean In and NotIn over the matcher's values", async () => {
    const c = agent.client();
    const target = file("inmap");
    const policy = (name: string, op: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 0, operator: ${op}, values: [-100]}
      - {index: 1, operator: Equal, values: ["${target}"]}
`;
    for (const [op, expected] of [["InMap", 1], ["NotInMap", 0]] as const) {
      await c.addTracingPolicy({ yaml: policy(`lang-${op.toLowerCase()}`, op) });
      try {
        // cat opens its argument relative to the cwd: dirfd AT_FDCWD (-100)
        expect({ op, events: kprobesOf(await catOnce(target)).length }).toEqual({ op, events: expected });
      } finally {
        await c.deleteTracingPolicy({ yaml: `lang-${op.toLowerCase()}` });
      }
    }
  });
});

describe("GetUrl and DnsLookup", () => {
  test("the agent makes the request when the selector matches; the event reports the action", async () => {
    const c = agent.client();
    const hits: string[] = [];
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (hits.push(new URL(req.url).pathname), new Response("ok")) });
    const target = file("geturl");
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-actions"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
      matchActions:
      - action: GetUrl
        argUrl: "http://127.0.0.1:${server.port}/canary"
      - action: DnsLookup
        argFqdn: "localhost"
`;
    await c.addTracingPolicy({ yaml });
    try {
      const [k] = kprobesOf(await catOnce(target));
      expect(k?.action).toBe(7 /* KPROBE_ACTION_GETURL */);
      for (let i = 0; i < 50 && hits.length === 0; i++) await Bun.sleep(100);
      expect(hits).toEqual(["/canary"]);
      const done = () => agent.log().split("\n").filter((l) => l.includes('"policy action done"') && l.includes("lang-actions")).map((l) => JSON.parse(l) as Record<string, unknown>);
      for (let i = 0; i < 50 && done().length < 2; i++) await Bun.sleep(100);
      // The two run concurrently: compare in action order.
      const byAction = done().map((l) => [l.action, l.url ?? l.fqdn, l.status ?? "resolved"]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(byAction).toEqual([
        ["DnsLookup", "localhost", "resolved"],
        ["GetUrl", `http://127.0.0.1:${server.port}/canary`, 200],
      ]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-actions" });
      server.stop(true);
    }
  });
});

describe("Signal", () => {
  test("argSig is sent in the kernel before the call returns; the event reports KPROBE_ACTION_SIGNAL", async () => {
    const c = agent.client();
    const target = file("signal");
    await c.addTracingPolicy({ yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-signal"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["${target}"]}
      matchActions:
      - action: Signal
        argSig: 15
` });
    try {
      const victim = spawn(["/bin/cat", target], { stdout: "ignore", stderr: "ignore" });
      await victim.exited;
      expect(victim.signalCode).toBe("SIGTERM");
      const k = await events.find((e) => e.event.case === "processKprobe" && e.event.value.process?.pid === victim.pid);
      expect((k.event.value as ProcessKprobe).action).toBe(10 /* KPROBE_ACTION_SIGNAL */);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-signal" });
    }
  });
});
