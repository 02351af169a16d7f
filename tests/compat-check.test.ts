// Issue 13 (part): `fgs tracingpolicy check FILE|DIR` without an agent: per file,
// loads on this kernel (and how) or refused (every hook and reason, or the
// field path of a format error); as a user without root, validation only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FGS } from "./helpers/agent";

const dir = `/tmp/fgs-check-${process.pid}`;

const doc = (name: string, kprobes: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
${kprobes}`;

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "a-openat.yaml"), doc("sys_openat_check", `  - call: "sys_openat"
    syscall: true
    message: "opened"
    args: [{index: 0, type: int}, {index: 1, type: string, maxData: true}]
`));
  writeFileSync(join(dir, "b-kernel-functions.yaml"), doc("fd_install", `  - call: "fd_install"
    args: [{index: 0, type: int}, {index: 1, type: file}]
  - call: "security_file_open"
    args: [{index: 0, type: file}]
`));
  writeFileSync(join(dir, "c-format.yml"), doc("bad", `  - call: "sys_openat"
    syscall: true
    args: [{index: 0, type: strng}]
`));
  writeFileSync(join(dir, "notes.txt"), "not a policy");
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(target: string, asNobody = false): { code: number; stdout: string; stderr: string } {
  const cmd = [FGS, "tracingpolicy", "check", target];
  const r = spawnSync(asNobody ? ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", ...cmd] : cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("fgs tracingpolicy check", () => {
  test("a directory, as root: each file loads on this kernel (with its mechanisms and warnings) or is refused with every reason", () => {
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`${dir}/a-openat.yaml: loads on this kernel`);
    expect(lines[1]).toBe(`  policy "sys_openat_check": sys_openat=tracepoint syscalls/sys_enter_openat`);
    expect(lines[2]).toBe("  warning: spec.kprobes[0].args[1].maxData: ignored: buffers are captured up to 4096 bytes here (truncated_bytes_arg past that)");
    expect(lines[3]).toBe(`${dir}/b-kernel-functions.yaml: refused`);
    expect(lines[4]).toStartWith("  spec.kprobes[0] (fd_install): cannot attach: kprobe: the kernel has no kprobes");
    expect(lines[5]).toStartWith("  spec.kprobes[1] (security_file_open): cannot attach: kprobe: the kernel has no kprobes");
    expect(lines[6]).toBe(`${dir}/c-format.yml: refused`);
    expect(lines[7]).toStartWith(`  spec.kprobes[0].args[0].type: unknown type "strng"`);
    expect(lines.length).toBe(8);
  });

  test("one file that loads: exit 0", () => {
    const r = check(join(dir, "a-openat.yaml"));
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`${dir}/a-openat.yaml: loads on this kernel`);
  });

  test("without root: validation only, said so", () => {
    const r = check(dir, true);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${dir}/a-openat.yaml: valid (not tried on the kernel: that needs root)`);
    expect(r.stdout).toContain(`${dir}/b-kernel-functions.yaml: valid (not tried on the kernel: that needs root)`);
    expect(r.stdout).toContain(`${dir}/c-format.yml: refused`);
  });
});
