import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ContainerSchema,
  EventType,
  FilterSchema,
  GetEventsResponseSchema,
  PodSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessKprobeSchema,
  ProcessSchema,
  TestSchema,
} from "../../gen/tetragon/tetragon_pb";
import type { Filter, GetEventsResponse, Process } from "../../gen/tetragon/tetragon_pb";
import { compileFilters, eventTypeOf } from "../../src/filters/index";
import type { AncestryLookup, ProcessRef } from "../../src/filters/index";

interface ProcOpts {
  binary?: string;
  parent?: Process;
  namespace?: string;
  probe?: boolean;
}

function proc(pid: number, opts: ProcOpts = {}): Process {
  const pod =
    opts.namespace === undefined
      ? undefined
      : create(PodSchema, { namespace: opts.namespace, container: create(ContainerSchema, { maybeExecProbe: opts.probe ?? false }) });
  return create(ProcessSchema, {
    pid,
    execId: `exec-${pid}-${opts.binary ?? "/bin/true"}`,
    binary: opts.binary ?? "/bin/true",
    parentExecId: opts.parent?.execId ?? "",
    pod,
  });
}

const exec = (p: Process, parent?: Process): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "processExec", value: create(ProcessExecSchema, { process: p, parent }) } });
const exit = (p: Process, parent?: Process): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "processExit", value: create(ProcessExitSchema, { process: p, parent }) } });
const kprobe = (p: Process, parent?: Process): GetEventsResponse =>
  create(GetEventsResponseSchema, {
    event: { case: "processKprobe", value: create(ProcessKprobeSchema, { process: p, parent, functionName: "fd_install" }) },
  });
const testEvent = (): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "test", value: create(TestSchema, { arg0: 1n }) } });

type FilterInit = Parameters<typeof create<typeof FilterSchema>>[1];
const f = (init: FilterInit): Filter => create(FilterSchema, init);

function pass(allow: FilterInit[], deny: FilterInit[], events: GetEventsResponse[], ancestry?: AncestryLookup): boolean[] {
  const p = compileFilters({ allowList: allow.map(f), denyList: deny.map(f) }, { ancestry });
  return events.map(p);
}

const curl = proc(100, { binary: "/usr/bin/curl" });
const bash = proc(200, { binary: "/bin/bash", namespace: "default" });
const probe = proc(300, { binary: "/bin/ls", namespace: "kube-system", probe: true });
const events = [exec(curl), exec(bash), exec(probe), exit(curl), testEvent()];

describe("each field alone", () => {
  test("no lists: everything passes", () => {
    expect(pass([], [], events)).toEqual([true, true, true, true, true]);
  });

  test("binary_regex: RE2 search over process.binary, values ORed; events without a process never match", () => {
    expect(pass([{ binaryRegex: ["curl$"] }], [], events)).toEqual([true, false, false, true, false]);
    expect(pass([{ binaryRegex: ["^/bin/", "curl"] }], [], events)).toEqual([true, true, true, true, false]);
    expect(pass([], [{ binaryRegex: ["curl"] }], events)).toEqual([false, true, true, false, true]);
  });

  test("namespace: pod namespace; host processes have namespace \"\"", () => {
    expect(pass([{ namespace: ["default"] }], [], events)).toEqual([false, true, false, false, false]);
    expect(pass([{ namespace: [""] }], [], events)).toEqual([true, false, false, true, false]);
    expect(pass([], [{ namespace: ["kube-system", "default"] }], events)).toEqual([true, false, false, true, true]);
  });

  test("health_check: true matches exec probes, false everything else with a process", () => {
    expect(pass([{ healthCheck: true }], [], events)).toEqual([false, false, true, false, false]);
    expect(pass([{ healthCheck: false }], [], events)).toEqual([true, true, false, true, false]);
    expect(pass([], [{ healthCheck: true }], events)).toEqual([true, true, false, true, true]);
  });

  test("pid: the process pid", () => {
    expect(pass([{ pid: [100, 300] }], [], events)).toEqual([true, false, true, true, false]);
    expect(pass([], [{ pid: [100] }], events)).toEqual([false, true, true, false, true]);
  });

  test("event_set: event types", () => {
    expect(events.map(eventTypeOf)).toEqual([
      EventType.PROCESS_EXEC,
      EventType.PROCESS_EXEC,
      EventType.PROCESS_EXEC,
      EventType.PROCESS_EXIT,
      EventType.TEST,
    ]);
    expect(pass([{ eventSet: [EventType.PROCESS_EXIT, EventType.TEST] }], [], events)).toEqual([false, false, false, true, true]);
    expect(pass([], [{ eventSet: [EventType.PROCESS_EXEC] }], events)).toEqual([false, false, false, true, true]);
  });

  test("an empty filter matches everything (no field to fail)", () => {
    expect(pass([{}], [], events)).toEqual([true, true, true, true, true]);
    expect(pass([], [{}], events)).toEqual([false, false, false, false, false]);
  });
});

describe("combinations", () => {
  test("fields inside one filter are ANDed", () => {
    expect(pass([{ binaryRegex: ["curl"], eventSet: [EventType.PROCESS_EXIT] }], [], events)).toEqual([
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(pass([{ pid: [200], namespace: ["kube-system"] }], [], events)).toEqual([false, false, false, false, false]);
  });

  test("allow filters are ORed", () => {
    expect(pass([{ pid: [200] }, { eventSet: [EventType.TEST] }], [], events)).toEqual([false, true, false, false, true]);
  });

  test("allow minus deny", () => {
    const allow = [{ eventSet: [EventType.PROCESS_EXEC, EventType.PROCESS_EXIT] }];
    const deny = [{ binaryRegex: ["^/bin/ls$"] }, { pid: [100], eventSet: [EventType.PROCESS_EXIT] }];
    expect(pass(allow, deny, events)).toEqual([true, true, false, false, false]);
  });

  test("deny alone removes only what it matches", () => {
    expect(pass([], [{ namespace: ["default"], healthCheck: false }], events)).toEqual([true, false, true, true, true]);
  });
});

describe("pid_set", () => {
  const init = proc(1, { binary: "/sbin/init" });
  const shell = proc(10, { binary: "/bin/sh", parent: init });
  const child = proc(11, { binary: "/bin/sleep", parent: shell });
  const grandchild = proc(12, { binary: "/bin/cat", parent: child });
  const other = proc(20, { binary: "/bin/other", parent: init });

  test("the pid itself and descendants seen being exec'd after the stream started", () => {
    const stream = [exec(shell, init), exec(child, shell), exec(grandchild, child), exec(other, init), kprobe(grandchild, child)];
    expect(pass([{ pidSet: [10] }], [], stream)).toEqual([true, true, true, false, true]);
  });

  test("descendants still match after every ancestor has exited (learned from the stream)", () => {
    const stream = [exec(child, shell), exit(shell, init), exit(child, shell), exec(grandchild, child), exit(grandchild, child)];
    expect(pass([{ pidSet: [10] }], [], stream)).toEqual([true, true, true, true, true]);
  });

  test("processes from before the stream are resolved through the process cache", () => {
    const table = new Map<string, ProcessRef>([
      [grandchild.execId, { pid: 11, execId: child.execId }],
      [child.execId, { pid: 10, execId: shell.execId }],
      [shell.execId, { pid: 1, execId: init.execId }],
      [other.execId, { pid: 1, execId: init.execId }],
    ]);
    const ancestry: AncestryLookup = { parentOf: (id) => table.get(id) };
    // Events without parent info: only the cache knows the chain.
    const stream = [kprobe(grandchild), kprobe(other), kprobe(init)];
    expect(pass([{ pidSet: [10] }], [], stream, ancestry)).toEqual([true, false, false]);
    expect(pass([{ pidSet: [10] }], [], stream)).toEqual([false, false, false]);
  });

  test("learns from events its filter rejects: deny on a descendant tree", () => {
    // allow exits only; pid_set in deny must still learn from the exec events.
    const stream = [exec(child, shell), exec(grandchild, child), exit(grandchild), exit(other)];
    const deny = [{ pidSet: [10] }];
    expect(pass([{ eventSet: [EventType.PROCESS_EXIT] }], deny, stream)).toEqual([false, false, false, true]);
  });

  test("a member re-parented to init (its parent exited) that then execs still matches; a reused pid does not", () => {
    // root(10) → a(30) → fork b(31, no event: a clone) → sleep(32); a exits; b execs echo with init as parent
    const root = proc(10, { binary: "/bin/sh" });
    const a = proc(30, { binary: "/bin/sh", parent: root });
    const bClone = proc(31, { binary: "/bin/sh", parent: a });
    const sleep = proc(32, { binary: "/bin/sleep", parent: bClone });
    const echo = { ...proc(31, { binary: "/bin/echo", parent: init }), execId: "echo-31" };
    const reused = { ...proc(31, { binary: "/bin/other", parent: init }), execId: "other-31" };
    const cache = new Map<string, ProcessRef>([[bClone.execId, { pid: 30, execId: a.execId }]]);
    const ancestry: AncestryLookup = { parentOf: (id) => cache.get(id) };
    const stream = [exec(a, root), exec(sleep, bClone), exit(a, root), exec(echo, init), exit(echo, init), exec(reused, init)];
    expect(pass([{ pidSet: [10] }], [], stream, ancestry)).toEqual([true, true, true, true, true, false]);
    // the same when the filter only lets exits through: membership is learned from every event
    const exitsOnly = [{ pidSet: [10], eventSet: [EventType.PROCESS_EXIT] }];
    expect(pass(exitsOnly, [], stream, ancestry)).toEqual([false, false, true, false, true, false]);
  });

  test("combined with other fields", () => {
    const stream = [exec(child, shell), exec(grandchild, child), exit(grandchild, child)];
    expect(pass([{ pidSet: [10], binaryRegex: ["cat"], eventSet: [EventType.PROCESS_EXIT] }], [], stream)).toEqual([
      false,
      false,
      true,
    ]);
  });
});

describe("invalid filters", () => {
  test("a bad regex fails with InvalidArgument naming the pattern and where it is", () => {
    let err: unknown;
    try {
      compileFilters({ allowList: [f({ binaryRegex: ["ok", "(?=x)y"] })], denyList: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectError);
    const ce = err as ConnectError;
    expect(ce.code).toBe(Code.InvalidArgument);
    expect(ce.rawMessage).toContain('"(?=x)y"');
    expect(ce.rawMessage).toContain("allow_list[0]");
    expect(ce.rawMessage).toContain("lookahead");
  });

  test("deny list patterns are checked too", () => {
    expect(() => compileFilters({ allowList: [], denyList: [f({}), f({ binaryRegex: ["(unclosed"] })] })).toThrow(
      /deny_list\[1\]: invalid binary_regex "\(unclosed": missing closing \)/,
    );
  });
});
