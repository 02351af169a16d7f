/** Malformed TracingPolicy documents, each refused with its exact message. */
import { describe, expect, test } from "bun:test";
import { LIMITS, PolicyError, parsePolicies } from "../src/policy";

const head = (name = "p") => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
`;

/** One kprobe hook on openat with a string path; `extra` is appended to the hook. */
const openat = (extra: string) => `${head()}  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 0
      type: int
    - index: 1
      type: string
${extra}`;

const withSelector = (selector: string) => openat(`    selectors:\n    - ${selector.trim().split("\n").join("\n      ")}\n`);

function refusal(yaml: string): string {
  try {
    parsePolicies(yaml);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).code).toBe("invalid_argument");
    return (e as Error).message;
  }
  throw new Error("policy was accepted");
}

const cases: ReadonlyArray<readonly [string, string, string]> = [
  ["unknown arg type", openat("").replace("type: string", "type: strng"),
    `spec.kprobes[0].args[1].type: unknown type "strng" (expected one of int, uint32, sint32, uint64, sint64, size_t, sizet, long, string, char_buf, char_iovec, fd, file, path, filename, skb, sock, cred, nop)`],
  ["wrong apiVersion", openat("").replace("cilium.io/v1alpha1", "cilium.io/v2"),
    `apiVersion: unsupported "cilium.io/v2" (expected cilium.io/v1alpha1)`],
  ["unknown kind", openat("").replace("kind: TracingPolicy", "kind: TracePolicy"),
    `kind: unknown kind "TracePolicy" (expected one of TracingPolicy, TracingPolicyNamespaced)`],
  ["missing metadata name", openat("").replace("  name: p\n", "  labels: {}\n"),
    "metadata.name: required field is missing"],
  ["bad policy name", openat("").replace("name: p", "name: My_Policy"),
    `metadata.name: "My_Policy" is not a valid name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)`],
  ["unknown top-level field", openat("") + "status: {}\n",
    "status: unknown field (expected one of apiVersion, kind, metadata, spec)"],
  ["unknown hook field", openat("    message: hi\n"),
    "spec.kprobes[0].message: unknown field (expected one of call, syscall, return, args, returnArg, selectors)"],
  ["no hooks", `${head()}  kprobes: []\n`, "spec: no hooks (expected kprobes or tracepoints)"],
  ["call missing", openat("").replace("  - call: sys_openat\n    syscall: true\n", "  - syscall: true\n"),
    "spec.kprobes[0].call: required field is missing"],
  ["call not a symbol", openat("").replace("sys_openat", '"sys openat"'),
    `spec.kprobes[0].call: "sys openat" is not a kernel function name`],
  ["syscall not a bool", openat("").replace("syscall: true", "syscall: yes please"),
    `spec.kprobes[0].syscall: expected true or false, got "yes please"`],
  ["arg index out of range", openat("").replace("index: 1", "index: 6"),
    "spec.kprobes[0].args[1].index: must be an integer from 0 to 5, got 6"],
  ["arg index negative", openat("").replace("index: 1", "index: -1"),
    "spec.kprobes[0].args[1].index: must be an integer from 0 to 63, got -1"],
  ["arg index not an integer", openat("").replace("index: 1", "index: 1.5"),
    "spec.kprobes[0].args[1].index: must be an integer from 0 to 63, got 1.5"],
  ["too many args", openat("    - {index: 2, type: int}\n    - {index: 3, type: int}\n    - {index: 4, type: int}\n    - {index: 5, type: int}\n    - {index: 5, type: long}\n"),
    "spec.kprobes[0].args: too many args (7, at most 6)"],
  ["sizeArgIndex on a string", openat("").replace("      type: string\n", "      type: string\n      sizeArgIndex: 3\n"),
    "spec.kprobes[0].args[1].sizeArgIndex: only char_buf and char_iovec take a size (type is string)"],
  ["char_buf without size", openat("").replace("type: string", "type: char_buf"),
    "spec.kprobes[0].args[1]: char_buf needs sizeArgIndex, or returnCopy to use the return value as the size"],
  ["char_iovec without count", openat("").replace("type: string", "type: char_iovec"),
    "spec.kprobes[0].args[1]: char_iovec needs sizeArgIndex (the argument holding the iovec count)"],
  ["returnCopy on int", openat("").replace("      type: int\n", "      type: int\n      returnCopy: true\n"),
    "spec.kprobes[0].args[0].returnCopy: only char_buf and char_iovec can be copied at return (type is int)"],
  ["return without returnArg", openat("    return: true\n"),
    "spec.kprobes[0].returnArg: required when return is true"],
  ["returnArg without return", openat("    returnArg: {index: 0, type: int}\n"),
    "spec.kprobes[0].returnArg: set but return is not true"],
  ["matchArgs on undeclared arg", withSelector("matchArgs:\n- {index: 3, operator: Equal, values: ['1']}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].index: 3 is not a declared argument (declared: 0, 1)"],
  ["unknown operator", withSelector("matchArgs:\n- {index: 1, operator: StartsWith, values: ['/etc']}"),
    `spec.kprobes[0].selectors[0].matchArgs[0].operator: unknown operator "StartsWith" (expected one of Equal, NotEqual, Prefix, Postfix, Mask, GT, LT, In, NotIn, eq, neq, prefix, postfix, gt, lt)`],
  ["GT on a string", withSelector("matchArgs:\n- {index: 1, operator: GT, values: ['5']}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].operator: GT does not apply to argument 1 of type string (expected one of Equal, NotEqual, In, NotIn, Prefix, Postfix)"],
  ["Prefix on an int", withSelector("matchArgs:\n- {index: 0, operator: prefix, values: ['5']}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].operator: Prefix does not apply to argument 0 of type int (expected one of Equal, NotEqual, In, NotIn, GT, LT, Mask)"],
  ["not a number", withSelector("matchArgs:\n- {index: 0, operator: Equal, values: ['0xZZ']}"),
    `spec.kprobes[0].selectors[0].matchArgs[0].values[0]: "0xZZ" is not a number (decimal or 0x-hex)`],
  ["int out of range", withSelector("matchArgs:\n- {index: 0, operator: Equal, values: ['4294967296']}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].values[0]: 4294967296 is out of range for int (-2147483648 to 2147483647)"],
  ["GT with two values", withSelector("matchArgs:\n- {index: 0, operator: gt, values: [1, 2]}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].values: GT takes exactly one value, got 2"],
  ["empty values", withSelector("matchArgs:\n- {index: 1, operator: Equal, values: []}"),
    "spec.kprobes[0].selectors[0].matchArgs[0].values: must not be empty"],
  ["string value too long", withSelector(`matchArgs:\n- {index: 1, operator: Prefix, values: ['/${"a".repeat(255)}']}`),
    "spec.kprobes[0].selectors[0].matchArgs[0].values[0]: too long (256 bytes, at most 255)"],
  ["too many string values", withSelector(`matchArgs:\n- {index: 1, operator: In, values: [${Array.from({ length: 17 }, (_, i) => `'/v${i}'`).join(", ")}]}`),
    "spec.kprobes[0].selectors[0].matchArgs[0].values: too many values (17, at most 16)"],
  ["too many int values", withSelector(`matchArgs:\n- {index: 0, operator: In, values: [${Array.from({ length: 9 }, (_, i) => i).join(", ")}]}`),
    "spec.kprobes[0].selectors[0].matchArgs[0].values: too many values (9, at most 8 for integers)"],
  ["too many selectors", openat(`    selectors:\n${"    - matchPIDs: [{operator: In, values: [1]}]\n".repeat(6)}`),
    "spec.kprobes[0].selectors: too many selectors (6, at most 5)"],
  ["too many matchArgs", withSelector(`matchArgs:\n${"- {index: 0, operator: Equal, values: [1]}\n".repeat(6)}`),
    "spec.kprobes[0].selectors[0].matchArgs: too many matchArgs (6, at most 5)"],
  ["matchPIDs bad operator", withSelector("matchPIDs:\n- {operator: Equal, values: [1]}"),
    `spec.kprobes[0].selectors[0].matchPIDs[0].operator: unknown operator "Equal" (expected one of In, NotIn)`],
  ["matchPIDs not a pid", withSelector("matchPIDs:\n- {operator: In, values: [-4]}"),
    "spec.kprobes[0].selectors[0].matchPIDs[0].values[0]: -4 is not a pid"],
  ["matchPIDs followForks type", withSelector("matchPIDs:\n- {operator: In, values: [1], followForks: 1}"),
    "spec.kprobes[0].selectors[0].matchPIDs[0].followForks: expected true or false, got 1"],
  ["matchBinaries relative", withSelector("matchBinaries:\n- {operator: In, values: [ls]}"),
    `spec.kprobes[0].selectors[0].matchBinaries[0].values[0]: "ls" is not an absolute path`],
  ["two matchBinaries", withSelector("matchBinaries:\n- {operator: In, values: [/bin/ls]}\n- {operator: NotIn, values: [/bin/cat]}"),
    "spec.kprobes[0].selectors[0].matchBinaries: too many matchBinaries (2, at most 1)"],
  ["unknown namespace", withSelector("matchNamespaces:\n- {namespace: Network, operator: In, values: [host_ns]}"),
    `spec.kprobes[0].selectors[0].matchNamespaces[0].namespace: unknown namespace "Network" (expected one of Uts, Ipc, Mnt, Pid, PidForChildren, Net, Time, TimeForChildren, Cgroup, User)`],
  ["bad namespace value", withSelector("matchNamespaces:\n- {namespace: Net, operator: In, values: [hostns]}"),
    `spec.kprobes[0].selectors[0].matchNamespaces[0].values[0]: "hostns" is not a namespace inode number or host_ns`],
  ["bad namespace change", withSelector("matchNamespaceChanges:\n- {operator: In, values: [Mount]}"),
    `spec.kprobes[0].selectors[0].matchNamespaceChanges[0].values[0]: unknown namespace "Mount" (expected one of Uts, Ipc, Mnt, Pid, PidForChildren, Net, Time, TimeForChildren, Cgroup, User)`],
  ["unknown capability", withSelector("matchCapabilities:\n- {type: Effective, operator: In, values: [CAP_SYS_GOD]}"),
    `spec.kprobes[0].selectors[0].matchCapabilities[0].values[0]: unknown capability "CAP_SYS_GOD" (expected a name such as CAP_SYS_ADMIN)`],
  ["unknown capability set", withSelector("matchCapabilityChanges:\n- {type: Ambient, operator: In, values: [CAP_SYS_ADMIN]}"),
    `spec.kprobes[0].selectors[0].matchCapabilityChanges[0].type: unknown capability set "Ambient" (expected one of Effective, Inheritable, Permitted)`],
  ["unknown action", withSelector("matchActions:\n- {action: Kill}"),
    `spec.kprobes[0].selectors[0].matchActions[0].action: unknown action "Kill" (expected one of Post, FollowFD, UnfollowFD, CopyFD, Sigkill, Override)`],
  ["Override without argError", withSelector("matchActions:\n- {action: Override}"),
    "spec.kprobes[0].selectors[0].matchActions[0].argError: required for Override (a negative errno such as -1)"],
  ["argError positive", withSelector("matchActions:\n- {action: Override, argError: 5}"),
    "spec.kprobes[0].selectors[0].matchActions[0].argError: must be an integer from -4095 to 0, got 5"],
  ["argError on Sigkill", withSelector("matchActions:\n- {action: Sigkill, argError: -1}"),
    "spec.kprobes[0].selectors[0].matchActions[0].argError: not used by Sigkill"],
  ["FollowFD name arg of int type", withSelector("matchActions:\n- {action: FollowFD, argFd: 0, argName: 0}"),
    "spec.kprobes[0].selectors[0].matchActions[0].argName: argument 0 is of type int, expected a name (string, filename, file, path or char_buf)"],
  ["FollowFD without argFd", withSelector("matchActions:\n- {action: FollowFD, argName: 1}"),
    "spec.kprobes[0].selectors[0].matchActions[0].argFd: required field is missing"],
  ["matchReturnArgs without return", withSelector("matchReturnArgs:\n- {index: 0, operator: Equal, values: [0]}"),
    "spec.kprobes[0].selectors[0].matchReturnArgs: the hook has no return value (set return: true and returnArg)"],
  ["matchReturnArgs wrong index", openat("    return: true\n    returnArg: {index: 0, type: int}\n    selectors:\n    - matchReturnArgs:\n      - {index: 1, operator: LT, values: [0]}\n"),
    "spec.kprobes[0].selectors[0].matchReturnArgs[0].index: must be 0 (the return value)"],
  ["unknown selector field", withSelector("matchArgz: []"),
    "spec.kprobes[0].selectors[0].matchArgz: unknown field (expected one of matchPIDs, matchArgs, matchReturnArgs, matchBinaries, matchNamespaces, matchNamespaceChanges, matchCapabilities, matchCapabilityChanges, matchActions)"],
  ["matching a sock", `${head()}  kprobes:\n  - call: tcp_connect\n    args: [{index: 0, type: sock}]\n    selectors:\n    - matchArgs: [{index: 0, operator: Equal, values: ['1']}]\n`,
    "spec.kprobes[0].selectors[0].matchArgs[0].index: argument 0 is of type sock, which cannot be matched"],
  ["tracepoint Override", `${head()}  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    selectors:\n    - matchActions: [{action: Override, argError: -1}]\n`,
    "spec.tracepoints[0].selectors[0].matchActions[0].action: Override is only available on kprobes"],
  ["tracepoint with return", `${head()}  tracepoints:\n  - subsystem: sched\n    event: sched_switch\n    return: true\n`,
    "spec.tracepoints[0].return: unknown field (expected one of subsystem, event, args, selectors)"],
  ["tracepoint bad event name", `${head()}  tracepoints:\n  - subsystem: sched\n    event: "sched/switch"\n`,
    `spec.tracepoints[0].event: "sched/switch" is not a tracepoint event name`],
  ["spec not a mapping", `${head()}  - 1\n`.replace("spec:\n  - 1", "spec: [1]"),
    "spec: expected a mapping, got a list"],
  ["args not a list", openat("").replace(/    args:\n(.|\n)*$/, "    args: 5\n"),
    "spec.kprobes[0].args: expected a list, got 5"],
  ["not a mapping", "just a string\n", `expected a TracingPolicy mapping, got "just a string"`],
  ["yaml syntax", `${head()}  kprobes: [\n`, "yaml: line 7 column 1: Flow sequence in block collection must be sufficiently indented and end with a ]"],
  ["duplicate yaml key", openat("").replace("    syscall: true\n", "    syscall: true\n    syscall: false\n"),
    "yaml: line 9 column 5: Map keys must be unique"],
  ["empty yaml", "\n---\n", "yaml: no TracingPolicy document"],
  ["duplicate names across documents", `${openat("")}---\n${openat("")}`,
    `document 2: metadata.name: duplicate policy name "p" (also in document 1)`],
  ["second document invalid", `${openat("")}---\n${openat("").replace("name: p", "name: q").replace("syscall: true", "syscall: 3")}`,
    "document 2: spec.kprobes[0].syscall: expected true or false, got 3"],
  ["name too long", openat("").replace("name: p", `name: ${"a".repeat(254)}`),
    "metadata.name: too long (254 characters, at most 253)"],
];

describe("malformed policies", () => {
  test("there are at least 30 of them", () => expect(cases.length).toBeGreaterThanOrEqual(30));
  for (const [title, yaml, message] of cases) {
    test(title, () => expect(refusal(yaml)).toBe(message));
  }
});

describe("valid policies", () => {
  test("aliases and defaults are normalized", () => {
    const [p] = parsePolicies(withSelector("matchArgs:\n- {index: 1, operator: prefix, values: [/etc]}\n- {index: 0, operator: Mask, values: ['0x40']}"));
    const hook = p!.hooks[0]!;
    expect(hook.kind).toBe("kprobe");
    const sel = hook.selectors[0]!;
    expect(sel.matchArgs[0]).toEqual({ kind: "text", index: 1, operator: "Prefix", values: ["/etc"] });
    expect(sel.matchArgs[1]).toEqual({ kind: "int", index: 0, operator: "Mask", values: [0x40n] });
    expect(sel.matchActions).toEqual([{ action: "Post" }]);
  });

  test("several documents give several policies, sizet becomes size_t", () => {
    const two = `${openat("")}---\n${openat("").replace("name: p", "name: q").replace("type: int", "type: sizet")}`;
    const ps = parsePolicies(two);
    expect(ps.map((p) => p.name)).toEqual(["p", "q"]);
    expect(ps[1]!.hooks[0]!.args[0]!.type).toBe("size_t");
    expect(ps[1]!.source).toContain("name: q");
    expect(ps[1]!.source).not.toContain("name: p");
  });

  test("FollowFD takes the fd from an fd return value", () => {
    const [p] = parsePolicies(openat("    return: true\n    returnArg: {index: 0, type: fd}\n    selectors:\n    - matchActions: [{action: FollowFD, argName: 1}]\n"));
    expect(p!.hooks[0]!.selectors[0]!.matchActions[0]).toEqual({ action: "FollowFD", argFd: -1, argName: 1, fdFromReturn: true });
  });

  test("limits are the documented ones", () => {
    expect(LIMITS.selectorsPerHook).toBe(5);
    expect(LIMITS.stringValueLength).toBe(255);
  });
});
