import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { decodeText, splitArgv, type Caps, type NamespaceInums } from "../decode/process";
import { parseCapHex } from "./caps";
import { readHostNamespaces, readNamespaceInums } from "../kernel/namespaces";

/** USER_HZ: /proc/PID/stat counts start times in 1/100 s on every Linux ABI. */
export const NS_PER_CLOCK_TICK = 10_000_000n;
const PF_KTHREAD = 0x00200000;
const AUID_UNSET = 4294967295;

/** A process as /proc shows it. startKtime is the task's start on the boot
 * clock, at /proc's 10 ms resolution. */
export interface ProcSnapshot {
  tgid: number;
  ppid: number;
  startKtime: bigint;
  kernelThread: boolean;
  binary: string;
  argv: string[];
  cwd: string | undefined;
  uid: number;
  euid: number;
  auid: number | undefined;
  caps: Caps;
  ns: NamespaceInums;
  cgroup: string;
}

export function listPids(procRoot: string): number[] {
  return readdirSync(procRoot)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

interface Stat {
  comm: string;
  ppid: number;
  flags: number;
  startTicks: bigint;
}

/** /proc/PID/stat; comm may hold spaces and parentheses, so fields are counted after the last ')'. */
function readStat(procRoot: string, pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(join(procRoot, String(pid), "stat"), "latin1");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state): ppid is field 4, flags 9, starttime 22.
  const [ppid, flags, start] = [f[1], f[6], f[19]];
  if (ppid === undefined || flags === undefined || start === undefined) return undefined;
  return { comm: text.slice(text.indexOf("(") + 1, close), ppid: Number(ppid), flags: Number(flags), startTicks: BigInt(start) };
}

export function procStartKtime(procRoot: string, pid: number): bigint | undefined {
  const st = readStat(procRoot, pid);
  return st ? st.startTicks * NS_PER_CLOCK_TICK : undefined;
}

function readMaybe(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function linkMaybe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function statusFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** The cgroup v2 path (the "0::" line), else the first v1 line holding a path. */
function cgroupPathOf(text: string): string {
  const lines = text.split("\n").filter(Boolean);
  const v2 = lines.find((l) => l.startsWith("0::"));
  if (v2) return v2.slice(3);
  const v1 = lines.map((l) => l.split(":").slice(2).join(":")).find((p) => p && p !== "/");
  return v1 ?? "/";
}

const DELETED = " (deleted)";

function stripDeleted(p: string): string {
  return p.endsWith(DELETED) ? p.slice(0, -DELETED.length) : p;
}

/** exe, else (exe unreadable, e.g. a hardened init) argv[0]; kernel threads: [comm]. */
function binaryOf(exe: string | undefined, kernelThread: boolean, comm: string, argv: string[]): string {
  if (exe) return stripDeleted(exe);
  if (kernelThread) return `[${comm}]`;
  return argv[0] ?? "";
}

/** Reads one process; undefined when it vanished meanwhile. */
export function readProc(procRoot: string, pid: number): ProcSnapshot | undefined {
  const dir = join(procRoot, String(pid));
  const stat = readStat(procRoot, pid);
  const statusText = readMaybe(join(dir, "status"));
  if (!stat || !statusText) return undefined;
  const status = statusFields(statusText.toString("latin1"));
  const ids = (key: string) => (status.get(key) ?? "").split(/\s+/).map(Number);
  const kernelThread = (stat.flags & PF_KTHREAD) !== 0;
  const exe = linkMaybe(join(dir, "exe"));
  const loginuid = readMaybe(join(dir, "loginuid"))?.toString().trim();
  const cwd = linkMaybe(join(dir, "cwd"));
  const argv = splitArgv(new Uint8Array(readMaybe(join(dir, "cmdline")) ?? []));
  return {
    tgid: pid,
    ppid: stat.ppid,
    startKtime: stat.startTicks * NS_PER_CLOCK_TICK,
    kernelThread,
    binary: binaryOf(exe, kernelThread, stat.comm, argv),
    argv,
    cwd: cwd === undefined ? undefined : stripDeleted(cwd),
    uid: ids("Uid")[0] ?? 0,
    euid: ids("Uid")[1] ?? 0,
    auid: loginuid === undefined || loginuid === "" ? undefined : Number(loginuid),
    caps: {
      effective: parseCapHex(status.get("CapEff") ?? ""),
      permitted: parseCapHex(status.get("CapPrm") ?? ""),
      inheritable: parseCapHex(status.get("CapInh") ?? ""),
    },
    ns: pid === 1 ? readHostNamespaces(procRoot) : readNamespaceInums(procRoot, pid),
    cgroup: cgroupPathOf(decodeText(new Uint8Array(readMaybe(join(dir, "cgroup")) ?? []))),
  };
}

export { AUID_UNSET };
