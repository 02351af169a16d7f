import { spawn } from "bun";
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NAMESPACE_FIELDS, ProcFlag, type NamespaceInums } from "../../src/decode/process";

/** A fresh directory under /tmp (symlinks resolved, as the kernel reports paths). */
export function tempDir(prefix = "fgs-proc-"): { path: string; remove(): void } {
  const path = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Ran {
  pid: number;
  exitCode: number | null;
  signalCode: NodeJS.Signals | number | null;
  stdout: string;
}

/** Runs a command to completion. */
export async function run(cmd: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  const env = options.env && { ...process.env, ...options.env };
  const p = spawn(cmd, { cwd: options.cwd, env, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const stdout = await new Response(p.stdout).text();
  await p.exited;
  return { pid: p.pid, exitCode: p.exitCode, signalCode: p.signalCode, stdout };
}

/** Runs a python3 script. */
export function python(code: string, env?: Record<string, string>): Promise<Ran> {
  return run(["/usr/bin/python3", "-c", code], { env });
}

/** Runs a shell script with /bin/sh -c. */
export function sh(script: string, options: { cwd?: string } = {}): Promise<Ran> {
  return run(["/bin/sh", "-c", script], options);
}

/** Flag bits as their names, sorted (readable exact comparisons). */
export function flagNames(bits: number): string[] {
  return Object.entries(ProcFlag)
    .filter(([, v]) => (bits & v) !== 0)
    .map(([k]) => k)
    .sort();
}

/** Ground truth from /proc while the process lives. */
export interface ProcTruth {
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  auid: number;
  cwd: string;
  caps: { effective: bigint; permitted: bigint; inheritable: bigint };
  ns: NamespaceInums;
  nspid: number;
}

export function procTruth(pid: number): ProcTruth {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
  /* real, effective (Uid:, Gid: lines) */
  const ids = (k: string): [number, number] => {
    const [real, effective] = field(k).split(/\s+/).map(Number);
    if (real === undefined || effective === undefined) throw new Error(`/proc/${pid}/status has no ${k}: line`);
    return [real, effective];
  };
  const ns = {} as NamespaceInums;
  for (const n of NAMESPACE_FIELDS) ns[n] = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${n}`))?.[1]);
  /* the pid in the process's own namespace: the last of NSpid */
  const nspid = field("NSpid").split(/\s+/).map(Number).pop();
  if (nspid === undefined) throw new Error(`/proc/${pid}/status has no NSpid: line`);
  const [uid, euid] = ids("Uid");
  const [gid, egid] = ids("Gid");
  return {
    uid,
    euid,
    gid,
    egid,
    auid: Number(readFileSync(`/proc/${pid}/loginuid`, "utf8").trim()),
    cwd: readlinkSync(`/proc/${pid}/cwd`),
    caps: {
      effective: BigInt(`0x${field("CapEff")}`),
      permitted: BigInt(`0x${field("CapPrm")}`),
      inheritable: BigInt(`0x${field("CapInh")}`),
    },
    ns,
    nspid,
  };
}

export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
