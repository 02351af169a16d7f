/** Argument types, return values and operators on the host kernel (syscall
 * tracepoints): each test's selectors let through only its own process. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProcessKprobe } from "../gen/tetragon/tetragon_pb";
import { PolicyHarness, policyYaml } from "./helpers/policy-harness";
import { python } from "./helpers/process-run";

let h: PolicyHarness;
let dir: string;

beforeAll(() => {
  h = PolicyHarness.start();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-args-")));
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function kprobes(pid: number, count: number): Promise<ProcessKprobe[]> {
  await h.waitFor(() => h.of(pid).length >= count, 5000, `${count} events of ${pid}`);
  await h.settle();
  return h.of(pid).flatMap((e) => (e.kind === "kprobe" ? [e.ev] : []));
}

const enc = (s: string) => new TextEncoder().encode(s);

describe("return values", () => {
  test("matchReturnArgs LT 0 reports failed opens only", async () => {
    await h.manager.add(policyYaml("failed-opens", `  kprobes:
  - call: sys_openat
    syscall: true
    return: true
    args: [{index: 1, type: string}]
    returnArg: {index: 0, type: int}
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}/"]}]
      matchReturnArgs: [{index: 0, operator: LT, values: [0]}]
`));
    writeFileSync(join(dir, "exists"), "x");
    const r = await python(`import os\nos.close(os.open(${JSON.stringify(join(dir, "exists"))}, os.O_RDONLY))\ntry:\n  os.open(${JSON.stringify(join(dir, "missing"))}, os.O_RDONLY)\nexcept OSError:\n  pass`);
    const evs = await kprobes(r.pid, 1);
    expect(evs.length).toBe(1);
    expect(evs[0]!.args[0]!.arg.value).toBe(join(dir, "missing"));
    expect(evs[0]!.return?.arg).toEqual({ case: "intArg", value: -2 });
    await h.manager.delete("failed-opens");
  });

  test("returnCopy reads the buffer a read filled, sized by the return value", async () => {
    const file = join(dir, "content.txt");
    writeFileSync(file, "the quick brown fox");
    await h.manager.add(policyYaml("read-copy", `  kprobes:
  - call: sys_read
    syscall: true
    return: true
    args:
    - {index: 0, type: fd}
    - {index: 1, type: char_buf, returnCopy: true, sizeArgIndex: 3}
    - {index: 2, type: size_t}
    returnArg: {index: 0, type: long}
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${file}"]}]
`));
    const r = await python(`import os\nfd = os.open(${JSON.stringify(file)}, os.O_RDONLY)\nos.read(fd, 9)`);
    const [ev] = await kprobes(r.pid, 1);
    expect(ev!.args.map((a) => a.arg)).toEqual([
      { case: "fileArg", value: expect.objectContaining({ path: file }) },
      { case: "bytesArg", value: enc("the quick") },
      { case: "sizeArg", value: 9n },
    ]);
    expect(ev!.return?.arg).toEqual({ case: "longArg", value: 9n });
    await h.manager.delete("read-copy");
  });
});

describe("buffers", () => {
  test("char_iovec joins writev's buffers", async () => {
    await h.manager.add(policyYaml("writev", `  kprobes:
  - call: sys_writev
    syscall: true
    args:
    - {index: 0, type: fd}
    - {index: 1, type: char_iovec, sizeArgIndex: 3}
    selectors:
    - matchArgs: [{index: 0, operator: Prefix, values: ["${dir}/"]}]
`));
    const r = await python(`import os\nfd = os.open(${JSON.stringify(join(dir, "v.txt"))}, os.O_WRONLY | os.O_CREAT)\nos.writev(fd, [b"ab", b"cd", b"ef"])`);
    const [ev] = await kprobes(r.pid, 1);
    expect(ev!.args[1]!.arg).toEqual({ case: "bytesArg", value: enc("abcdef") });
    await h.manager.delete("writev");
  });

  test("a buffer over 4096 bytes is cut, with its original size", async () => {
    await h.manager.add(policyYaml("big-write", `  kprobes:
  - call: sys_write
    syscall: true
    args:
    - {index: 0, type: fd}
    - {index: 1, type: char_buf, sizeArgIndex: 3}
    selectors:
    - matchArgs: [{index: 0, operator: Postfix, values: ["/big.bin"]}]
`));
    const r = await python(`import os\nfd = os.open(${JSON.stringify(join(dir, "big.bin"))}, os.O_WRONLY | os.O_CREAT)\nos.write(fd, b"z" * 5000)`);
    const [ev] = await kprobes(r.pid, 1);
    expect(ev!.args[1]!.arg.case).toBe("truncatedBytesArg");
    const t = ev!.args[1]!.arg.value as { bytesArg: Uint8Array; origSize: bigint };
    expect(t.origSize).toBe(5000n);
    expect(t.bytesArg.length).toBe(4096);
    await h.manager.delete("big-write");
  });
});

describe("CopyFD", () => {
  test("dup2 copies the followed name to the new fd", async () => {
    const path = `${dir}/./copied.txt`;
    await h.manager.add(policyYaml("copy-fd", `  kprobes:
  - call: sys_openat
    syscall: true
    return: true
    args: [{index: 1, type: string}]
    returnArg: {index: 0, type: fd}
    selectors:
    - matchArgs: [{index: 1, operator: Equal, values: ["${path}"]}]
      matchActions: [{action: FollowFD, argName: 1}]
  - call: sys_dup2
    syscall: true
    args: [{index: 0, type: fd}, {index: 1, type: int}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${path}"]}]
      matchActions: [{action: CopyFD, argFd: 0, argName: 1}]
  - call: sys_fsync
    syscall: true
    args: [{index: 0, type: fd}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${path}"]}]
`));
    const r = await python(`import os\nfd = os.open(${JSON.stringify(path)}, os.O_WRONLY | os.O_CREAT)\nos.dup2(fd, 42)\nos.close(fd)\nos.fsync(42)`);
    const evs = await kprobes(r.pid, 3);
    expect(evs.map((e) => e.functionName)).toEqual(["__x64_sys_openat", "__x64_sys_dup2", "__x64_sys_fsync"]);
    expect(evs[1]!.action).toBe(6); /* KPROBE_ACTION_COPYFD */
    expect(evs[2]!.args[0]!.arg).toEqual({ case: "fileArg", value: expect.objectContaining({ path }) });
    await h.manager.delete("copy-fd");
  });
});

describe("operators", () => {
  const lseek = (name: string, selectors: string) =>
    policyYaml(name, `  kprobes:
  - call: sys_lseek
    syscall: true
    args: [{index: 0, type: fd}, {index: 1, type: long}, {index: 2, type: uint32}]
    selectors:
${selectors}`);
  const seeks = (file: string) =>
    `import os\nfd = os.open(${JSON.stringify(file)}, os.O_RDONLY | os.O_CREAT)\n` +
    [[5, 0], [-3, 1], [100, 2], [7, 0]].map(([o, w]) => `os.lseek(fd, ${o}, ${w})`).join("\n");
  const offsets = (evs: ProcessKprobe[]) => evs.map((e) => (e.args[1]!.arg.value as bigint));

  test("GT and LT on a signed long, ANDed with a Postfix on the fd name", async () => {
    const file = join(dir, "seek-a.dat");
    await h.manager.add(lseek("seek-range", `    - matchArgs:
      - {index: 0, operator: Postfix, values: ["/seek-a.dat"]}
      - {index: 1, operator: GT, values: [-5]}
      - {index: 1, operator: LT, values: ["0x10"]}
`));
    const r = await python(seeks(file));
    const evs = await kprobes(r.pid, 3);
    expect(offsets(evs)).toEqual([5n, -3n, 7n]);
    await h.manager.delete("seek-range");
  });

  test("Mask, In and NotEqual; selectors are ORed", async () => {
    const file = join(dir, "seek-b.dat");
    await h.manager.add(lseek("seek-ops", `    - matchArgs:
      - {index: 0, operator: Equal, values: ["${file}"]}
      - {index: 2, operator: Mask, values: [2]}
    - matchArgs:
      - {index: 0, operator: In, values: ["/nope", "${file}"]}
      - {index: 1, operator: In, values: [5, 6]}
    - matchArgs:
      - {index: 0, operator: Equal, values: ["${file}"]}
      - {index: 1, operator: NotEqual, values: [5, 100, -3]}
`));
    const r = await python(seeks(file));
    const evs = await kprobes(r.pid, 3);
    expect(offsets(evs)).toEqual([5n, 100n, 7n]);
    expect(evs.map((e) => e.action)).toEqual([1, 1, 1]);
    await h.manager.delete("seek-ops");
  });

  test("NotIn on a string", async () => {
    await h.manager.add(policyYaml("open-notin", `  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string}]
    selectors:
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["${dir}/n"]}
      - {index: 1, operator: NotIn, values: ["${dir}/n1", "${dir}/n3"]}
`));
    const r = await python(["n1", "n2", "n3", "n4"].map((n) => `open(${JSON.stringify(join(dir, n))}, "w").close()`).join("\n"));
    const evs = await kprobes(r.pid, 2);
    expect(evs.map((e) => e.args[0]!.arg.value)).toEqual([join(dir, "n2"), join(dir, "n4")]);
    await h.manager.delete("open-notin");
  });
});
