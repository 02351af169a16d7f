/** Syscall policies on the host kernel (syscall tracepoints): selectors and
 * actions evaluated in the kernel, events decoded into ProcessKprobe. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { PolicyHarness, policyYaml } from "./helpers/policy-harness";
import { python, run } from "./helpers/process-run";

let h: PolicyHarness;
let dir: string;

beforeAll(() => {
  h = PolicyHarness.start();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-policy-")));
}, 60_000);

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
    expect(e.ev.functionName).toBe("__x64_sys_openat");
    expect(e.ev.args.map((a) => a.arg.case)).toEqual(["intArg", "stringArg", "intArg"]);
    expect(e.ev.args[1]!.arg.value).toBe(inside);
    expect(e.ev.args[0]!.arg.value).toBe(-100); /* AT_FDCWD */
    expect(e.ev.action).toBe(1); /* KPROBE_ACTION_POST */
    expect(e.ev.process?.binary).toBe("/usr/bin/python3");
    await h.manager.delete("openat-prefix");
  });
});

const followPolicy = (name: string) =>
  policyYaml(name, `  kprobes:
  - call: sys_openat
    syscall: true
    return: true
    args:
    - {index: 0, type: int}
    - {index: 1, type: string}
    returnArg: {index: 0, type: fd}
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}"]}]
      matchActions: [{action: FollowFD, argName: 1}]
  - call: __x64_sys_write
    args:
    - {index: 0, type: fd}
    - {index: 1, type: char_buf, sizeArgIndex: 3}
    - {index: 2, type: size_t}
    selectors:
    - matchArgs: [{index: 0, operator: Prefix, values: ["${dir}"]}]
  - call: write
    syscall: true
    args: [{index: 0, type: fd}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${dir}/./followed.txt"]}]
      matchActions: [{action: Post}]
  - call: sys_close
    args: [{index: 0, type: fd}]
    selectors:
    - matchArgs: [{index: 0, operator: Prefix, values: ["${dir}"]}]
      matchActions: [{action: UnfollowFD, argFd: 0}]
`);

describe("write with FollowFD", () => {
  test("names the file written, as openat named it", async () => {
    const [sensor] = await h.manager.add(followPolicy("follow-write"));
    expect(sensor!.mechanisms()).toBe(
      "sys_openat=tracepoint syscalls/sys_enter_openat+sys_exit_openat, __x64_sys_write=tracepoint syscalls/sys_enter_write, " +
        "write=tracepoint syscalls/sys_enter_write, sys_close=tracepoint syscalls/sys_enter_close",
    );
    /* "/./" survives in the name FollowFD recorded; the fd table would give the clean path */
    const path = `${dir}/./followed.txt`;
    const r = await python(`import os\nfd = os.open(${JSON.stringify(path)}, os.O_WRONLY | os.O_CREAT, 0o600)\nos.write(fd, b"hello")\nos.close(fd)\nos.write(1, b"x")`);
    expect(r.exitCode).toBe(0);
    await h.waitFor((e) => e.pid === r.pid && e.kind === "kprobe" && e.ev.functionName === "__x64_sys_close");
    await h.settle();
    const mine = h.of(r.pid).flatMap((e) => (e.kind === "kprobe" ? [e.ev] : []));
    // Every spelling is reported as the kernel symbol, as the original did.
    expect(mine.map((e) => e.functionName)).toEqual(["__x64_sys_openat", "__x64_sys_write", "__x64_sys_write", "__x64_sys_close"]);
    const [open, write, plain, close] = mine;
    expect(open!.return?.arg).toEqual({ case: "fileArg", value: expect.objectContaining({ path: `${dir}/followed.txt` }) });
    expect(open!.action).toBe(2); /* KPROBE_ACTION_FOLLOWFD */
    expect(write!.args[0]!.arg).toEqual({ case: "fileArg", value: expect.objectContaining({ path }) });
    expect(write!.args[1]!.arg).toEqual({ case: "bytesArg", value: new TextEncoder().encode("hello") });
    expect(write!.args[2]!.arg).toEqual({ case: "sizeArg", value: 5n });
    expect(plain!.args[0]!.arg.case).toBe("fileArg");
    expect(close!.action).toBe(4); /* KPROBE_ACTION_UNFOLLOWFD */
    await h.manager.delete("follow-write");
  });
});

describe("Sigkill", () => {
  test("kills the calling process in the kernel", async () => {
    await h.manager.add(policyYaml("kill-symlink", `  kprobes:
  - call: sys_symlink
    syscall: true
    args: [{index: 0, type: string}, {index: 1, type: string}]
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}/kill-"]}]
      matchActions: [{action: Sigkill}]
`));
    const r = await python(`import os\nos.symlink("target", ${JSON.stringify(`${dir}/kill-me`)})\nprint("survived")`);
    expect(r.signalCode).toBe("SIGKILL");
    expect(r.stdout).toBe("");
    const e = await h.waitFor((x) => x.pid === r.pid);
    expect(e.kind === "kprobe" && e.ev.action).toBe(3); /* KPROBE_ACTION_SIGKILL */
    const spared = await python(`import os\nos.symlink("target", ${JSON.stringify(`${dir}/spare-me`)})\nprint("survived")`);
    expect(spared.exitCode).toBe(0);
    expect(spared.stdout).toBe("survived\n");
    await h.manager.delete("kill-symlink");
  });
});

describe("setuid with matchArgs", () => {
  test("reports setuid(65534) and not setuid(0)", async () => {
    await h.manager.add(policyYaml("setuid-nobody", `  kprobes:
  - call: __x64_sys_setuid
    syscall: true
    args: [{index: 0, type: uint32}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: [65534]}]
`));
    const nobody = await python("import os\nos.setuid(65534)");
    const root = await python("import os\nos.setuid(0)");
    expect(nobody.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === nobody.pid);
    await h.settle();
    expect(e.kind === "kprobe" && e.ev.args[0]!.arg).toEqual({ case: "sizeArg", value: 65534n });
    expect(h.of(root.pid)).toEqual([]);
    await h.manager.delete("setuid-nobody");
  });
});

describe("matchBinaries", () => {
  test("reports getcwd from python3 only (matchBinaries: the path executed by, a symlink here)", async () => {
    await h.manager.add(policyYaml("cwd-python", `  kprobes:
  - call: sys_getcwd
    syscall: true
    args: [{index: 1, type: size_t}]
    selectors:
    - matchBinaries: [{operator: In, values: ["/usr/bin/python3"]}]
`));
    const py = await python("import os\nos.getcwd()");
    const pwd = await run(["/bin/pwd"]);
    expect(pwd.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === py.pid);
    await h.settle();
    expect(e.kind === "kprobe" && e.ev.process?.binary).toBe("/usr/bin/python3");
    expect(h.of(pwd.pid)).toEqual([]);
    await h.manager.delete("cwd-python");
  });

  // The kernel keeps each process's matchBinaries answer until its next
  // exec: a stale answer would report pwd's getcwd (size 4096) or miss
  // python's (size 1024) in the same process.
  test("a process is judged on the binary it runs after each exec", async () => {
    await h.manager.add(policyYaml("cwd-python-exec", `  kprobes:
  - call: sys_getcwd
    syscall: true
    args: [{index: 1, type: size_t}]
    selectors:
    - matchBinaries: [{operator: In, values: ["/usr/bin/python3"]}]
`));
    const toPwd = await python("import os\nos.getcwd()\nos.execv('/bin/pwd', ['pwd'])");
    const toPy = await run(["/bin/sh", "-c", "pwd -P >/dev/null; exec /usr/bin/python3 -c 'import os; os.getcwd()'"]);
    expect([toPwd.exitCode, toPy.exitCode]).toEqual([0, 0]);
    await h.waitFor((x) => x.pid === toPwd.pid);
    await h.waitFor((x) => x.pid === toPy.pid);
    await h.settle();
    for (const pid of [toPwd.pid, toPy.pid]) {
      const seen = h.of(pid).map((e) => (e.kind === "kprobe" ? `${e.ev.process?.binary} ${e.ev.args[0]?.arg.value}` : e.kind));
      // binary is the path executed (/usr/bin/python3), not the symlink's target.
      expect(seen).toEqual(["/usr/bin/python3 1024"]);
    }
    await h.manager.delete("cwd-python-exec");
  });

  test("NotIn reports every other binary", async () => {
    await h.manager.add(policyYaml("cwd-not-python", `  kprobes:
  - call: sys_getcwd
    syscall: true
    selectors:
    - matchBinaries: [{operator: NotIn, values: ["/usr/bin/python3"]}]
`));
    const py = await python("import os\nos.getcwd()");
    const pwd = await run(["/bin/pwd"]);
    await h.waitFor((x) => x.pid === pwd.pid);
    await h.settle();
    expect(h.of(py.pid)).toEqual([]);
    await h.manager.delete("cwd-not-python");
  });
});

describe("matchPIDs", () => {
  test("followForks matches the children of a listed pid", async () => {
    const parent = spawn(["/bin/sh", "-c", "read go; /usr/bin/python3 -c 'import os; os.uname(); print(os.getpid())'"], { stdin: "pipe", stdout: "pipe" });
    const name = "uname-children";
    await h.manager.add(policyYaml(name, `  kprobes:
  - call: sys_newuname
    syscall: true
    selectors:
    - matchPIDs: [{operator: In, values: [${parent.pid}], followForks: true}]
`));
    const outsider = await python("import os\nos.uname()");
    parent.stdin.write("go\n");
    parent.stdin.end();
    const childPid = Number((await new Response(parent.stdout).text()).trim());
    await parent.exited;
    const e = await h.waitFor((x) => x.pid === childPid);
    expect(e.kind === "kprobe" && e.ev.process?.binary).toBe("/usr/bin/python3");
    expect(e.raw.event.case === "processKprobe" && e.raw.event.value.parent?.pid).toBe(parent.pid);
    await h.settle();
    expect(h.of(outsider.pid)).toEqual([]);
    await h.manager.delete(name);
  });

  test("without followForks only the listed pid matches", async () => {
    const parent = spawn(["/bin/sh", "-c", "read go; /usr/bin/python3 -c 'import os; os.uname(); print(os.getpid())'"], { stdin: "pipe", stdout: "pipe" });
    await h.manager.add(policyYaml("uname-exact", `  kprobes:
  - call: sys_newuname
    syscall: true
    selectors:
    - matchPIDs: [{operator: In, values: [${parent.pid}]}]
`));
    parent.stdin.write("go\n");
    parent.stdin.end();
    const childPid = Number((await new Response(parent.stdout).text()).trim());
    await parent.exited;
    await h.settle();
    expect(childPid).toBeGreaterThan(0);
    expect(h.of(childPid)).toEqual([]);
    await h.manager.delete("uname-exact");
  });
});

describe("capability selectors", () => {
  const getpriority = "import os\nos.getpriority(os.PRIO_PROCESS, 0)";
  const dropThenGetpriority = "import os\nos.setuid(65534)\nos.getpriority(os.PRIO_PROCESS, 0)";

  test("matchCapabilities In CAP_SYS_ADMIN: root yes, after setuid(65534) no", async () => {
    await h.manager.add(policyYaml("prio-admin", `  kprobes:
  - call: sys_getpriority
    syscall: true
    selectors:
    - matchCapabilities: [{type: Effective, operator: In, values: [CAP_SYS_ADMIN]}]
`));
    const root = await python(getpriority);
    const dropped = await python(dropThenGetpriority);
    expect(dropped.exitCode).toBe(0);
    await h.waitFor((x) => x.pid === root.pid);
    await h.settle();
    expect(h.of(dropped.pid)).toEqual([]);
    await h.manager.delete("prio-admin");
  });

  test("matchCapabilityChanges: caps lost since exec", async () => {
    await h.manager.add(policyYaml("prio-capchange", `  kprobes:
  - call: sys_getpriority
    syscall: true
    selectors:
    - matchCapabilityChanges: [{type: Effective, operator: In, values: [CAP_SYS_ADMIN]}]
`));
    const root = await python(getpriority);
    const dropped = await python(dropThenGetpriority);
    await h.waitFor((x) => x.pid === dropped.pid);
    await h.settle();
    expect(h.of(root.pid)).toEqual([]);
    await h.manager.delete("prio-capchange");
  });
});

describe("matchNamespaces", () => {
  test("Mnt NotIn host_ns: only processes in another mount namespace", async () => {
    await h.manager.add(policyYaml("uname-mntns", `  kprobes:
  - call: sys_newuname
    syscall: true
    selectors:
    - matchNamespaces: [{namespace: Mnt, operator: NotIn, values: [host_ns]}]
`));
    const host = await python("import os\nos.uname()");
    const inner = await run(["/usr/bin/unshare", "-m", "/usr/bin/python3", "-c", "import os\nos.uname()\nprint(os.getpid())"]);
    expect(inner.exitCode).toBe(0);
    const innerPid = Number(inner.stdout.trim());
    await h.waitFor((x) => x.pid === innerPid);
    await h.settle();
    expect(h.of(host.pid)).toEqual([]);
    await h.manager.delete("uname-mntns");
  });
});

describe("namespace pids and namespace changes", () => {
  test("matchPIDs isNamespacePID matches pid 1 of a new pid namespace", async () => {
    await h.manager.add(policyYaml("nspid-one", `  kprobes:
  - call: sys_getpriority
    syscall: true
    args: [{index: 1, type: int}]
    selectors:
    - matchPIDs: [{operator: In, values: [1], isNamespacePID: true}]
      matchArgs: [{index: 1, operator: Equal, values: [4242]}]
`));
    const probe = "import os\ntry:\n  os.getpriority(os.PRIO_PROCESS, 4242)\nexcept OSError:\n  pass\nprint(os.getpid())";
    const host = await python(probe);
    const inner = await run(["/usr/bin/unshare", "-pf", "/usr/bin/python3", "-c", probe]);
    expect(inner.stdout.trim()).toBe("1");
    const e = await h.waitFor((x) => x.kind === "kprobe" && x.ev.functionName === "__x64_sys_getpriority" && x.ev.process?.binary === "/usr/bin/python3");
    await h.settle();
    expect(e.pid).not.toBe(host.pid);
    expect(h.of(host.pid)).toEqual([]);
    await h.manager.delete("nspid-one");
  });

  test("matchNamespaceChanges: a uts namespace entered after exec", async () => {
    await h.manager.add(policyYaml("uts-change", `  kprobes:
  - call: sys_newuname
    syscall: true
    selectors:
    - matchNamespaceChanges: [{operator: In, values: [Uts]}]
`));
    const changed = await python("import ctypes, os\nassert ctypes.CDLL(None).unshare(0x04000000) == 0\nos.uname()");
    const same = await python("import os\nos.uname()");
    expect(changed.exitCode).toBe(0);
    await h.waitFor((x) => x.pid === changed.pid);
    await h.settle();
    expect(h.of(same.pid)).toEqual([]);
    await h.manager.delete("uts-change");
  });
});
