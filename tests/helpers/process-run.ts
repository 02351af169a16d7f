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
  const ids = (k: string) => field(k).split(/\s+/).map(Number);
  const ns = {} as NamespaceInums;
  for (const n of NAMESPACE_FIELDS) ns[n] = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${n}`))?.[1]);
  const nspids = field("NSpid").split(/\s+/).map(Number);
  return {
    uid: ids("Uid")[0],
    euid: ids("Uid")[1],
    gid: ids("Gid")[0],
    egid: ids("Gid")[1],
    auid: Number(readFileSync(`/proc/${pid}/loginuid`, "utf8").trim()),
    cwd: readlinkSync(`/proc/${pid}/cwd`),
    caps: {
      effective: BigInt(`0x${field("CapEff")}`),
      permitted: BigInt(`0x${field("CapPrm")}`),
      inheritable: BigInt(`0x${field("CapInh")}`),
    },
    ns,
    nspid: nspids[nspids.length - 1],
  };
}

export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
