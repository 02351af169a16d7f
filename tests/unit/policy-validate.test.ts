/** Malformed TracingPolicy documents, each refused with its exact message. */
import { describe, expect, test } from "bun:test";
import { LIMITS, PolicyError, parsePolicies } from "../../src/policy";
import { malformedPolicies as cases, openat, withSelector } from "../fixtures/policies/malformed";

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
