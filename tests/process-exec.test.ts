/* Exec records from the real kernel: binary, argv, cwd, credentials,
 * namespaces and cgroup, for ordinary and awkward executions. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { copyFileSync, mkdirSync, realpathSync, rmdirSync, statSync, writeFileSync, chmodSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { OP_CLONE, OP_EXEC, type CloneRecord, type ExecRecord, type ProcessRecord } from "../src/decode/process";
import { ProcessProbe } from "./helpers/process-kernel";
import { flagNames, procTruth, randomHex, run, sh, tempDir } from "./helpers/process-run";

let probe: ProcessProbe;
let dir: { path: string; remove(): void };
const TRUE = realpathSync("/bin/true");
const SLEEP = realpathSync("/bin/sleep");
/* the path it is executed by (tests/helpers/process-run.ts sh()), not /usr/bin/dash */
const SHELL = "/bin/sh";

beforeAll(() => {
  probe = ProcessProbe.start();
  dir = tempDir();
});

afterAll(async () => {
  await probe?.stop();
  dir?.remove();
});

function isExec(pid: number, binary?: string): (r: ProcessRecord) => boolean {
  return (r) => r.op === OP_EXEC && r.tgid === pid && (binary === undefined || r.binary === binary);
}

async function execOf(pid: number, binary?: string): Promise<ExecRecord> {
  return (await probe.waitFor(isExec(pid, binary), 5000, `exec of ${binary ?? "?"} by ${pid}`)) as ExecRecord;
}

describe("exec records", () => {
  test("exec by relative path: full binary path, cwd, argv", async () => {
    copyFileSync(TRUE, join(dir.path, "mytrue"));
    chmodSync(join(dir.path, "mytrue"), 0o755);
    const r = await sh("exec ./mytrue one two", { cwd: dir.path });
    const rec = await execOf(r.pid, join(dir.path, "mytrue"));
    expect({ cwd: rec.cwd, argv: rec.argv, flags: flagNames(rec.flags), tid: rec.tid, cgroup: rec.cgroup }).toEqual({
      cwd: dir.path,
      argv: ["./mytrue", "one", "two"],
      flags: ["execve", "parentMiss"],
      tid: r.pid,
      cgroup: rec.cgroup,
    });
    expect(rec.argsTotal).toBe("./mytrue one two".length + 1);
    // The first exec of the forked child (the shell) is flagged clone.
    const shell = await execOf(r.pid, SHELL);
    expect(flagNames(shell.flags)).toEqual(["clone", "execve", "parentMiss"]);
    expect(rec.ktime).toBeGreaterThan(shell.ktime);
    expect(rec.startBoottime).toBe(shell.startBoottime);
    expect(rec.parentTgid).toBe(process.pid);
  });

  test("#! script: the binary is the script, argv is what the interpreter got", async () => {
    const script = join(dir.path, "script.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n");
    chmodSync(script, 0o755);
    const r = await sh("exec ./script.sh a 'b c'", { cwd: dir.path });
    const rec = await execOf(r.pid, script);
    expect({ argv: rec.argv, flags: flagNames(rec.flags), cwd: rec.cwd }).toEqual({
      argv: ["/bin/sh", "./script.sh", "a", "b c"],
      flags: ["execve", "parentMiss", "script"],
      cwd: dir.path,
    });
    // By absolute path too.
    const abs = await sh(`exec ${script}`);
    expect((await execOf(abs.pid, script)).argv).toEqual(["/bin/sh", script]);
  });

  test("binary whose directory was deleted (exec through its open fd)", async () => {
    const sub = join(dir.path, "gone");
    const script = `mkdir ${sub} && cp ${TRUE} ${sub}/prog && exec 3< ${sub}/prog && rm -rf ${sub} && exec /proc/self/fd/3 x`;
    // By default the binary is the name it was executed by, as the original reported it.
    const named = await sh(script);
    expect(named.exitCode).toBe(0);
    expect(flagNames((await execOf(named.pid, "/proc/self/fd/3")).flags)).toEqual(["execve", "parentMiss"]);
    probe.configure({ maxArgvBytes: 0, captureCwd: true, binaryPath: "resolved" });
    try {
      const r = await sh(script);
      expect(r.exitCode).toBe(0);
      const rec = await execOf(r.pid, join(sub, "prog"));
      expect({ argv: rec.argv, flags: flagNames(rec.flags) }).toEqual({
        argv: ["/proc/self/fd/3", "x"],
        flags: ["execve", "parentMiss", "unlinked"],
      });
    } finally {
      probe.configure({ maxArgvBytes: 0, captureCwd: true });
    }
  });

  test("the binary is the path executed by, symlinks kept; binary-path=resolved resolves them", async () => {
    const link = join(dir.path, "true-link");
    symlinkSync(TRUE, link);
    const viaLink = await run([link, "l"]);
    expect((await execOf(viaLink.pid, link)).argv).toEqual([link, "l"]);
    const shell = await sh("exit 0");
    expect((await execOf(shell.pid, "/bin/sh")).argv).toEqual(["/bin/sh", "-c", "exit 0"]);
    probe.configure({ maxArgvBytes: 0, captureCwd: true, binaryPath: "resolved" });
    try {
      const resolved = await run([link, "r"]);
      expect((await execOf(resolved.pid, TRUE)).argv).toEqual([link, "r"]);
    } finally {
      probe.configure({ maxArgvBytes: 0, captureCwd: true });
    }
  });

  test("argv with spaces, newlines and non-UTF-8 bytes", async () => {
    const r = await sh(`exec ${TRUE} 'a b' "$(printf 'c\\nd')" "$(printf '\\377\\376x')" ''`);
    const rec = await execOf(r.pid, TRUE);
    expect(rec.argv).toEqual([TRUE, "a b", "c\nd", "\uFFFD\uFFFDx", ""]);
    expect(JSON.parse(JSON.stringify(rec.argv))).toEqual(rec.argv);
  });

  test("argv over the capture limit is truncated and flagged (default and configured limits)", async () => {
    const long = "x".repeat(5000);
    const r = await sh(`exec ${TRUE} ${long}`);
    const rec = await execOf(r.pid, TRUE);
    expect({ argv: rec.argv, total: rec.argsTotal, flags: flagNames(rec.flags) }).toEqual({
      argv: [TRUE, "x".repeat(4096 - TRUE.length - 1)],
      total: TRUE.length + 1 + 5001,
      flags: ["execve", "parentMiss", "truncArgs"],
    });
    probe.configure({ maxArgvBytes: 20, captureCwd: true });
    try {
      const small = await sh(`exec ${TRUE} 0123456789 abcdefghij`);
      const s = await execOf(small.pid, TRUE);
      expect({ argv: s.argv, flags: flagNames(s.flags) }).toEqual({
        argv: [TRUE, "0123456789 abcdefghij".slice(0, 20 - TRUE.length - 1)].filter((a) => a !== ""),
        flags: ["execve", "parentMiss", "truncArgs"],
      });
      const exact = await sh(`exec ${TRUE} ${"y".repeat(20 - TRUE.length - 2)}`);
      const e = await execOf(exact.pid, TRUE);
      expect(flagNames(e.flags)).toEqual(["execve", "parentMiss"]);
    } finally {
      probe.configure({ maxArgvBytes: 0, captureCwd: true });
    }
  });

  test("cwd capture can be switched off (nocwd)", async () => {
    probe.configure({ maxArgvBytes: 0, captureCwd: false });
    try {
      const r = await sh(`exec ${TRUE}`, { cwd: dir.path });
      const rec = await execOf(r.pid, TRUE);
      expect({ cwd: rec.cwd, flags: flagNames(rec.flags) }).toEqual({ cwd: "", flags: ["execve", "nocwd", "parentMiss"] });
    } finally {
      probe.configure({ maxArgvBytes: 0, captureCwd: true });
    }
    const root = await sh(`exec ${TRUE}`, { cwd: "/" });
    const rec = await execOf(root.pid, TRUE);
    expect({ cwd: rec.cwd, flags: flagNames(rec.flags) }).toEqual({ cwd: "/", flags: ["execve", "parentMiss", "rootcwd"] });
  });

  test("paths over the limit: binary and cwd truncated and flagged", async () => {
    const name = "d".repeat(250);
    // dash cannot cd that deep and bash execs by absolute path: bash cds, env execs "./t".
    const script = `cd ${dir.path} && for i in $(seq 18); do mkdir ${name} && cd ${name} || exit 9; done; cp ${TRUE} t && exec env ./t`;
    const r = await run(["bash", "-c", script]);
    expect(r.exitCode).toBe(0);
    const rec = (await probe.waitFor(
      (x) => x.op === OP_EXEC && x.tgid === r.pid && x.binary.endsWith(`${name}/t`),
      5000,
      "exec of the deep binary",
    )) as ExecRecord;
    // "./t" made absolute against a cwd that did not fit: the binary is unreliable too.
    expect(flagNames(rec.flags)).toEqual(["errorCWD", "errorFilename", "execve", "parentMiss"]);
    expect(rec.binary.length).toBeLessThanOrEqual(4096);
    expect(rec.binary.length).toBeGreaterThan(4096 - 252);
    expect(rec.cwd.endsWith(`/${name}`)).toBe(true);
    expect(rec.argv).toEqual(["./t"]);
  });

  test("uid, cwd, capabilities, auid and namespaces match /proc while the process lives", async () => {
    const p = spawn(
      ["setpriv", "--bounding-set=-net_raw,-sys_admin", "--inh-caps=+chown,+kill", SLEEP, "30"],
      { cwd: dir.path, stdin: "ignore", stdout: "ignore", stderr: "inherit" },
    );
    try {
      const rec = await execOf(p.pid, SLEEP);
      const truth = procTruth(p.pid);
      expect({
        uid: rec.uid,
        euid: rec.euid,
        gid: rec.gid,
        egid: rec.egid,
        auid: rec.auid,
        cwd: rec.cwd,
        caps: rec.caps,
        ns: rec.ns,
        nspid: rec.nspid,
      }).toEqual(truth);
      expect(rec.caps.inheritable).toBe((1n << 0n) | (1n << 5n));
      expect(rec.caps.effective & ((1n << 13n) | (1n << 21n))).toBe(0n);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
    const nobody = spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SLEEP, "30"], {
      cwd: "/",
      stdin: "ignore",
      stdout: "ignore",
      stderr: "inherit",
    });
    try {
      const rec = await execOf(nobody.pid, SLEEP);
      const truth = procTruth(nobody.pid);
      expect({ uid: rec.uid, euid: rec.euid, caps: rec.caps, cwd: rec.cwd }).toEqual({
        uid: 65534,
        euid: 65534,
        caps: { effective: 0n, permitted: 0n, inheritable: 0n },
        cwd: "/",
      });
      expect({ uid: truth.uid, caps: truth.caps }).toEqual({ uid: rec.uid, caps: rec.caps });
    } finally {
      nobody.kill("SIGKILL");
      await nobody.exited;
    }
  });

  test("a process in a new pid namespace (unshare -p -f)", async () => {
    const p = spawn(["unshare", "-p", "-f", SLEEP, "30"], { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
    try {
      const clone = (await probe.waitFor(
        (r) => r.op === OP_CLONE && r.parentTgid === p.pid,
        5000,
        "fork of unshare",
      )) as CloneRecord;
      const rec = await execOf(clone.tgid, SLEEP);
      const truth = procTruth(clone.tgid);
      const host = procTruth(process.pid);
      expect({ nspid: rec.nspid, clone: clone.nspid, pid: rec.ns.pid, children: rec.ns.pid_for_children }).toEqual({
        nspid: 1,
        clone: 1,
        pid: truth.ns.pid,
        children: truth.ns.pid_for_children,
      });
      expect(rec.ns.pid).not.toBe(host.ns.pid);
      expect({ ...rec.ns, pid: 0, pid_for_children: 0 }).toEqual({ ...host.ns, pid: 0, pid_for_children: 0 });
      expect(rec.parentTgid).toBe(p.pid);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
  });

  test("cgroup path holding a 64-hex container id", async () => {
    const id = randomHex(32);
    const cg = `/sys/fs/cgroup/unified/docker-${id}.scope`;
    mkdirSync(cg);
    try {
      const r = await sh(`echo $$ > ${cg}/cgroup.procs && exec ${TRUE}`);
      expect(r.exitCode).toBe(0);
      const rec = await execOf(r.pid, TRUE);
      expect({ cgroup: rec.cgroup, id: rec.cgroupId }).toEqual({
        cgroup: `/docker-${id}.scope`,
        id: BigInt(statSync(cg).ino),
      });
    } finally {
      rmdirSync(cg);
    }
  });
});
