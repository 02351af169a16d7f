// The baselines: the floor programs (bench/floor) and bpftrace.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitUntil } from "./clock";
import { cpuIdle, Daemon, kvNumber } from "./proc";
import { NotAvailable } from "./report";

export const BUILD = fileURLToPath(new URL("../build", import.meta.url));

export function bin(name: string): string {
  return join(BUILD, name);
}

export interface FloorProcResult {
  exec: number;
  clone: number;
  exit: number;
  lost: number;
  /** pid → CLOCK_MONOTONIC ns the consumer received the exec record (--latency). */
  recv: Map<number, number>;
}

/** "" wakes the consumer per record (as the agent does); "_batched" wakes
 * it only when the ring is a quarter full, the consumer polling every 10 ms. */
export type FloorVariant = "" | "_batched";

/** floor_proc: the process hooks, reserve + submit, count only. */
export class FloorProc {
  private constructor(readonly daemon: Daemon) {}

  static async start(flags: string[] = [], variant: FloorVariant = ""): Promise<FloorProc> {
    const d = Daemon.start([bin(`floor_proc${variant}`), ...flags], "floor_proc");
    await d.waitLine(/^ready$/, 15_000);
    return new FloorProc(d);
  }

  async stop(): Promise<FloorProcResult> {
    await cpuIdle(this.daemon.pid, 300);
    await this.daemon.stop("SIGINT");
    const text = this.daemon.lines.join("\n");
    const recv = new Map<number, number>();
    for (const l of this.daemon.lines) {
      const m = /^recv (\d+) (\d+)$/.exec(l);
      if (m) recv.set(Number(m[1]), Number(m[2]));
    }
    const n = (k: string): number => kvNumber(text, k);
    return { exec: n("exec"), clone: n("clone"), exit: n("exit"), lost: n("lost"), recv };
  }
}

export interface CountResult {
  records: number;
  lost: number;
  /** CLOCK_MONOTONIC ns of the first and last record received. */
  firstNs: number;
  lastNs: number;
}

function counts(text: string, recordsKey: string): CountResult {
  return {
    records: kvNumber(text, recordsKey),
    lost: kvNumber(text, "lost"),
    firstNs: kvNumber(text, "first_ns"),
    lastNs: kvNumber(text, "last_ns"),
  };
}

/** floor_write: sys_enter_write records for one executable (the C consumer). */
export class FloorWrite {
  private constructor(readonly daemon: Daemon) {}

  static async start(binary: string, fd?: number, variant: FloorVariant = ""): Promise<FloorWrite> {
    const args = [bin(`floor_write${variant}`), binary, ...(fd === undefined ? [] : [String(fd)])];
    const d = Daemon.start(args, "floor_write");
    await d.waitLine(/^ready$/, 15_000);
    return new FloorWrite(d);
  }

  async stop(): Promise<CountResult & { recordSize: number }> {
    await cpuIdle(this.daemon.pid, 300);
    await this.daemon.stop("SIGINT");
    const text = this.daemon.lines.join("\n");
    return { ...counts(text, "records"), recordSize: kvNumber(text, "record_size") };
  }
}

interface PerfEntry {
  pid: number;
  tracepoint?: string;
}

function perfList(): PerfEntry[] {
  const r = spawnSync("bpftool", ["perf", "list", "-j"]);
  if (r.status !== 0) return [];
  const parsed: unknown = JSON.parse(r.stdout.toString() || "[]");
  return Array.isArray(parsed) ? parsed.filter(isPerfEntry) : [];
}

function isPerfEntry(x: unknown): x is PerfEntry {
  return typeof x === "object" && x !== null && "pid" in x && typeof x.pid === "number";
}

/** BPF programs on tracepoints held by processes other than mine. */
export function otherTracers(mine: readonly number[] = []): string {
  const others = perfList().filter((e) => !mine.includes(e.pid));
  if (others.length === 0) return "";
  const byPid = new Map<number, string[]>();
  for (const e of others) byPid.set(e.pid, [...(byPid.get(e.pid) ?? []), e.tracepoint ?? "?"]);
  return [...byPid].map(([pid, tps]) => `pid ${pid}: ${tps.join(",")}`).join("; ");
}

export function hasBpftrace(): boolean {
  return spawnSync("bpftrace", ["--version"]).status === 0;
}

/** bpftrace with its output (-o) going to sink through a FIFO: sink drains it
 * like /dev/null while counting lines and bpftrace's "Lost N events". */
export class Bpftrace {
  private constructor(
    readonly daemon: Daemon,
    private readonly sink: Daemon,
    private readonly dir: string,
  ) {}

  static async start(program: string, tracepoint: string): Promise<Bpftrace> {
    if (!hasBpftrace()) throw new NotAvailable("bpftrace not installed");
    const dir = mkdtempSync(join(tmpdir(), "fgs-bench-bt-"));
    const fifo = join(dir, "out");
    if (spawnSync("mkfifo", [fifo]).status !== 0) throw new NotAvailable("mkfifo failed");
    const sink = Daemon.start([bin("sink"), fifo], "sink");
    const bt = Daemon.start(["bpftrace", "-o", fifo, "-e", program], "bpftrace");
    const attached = (): boolean =>
      bt.exited !== undefined || perfList().some((e) => e.pid === bt.pid && e.tracepoint === tracepoint);
    await waitUntil(attached, "bpftrace to attach", 60_000);
    if (bt.exited !== undefined) throw new NotAvailable(`bpftrace exited: ${bt.stderr.trim().slice(-200)}`);
    return new Bpftrace(bt, sink, dir);
  }

  async stop(): Promise<CountResult> {
    await cpuIdle(this.daemon.pid);
    await this.daemon.stop("SIGINT", 120_000);
    await this.sink.wait(120_000);
    rmSync(this.dir, { recursive: true, force: true });
    const text = this.sink.lines.join("\n");
    return counts(text, "lines");
  }
}

export function requireBuilt(): void {
  if (!existsSync(bin("floor_proc"))) throw new NotAvailable("bench programs not built: run scripts/bench.sh");
}
