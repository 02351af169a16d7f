// Child processes of the benchmarks and what /proc says about them.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { sleep } from "./clock";

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs cmd to its end, collecting its output. */
export function run(cmd: readonly string[], env?: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = cmd;
    if (file === undefined) return reject(new Error("empty command"));
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** "a=1 b=x" → {a: "1", b: "x"} (the C programs' summary lines). */
export function parseKV(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of line.trim().split(/\s+/)) {
    const i = part.indexOf("=");
    if (i > 0) m.set(part.slice(0, i), part.slice(i + 1));
  }
  return m;
}

/** The number under key in the last summary line of text that has it. */
export function kvNumber(text: string, key: string): number {
  const lines = text.trim().split("\n").reverse();
  for (const line of lines) {
    const v = parseKV(line).get(key);
    if (v !== undefined) return Number(v);
  }
  return Number.NaN;
}

const live = new Set<Daemon>();

/** A long-running child whose stdout is kept line by line. */
export class Daemon {
  readonly lines: string[] = [];
  stderr = "";
  exited: number | null | undefined = undefined;
  private partial = "";
  private readonly done: Promise<void>;

  constructor(readonly child: ChildProcess, readonly name: string) {
    child.stdout?.on("data", (d: Buffer) => this.take(d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    live.add(this);
    this.done = new Promise((resolve) => {
      child.on("close", (code) => {
        live.delete(this);
        this.exited = code;
        if (this.partial) this.lines.push(this.partial);
        resolve();
      });
      child.on("error", (e) => {
        live.delete(this);
        this.stderr += String(e);
        this.exited = -1;
        resolve();
      });
    });
  }

  /** Ends every child still running (the driver is being interrupted). */
  static killAll(): void {
    for (const d of live) d.child.kill("SIGTERM");
  }

  static start(cmd: readonly string[], name: string, stdin: "ignore" | "pipe" = "ignore"): Daemon {
    const [file, ...args] = cmd;
    if (file === undefined) throw new Error("empty command");
    const child = spawn(file, args, { stdio: [stdin, "pipe", "pipe"] });
    return new Daemon(child, name);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private take(s: string): void {
    const parts = (this.partial + s).split("\n");
    this.partial = parts.pop() ?? "";
    for (const p of parts) this.lines.push(p);
  }

  /** Resolves with the first line matching re, or throws after timeoutMs. */
  async waitLine(re: RegExp, timeoutMs: number): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.exited !== undefined) throw new Error(`${this.name} exited (${this.exited}): ${lastLines(this.stderr)}`);
      if (Date.now() > end) throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms: ${lastLines(this.stderr)}`);
      await sleep(5);
    }
  }

  /** Sends signal (once) and waits for the exit, escalating to SIGKILL. */
  async stop(signal: NodeJS.Signals = "SIGINT", graceMs = 15_000): Promise<void> {
    if (this.exited === undefined) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.done;
    clearTimeout(timer);
  }

  /** Waits for the exit without signalling, SIGKILL after graceMs. */
  async wait(graceMs = 15_000): Promise<void> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.done;
    clearTimeout(timer);
  }

  write(s: string): void {
    this.child.stdin?.write(s);
  }
}

export function lastLines(s: string, n = 3): string {
  return s.trim().split("\n").slice(-n).join(" | ");
}

export interface Memory {
  rssKb: number;
  hwmKb: number;
  /** RSS split: anonymous (heaps, JIT) and file-backed (the executable, libraries). */
  anonKb: number;
  fileKb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM"), anonKb: field("RssAnon"), fileKb: field("RssFile") };
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds (user + system, all threads, ended ones too) from
 * /proc/<pid>/stat: 10 ms ticks. */
export function statCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Per process, every thread seen so far: its name and the most CPU read
 * for it. A thread that ends (JSC's compiler threads end when idle) keeps the
 * time it was last seen with, so a difference of two readings never goes
 * negative; only what it ran between its last reading and its end is missed. */
const threadsSeen = new Map<number, Map<string, { name: string; ns: number }>>();

/** CPU seconds pid's threads have run so far (only those named thread, if
 * given), from /proc/<pid>/task/<tid>/schedstat (ns resolution;
 * /proc/<pid>/stat counts 10 ms ticks); ended threads as last seen. */
export function cpuSeconds(pid: number, thread?: string): number {
  let seen = threadsSeen.get(pid);
  if (!seen) threadsSeen.set(pid, (seen = new Map()));
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      // Read each time: a thread names itself after it starts.
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      seen.set(tid, { name, ns: Math.max(seen.get(tid)?.ns ?? 0, ns) });
    } catch {
      // the thread ended meanwhile
    }
  }
  let ns = 0;
  for (const t of seen.values()) if (thread === undefined || t.name === thread) ns += t.ns;
  return ns / 1e9;
}

/** Waits until pid has caught up: less than 2% of a core used over quietMs
 * (a consumer draining its buffers keeps a core busy; a caught-up one only
 * sees the machine's background events), at most capMs. */
export async function cpuIdle(pid: number, quietMs = 500, capMs = 60_000): Promise<void> {
  const end = Date.now() + capMs;
  while (Date.now() < end) {
    let used: number;
    try {
      const c0 = cpuSeconds(pid);
      await sleep(quietMs);
      used = cpuSeconds(pid) - c0;
    } catch {
      return;
    }
    if (used < (quietMs / 1000) * 0.02) return;
  }
}
