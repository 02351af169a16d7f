// Kernel-side cost of each tracer: BPF run-time statistics (run_time_ns and
// run_cnt per program) of the programs a process holds, from bpftool while
// bench/c/bpf_stats keeps the statistics switched on.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Daemon } from "./proc";
import { bin } from "./tracers";

export interface ProgCost {
  name: string;
  ns: number;
  runs: number;
}

let stats: Daemon | undefined;

/** Switches the statistics on for the rest of this process's life. */
export async function enableBpfStats(): Promise<string> {
  if (stats) return "";
  try {
    const d = Daemon.start([bin("bpf_stats")], "bpf_stats", "pipe");
    await d.waitLine(/^ready$/, 5000);
    stats = d;
    return "";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export async function disableBpfStats(): Promise<void> {
  stats?.child.stdin?.end();
  await stats?.wait(5000);
  stats = undefined;
}

/** IDs of the BPF programs process pid holds (program fds and links). */
export function progIdsOf(pid: number): Set<number> {
  const ids = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return ids;
  }
  for (const fd of fds) {
    let info = "";
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    const m = /^prog_id:\s+(\d+)/m.exec(info);
    if (m) ids.add(Number(m[1]));
  }
  return ids;
}

interface ProgJson {
  id: number;
  name?: string;
  run_time_ns?: number;
  run_cnt?: number;
}

function isProg(x: unknown): x is ProgJson {
  return typeof x === "object" && x !== null && "id" in x && typeof x.id === "number";
}

/** Cumulative cost of the programs pid holds, by program id. */
export function snapshot(pid: number): Map<number, ProgCost> {
  const ids = progIdsOf(pid);
  const out = new Map<number, ProgCost>();
  if (ids.size === 0) return out;
  const r = spawnSync("bpftool", ["prog", "show", "-j"]);
  const parsed: unknown = r.status === 0 ? JSON.parse(r.stdout.toString() || "[]") : [];
  if (!Array.isArray(parsed)) return out;
  for (const p of parsed.filter(isProg)) {
    if (ids.has(p.id)) out.set(p.id, { name: p.name ?? String(p.id), ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 });
  }
  return out;
}

/** Per-program cost between two snapshots; programs that did not run are left out. */
export function costBetween(a: Map<number, ProgCost>, b: Map<number, ProgCost>): ProgCost[] {
  const out: ProgCost[] = [];
  for (const [id, after] of b) {
    const before = a.get(id) ?? { name: after.name, ns: 0, runs: 0 };
    const runs = after.runs - before.runs;
    if (runs > 0) out.push({ name: after.name, ns: after.ns - before.ns, runs });
  }
  return out;
}

/** "fgs_exec 3.1 µs × 5,012; fgs_fork …" and the mean ns per run summed over programs. */
export function describe(costs: readonly ProgCost[]): { text: string; nsPerEventSum: number } {
  const parts = costs.map((c) => `${c.name} ${(c.ns / c.runs / 1000).toFixed(2)} µs × ${c.runs.toLocaleString("en-US")}`);
  const sum = costs.reduce((s, c) => s + c.ns / c.runs, 0);
  return { text: parts.join("; ") || "no program ran", nsPerEventSum: sum };
}
