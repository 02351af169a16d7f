/** Syscall policies on the host kernel (syscall tracepoints): selectors and
 * actions evaluated in the kernel, events decoded into ProcessKprobe. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicyHarness, policyYaml, python } from "./fixtures/policies/harness";

let h: PolicyHarness;
let dir: string;

beforeAll(() => {
  h = PolicyHarness.start();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-policy-")));
});

afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

const openatPolicy = (name: string, prefix: string) =>
  policyYaml(name, `  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 0
      type: int
    - index: 1
      type: string
    - index: 2
      type: int
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values: ["${prefix}"]
`);

describe("openat with a Prefix match on the path", () => {
  test("reports opens under the prefix, and only those", async () => {
    const [sensor] = await h.manager.add(openatPolicy("openat-prefix", dir));
    expect(sensor!.mechanisms()).toBe(`sys_openat=tracepoint syscalls/sys_enter_openat`);
    const inside = join(dir, "inside.txt");
    writeFileSync(inside, "x");
    const r = await python(`open(${JSON.stringify(inside)}).read(); open("/etc/hostname").read()`);
    expect(r.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === r.pid && x.kind === "kprobe");
    await h.settle();
    const mine = h.of(r.pid);
    expect(mine.length).toBe(1);
    if (e.kind !== "kprobe") throw new Error("kind");
    expect(e.ev.functionName).toBe("sys_openat");
    expect(e.ev.args.map((a) => a.arg.case)).toEqual(["intArg", "stringArg", "intArg"]);
    expect(e.ev.args[1]!.arg.value).toBe(inside);
    expect(e.ev.args[0]!.arg.value).toBe(-100); /* AT_FDCWD */
    expect(e.ev.action).toBe(1); /* KPROBE_ACTION_POST */
    expect(e.ev.process?.binary).toBe("/usr/bin/python3.11");
    await h.manager.delete("openat-prefix");
  });
});
