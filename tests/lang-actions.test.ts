// Issue 13: actions and fields of the current language that act differently
// here (NotifyEnforcer + enforcers), do nothing here (TrackSock, UntrackSock,
// returnArgAction, stack traces: accepted and warned once, never widening what
// a selector matches), or are not supported yet (refused with the reason).
// Loaded through the API of a real agent (dist/fgs) and triggered.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { KprobeAction, type GetEventsResponse, type ProcessKprobe, type ProcessTracepoint, type ProcessUsdt } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { EventRecorder } from "./helpers/events";

let agent: RunningAgent;
let events: EventRecorder;

const PY = "/usr/bin/python3";
const OURS = { allowList: [{ binaryRegex: ["^/usr/bin/python3$", "^/(usr/)?bin/true$"] }] };

beforeAll(async () => {
  agent = await startAgent();
  events = EventRecorder.start(agent.client(), OURS);
  await events.ready();
});
afterAll(async () => {
  events.stop();
  await agent.stop();
});

/* prctl(2) with an option no kernel knows: only these tests call it. */
const MARK = 0x7fff1234;

async function prctlMark(option: number): Promise<{ pid: number; signal: string; kprobes: ProcessKprobe[] }> {
  const p = spawn([PY, "-c", `import ctypes\nctypes.CDLL(None).prctl(${option}, 0, 0, 0, 0)`], { stdout: "ignore", stderr: "ignore" });
  await p.exited;
  const exec = await events.execOf(p.pid, PY);
  const exit = await events.exitOf(exec.process!.execId);
  const kprobes = events.events
    .filter((e: GetEventsResponse) => e.event.case === "processKprobe" && e.event.value.process?.pid === p.pid)
    .map((e) => e.event.value as ProcessKprobe);
  return { pid: p.pid, signal: exit.processExit.signal, kprobes };
}

const warningsOf = (policy: string): string[] =>
  agent.log().split("\n")
    .filter((l) => l.includes('"policy field has no effect here"') && l.includes(`"policy":"${policy}"`))
    .map((l) => (JSON.parse(l) as { field: string }).field);

function policy(name: string, option: number, actions: string, extra = ""): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
${extra}  kprobes:
  - call: "sys_prctl"
    syscall: true
    args:
    - {index: 0, type: int}
    selectors:
    - matchArgs:
      - {index: 0, operator: Equal, values: [${option}]}
      matchActions:
${actions}`;
}

const ENFORCERS = `  lists:
  - name: "enforced"
    type: "syscalls"
    values: ["sys_prctl"]
  enforcers:
  - calls: ["list:enforced"]
`;

describe("NotifyEnforcer and spec.enforcers", () => {
  test("argSig 9 (argError warned): the process is killed in the kernel, the event says NOTIFYENFORCER", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: policy("lang-enforce-kill", MARK, "      - {action: NotifyEnforcer, argSig: 9, argError: -1}\n", ENFORCERS) });
    try {
      const r = await prctlMark(MARK);
      expect(r.signal).toBe("SIGKILL");
      expect(r.kprobes.map((k) => [k.functionName, k.action, k.policyName])).toEqual([
        ["__x64_sys_prctl", KprobeAction.NOTIFYENFORCER, "lang-enforce-kill"],
      ]);
      const other = await prctlMark(MARK + 1);
      expect([other.signal, other.kprobes.length]).toEqual(["", 0]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-enforce-kill" });
    }
    expect(warningsOf("lang-enforce-kill")).toEqual([
      "spec.enforcers: the hook that notifies is the enforcer here: NotifyEnforcer sends argSig from that hook (delivered on the way back to user space), whichever syscall it runs in",
      "spec.kprobes[0].selectors[0].matchActions[0].argError: ignored: the process is killed (argSig 9) before it could see the return value",
    ]);
  });

  test("argSig 10 without argError: SIGUSR1 ends the process", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: policy("lang-enforce-usr1", MARK, "      - {action: NotifyEnforcer, argSig: 10}\n", ENFORCERS) });
    try {
      const r = await prctlMark(MARK);
      expect([r.signal, r.kprobes.map((k) => k.action)]).toEqual(["SIGUSR1", [KprobeAction.NOTIFYENFORCER]]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-enforce-usr1" });
    }
  });

  test("what cannot be enforced here is refused", async () => {
    const c = agent.client();
    const refused = async (yaml: string): Promise<string> => {
      const e = await c.addTracingPolicy({ yaml }).catch((err: Error) => err);
      expect(e).toBeInstanceOf(Error);
      return (e as Error).message;
    };
    expect(await refused(policy("lang-enforce-bad", MARK, "      - {action: NotifyEnforcer, argError: -1}\n", ENFORCERS)))
      .toContain("matchActions[0].argSig: NotifyEnforcer with argError alone is not yet supported here");
    expect(await refused(policy("lang-enforce-bad", MARK, "      - {action: NotifyEnforcer, argError: -1, argSig: 10}\n", ENFORCERS)))
      .toContain("matchActions[0].argError: not yet supported with argSig 10");
    expect(await refused(policy("lang-enforce-bad", MARK, "      - {action: NotifyEnforcer, argSig: 9}\n")))
      .toContain("spec.enforcers: required: NotifyEnforcer acts on the calls listed in spec.enforcers");
    expect(await refused(policy("lang-enforce-bad", MARK, "      - {action: Post}\n", "  enforcers:\n  - calls: [\"list:nope\", \"not_a_syscall_x\"]\n")))
      .toMatch(/spec\.enforcers\[0\]\.calls\[0\]: no list named "nope"[\s\S]*calls\[1\]: "not_a_syscall_x" is not a syscall of this architecture/);
    expect(await refused(policy("lang-enforce-bad", MARK, "      - {action: Set}\n"))).toContain("Set is not yet supported here");
  });
});

describe("fields with nothing to do here: accepted, warned once, the selector still posts", () => {
  test("TrackSock/UntrackSock with argSock, returnArgAction, kernelStackTrace/userStackTrace, spec.fentries, spec.loader", async () => {
    const c = agent.client();
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-noop"
spec:
  loader: true
  fentries:
  - call: "sys_prctl"
    syscall: true
    return: true
    returnArg: {index: 0, type: int}
    returnArgAction: UntrackSock
    args:
    - {index: 0, type: int}
    selectors:
    - matchArgs:
      - {index: 0, operator: Equal, values: [${MARK}]}
      matchActions:
      - {action: Post, kernelStackTrace: true, userStackTrace: true}
      - {action: TrackSock, argSock: 0}
      - {action: UntrackSock, argSock: 0}
`;
    await c.addTracingPolicy({ yaml });
    try {
      const r = await prctlMark(MARK);
      expect(r.signal).toBe("");
      expect(r.kprobes.map((k) => [k.functionName, k.action, k.return?.arg.value])).toEqual([["__x64_sys_prctl", KprobeAction.POST, -22]]);
      expect((await prctlMark(MARK + 1)).kprobes).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-noop" });
    }
    expect(warningsOf("lang-noop")).toEqual([
      "spec.loader: ignored: process_loader events are not produced here",
      "spec.fentries[0].selectors[0].matchActions[0].kernelStackTrace: ignored: events here carry no stack traces or IMA hashes",
      "spec.fentries[0].selectors[0].matchActions[0].userStackTrace: ignored: events here carry no stack traces or IMA hashes",
      "spec.fentries[0].selectors[0].matchActions[1].action: ignored: TrackSock lets upstream attribute later packet events to the socket's owner; here every event carries the task that runs the hook, so there is nothing to track (the selector still posts)",
      "spec.fentries[0].selectors[0].matchActions[2].action: ignored: UntrackSock lets upstream attribute later packet events to the socket's owner; here every event carries the task that runs the hook, so there is nothing to track (the selector still posts)",
      "spec.fentries[0].returnArgAction: ignored: UntrackSock tracks sockets for upstream's packet events; here every event carries the task that runs the hook",
    ]);
  });
});

describe("hook kinds not supported (yet, or on this host) are refused, naming them", () => {
  test("spec.lsmhooks where BPF LSM is not active", async () => {
    const c = agent.client();
    const head = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-kinds"
spec:
`;
    const lsm = await c.addTracingPolicy({ yaml: `${head}  lsmhooks:\n  - hook: "file_open"\n    args:\n    - {index: 0, type: file}\n` }).catch((e: Error) => e);
    /* this host has no active BPF LSM; the guests test lsmhooks (tests/vm/cases/lang.ts) */
    expect((lsm as Error).message).toContain("spec.lsmhooks[0] (lsm/file_open): cannot attach: lsm: ");


  });
});

describe("tracepoint raw: true", () => {
  test("raw sched_process_exec: TP_PROTO arguments by position, linux_binprm reported and matched by path", async () => {
    const c = agent.client();
    await c.addTracingPolicy({
      yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-raw"
spec:
  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    raw: true
    args:
    - {index: 1, type: int, label: "old_pid"}
    - {index: 2, type: linux_binprm, label: "bprm"}
    selectors:
    - matchArgs:
      - {index: 2, operator: Postfix, values: ["/python3.11"]}
`,
    });
    try {
      const p = spawn([PY, "-c", "pass"], { stdout: "ignore" });
      await p.exited;
      const exec = await events.execOf(p.pid, PY);
      await events.exitOf(exec.process!.execId);
      const tps = events.events
        .filter((e: GetEventsResponse) => e.event.case === "processTracepoint" && e.event.value.process?.pid === p.pid)
        .map((e) => e.event.value as ProcessTracepoint);
      expect(tps.map((t) => ({
        subsys: t.subsys, event: t.event, policy: t.policyName,
        args: t.args.map((a) => [a.label, a.arg.case, a.arg.case === "linuxBinprmArg" ? a.arg.value.path : a.arg.value]),
      }))).toEqual([{
        subsys: "sched", event: "sched_process_exec", policy: "lang-raw",
        args: [["old_pid", "intArg", p.pid], ["bprm", "linuxBinprmArg", "/usr/bin/python3.11"]],
      }]);
      const other = spawn(["/bin/true"]);
      await other.exited;
      await events.exitOf((await events.execOf(other.pid, "/bin/true")).process!.execId);
      expect(events.events.some((e) => e.event.case === "processTracepoint" && e.event.value.process?.pid === other.pid)).toBe(false);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-raw" });
    }
  });
});

describe("NotifyEnforcer on a tracepoint", () => {
  test("syscalls/sys_enter_prctl: killed in the kernel; ProcessTracepoint.action is NOTIFYENFORCER", async () => {
    const c = agent.client();
    await c.addTracingPolicy({
      yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-enforce-tp"
spec:
${ENFORCERS}  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_prctl"
    args:
    - {index: 5, type: int}
    selectors:
    - matchArgs:
      - {index: 5, operator: Equal, values: [${MARK}]}
      matchActions:
      - {action: NotifyEnforcer, argSig: 9}
`,
    });
    try {
      const p = spawn([PY, "-c", `import ctypes\nctypes.CDLL(None).prctl(${MARK}, 0, 0, 0, 0)`], { stdout: "ignore", stderr: "ignore" });
      await p.exited;
      const exec = await events.execOf(p.pid, PY);
      const exit = await events.exitOf(exec.process!.execId);
      const tps = events.events
        .filter((e: GetEventsResponse) => e.event.case === "processTracepoint" && e.event.value.process?.pid === p.pid)
        .map((e) => e.event.value as ProcessTracepoint);
      expect([exit.processExit.signal, tps.map((t) => [t.event, t.action, t.args[0]?.arg.value])]).toEqual([
        "SIGKILL", [["sys_enter_prctl", KprobeAction.NOTIFYENFORCER, MARK]],
      ]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-enforce-tp" });
    }
  });
});

describe("matchBinaries Prefix, Postfix and their Not forms (in the kernel)", () => {
  const binPolicy = (name: string, operator: string, values: string[]) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_prctl"
    syscall: true
    args:
    - {index: 0, type: int}
    selectors:
    - matchBinaries:
      - operator: ${operator}
        values: ${JSON.stringify(values)}
      matchArgs:
      - {index: 0, operator: Equal, values: [${MARK}]}
`;
  for (const [operator, values, hits] of [
    ["Prefix", ["/usr/bin/py", "/nowhere/"], 1],
    ["Postfix", ["/python3", "bash"], 1],
    ["NotPrefix", ["/usr/bin/"], 0],
    ["NotPostfix", ["/bash", "/sh"], 1],
    ["Postfix", ["/python3.11"], 0],
  ] as const) {
    test(`${operator} ${values.join(" ")}: ${hits} event`, async () => {
      const c = agent.client();
      const name = `lang-bin-${operator.toLowerCase()}`;
      await c.addTracingPolicy({ yaml: binPolicy(name, operator, [...values]) });
      try {
        const r = await prctlMark(MARK);
        expect(r.kprobes.map((k) => [k.process?.binary, k.policyName])).toEqual(hits ? [["/usr/bin/python3", name]] : []);
      } finally {
        await c.deleteTracingPolicy({ yaml: name });
      }
    });
  }

  test("followChildren is refused", async () => {
    const e = await agent.client().addTracingPolicy({ yaml: binPolicy("lang-bin-fc", "In", ["/usr/bin/python3"]).replace("        values:", "        followChildren: true\n        values:") }).catch((err: Error) => err);
    expect((e as Error).message).toContain("matchBinaries[0].followChildren: not yet supported here");
  });
});

describe("spec.usdts", () => {
  test("python:function__entry of python3.11: ProcessUsdt with path, provider, name, labelled args; matched in the kernel", async () => {
    const c = agent.client();
    /* Debian's python3.11 fires function__entry for the generator frames of its
     * frozen startup code (getpath's genexpr) in every run; not for inlined
     * calls of user code, so the startup is the trigger. */
    await c.addTracingPolicy({
      yaml: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-usdt"
spec:
  usdts:
  - path: "/usr/bin/python3.11"
    provider: "python"
    name: "function__entry"
    message: "a python function was called"
    tags: ["lang"]
    args:
    - {index: 0, type: string, label: "file"}
    - {index: 1, type: string, label: "function"}
    - {index: 2, type: int, label: "line"}
    selectors:
    - matchArgs:
      - {index: 0, operator: Equal, values: ["<frozen getpath>"]}
      - {index: 1, operator: Prefix, values: ["<gen"]}
`,
    });
    try {
      const p = spawn([PY, "-c", "pass"], { stdout: "ignore" });
      await p.exited;
      const exec = await events.execOf(p.pid, PY);
      await events.exitOf(exec.process!.execId);
      const us = events.events
        .filter((e: GetEventsResponse) => e.event.case === "processUsdt" && e.event.value.process?.pid === p.pid)
        .map((e) => e.event.value as ProcessUsdt);
      expect(us.length).toBeGreaterThanOrEqual(1);
      for (const u of us) {
        const line = u.args[2]?.arg.case === "intArg" ? u.args[2].arg.value : -1;
        expect(line).toBeGreaterThan(0);
        expect({
          path: u.path, provider: u.provider, name: u.name, policy: u.policyName, message: u.message, tags: u.tags, action: u.action,
          args: u.args.slice(0, 2).map((a) => [a.label, a.arg.value]), lineLabel: u.args[2]?.label,
        }).toEqual({
          path: "/usr/bin/python3.11", provider: "python", name: "function__entry", policy: "lang-usdt",
          message: "a python function was called", tags: ["lang"], action: KprobeAction.POST,
          args: [["file", "<frozen getpath>"], ["function", "<genexpr>"]], lineLabel: "line",
        });
      }
      /* the kernel dropped every other function entry of that run */
      expect(us.every((u) => u.args[0]?.arg.value === "<frozen getpath>")).toBe(true);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-usdt" });
    }
  });
});

describe("hostSelector", () => {
  test("accepted and warned; the policy is loaded disabled, so its hook posts nothing", async () => {
    const c = agent.client();
    const yaml = policy("lang-host", MARK, "      - {action: Post}\n", "  hostSelector:\n    matchLabels:\n      role: \"worker\"\n");
    await c.addTracingPolicy({ yaml });
    try {
      expect((await prctlMark(MARK)).kprobes).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-host" });
    }
    expect(warningsOf("lang-host")).toEqual([
      "spec.hostSelector: there is no Kubernetes here, so no node matches: the policy is loaded disabled (it would select nothing); enable it to apply it to every process on this host",
    ]);
  });
});

describe("spec.selectorsMacros", () => {
  const yaml = (macro: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "lang-macros"
spec:
  selectorsMacros:
    onlyMark:
      matchArgs:
      - {index: 0, operator: Equal, values: [${MARK}]}
    python:
      matchBinaries:
      - {operator: In, values: ["/usr/bin/python3"]}
  kprobes:
  - call: "sys_prctl"
    syscall: true
    args:
    - {index: 0, type: int}
    selectors:
    - macros: [${macro}, "python"]
      matchActions:
      - {action: Post}
`;
  test("a selector's macros are appended to it: only the marked prctl(2) of python3 posts", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: yaml('"onlyMark"') });
    try {
      expect((await prctlMark(MARK)).kprobes.map((k) => k.policyName)).toEqual(["lang-macros"]);
      expect((await prctlMark(MARK + 1)).kprobes).toEqual([]);
    } finally {
      await c.deleteTracingPolicy({ yaml: "lang-macros" });
    }
    const e = await c.addTracingPolicy({ yaml: yaml('"nope"') }).catch((err: Error) => err);
    expect((e as Error).message).toContain('spec.kprobes[0].selectors[0].macros[0]: no selector macro named "nope" in spec.selectorsMacros');
  });
});
