// The workload programs (bench/c), run and timed.
import { monoNs } from "./clock";
import { Daemon, kvNumber, lastLines } from "./proc";
import { bin } from "./tracers";

export interface LoopResult {
  /** Operations per second as the program measured them. */
  rate: number;
  seconds: number;
  /** CPU (user + system) of the loop per operation, its children included:
   * µs per exec for exec_loop, ns per write for write_loop. */
  cpuPerOp: number;
  pid: number;
  /** CLOCK_MONOTONIC ns just before the spawn and after the exit. */
  startNs: number;
  endNs: number;
}

/** Spawns cmd; onPid runs synchronously with the child's pid, before any
 * event about it can be handled. */
async function timed(cmd: string[], rateKey: string, cpuKey: string, onPid?: (pid: number) => void): Promise<LoopResult> {
  const startNs = Number(monoNs());
  const d = Daemon.start(cmd, cmd[0] ?? "workload");
  onPid?.(d.pid);
  await d.wait(600_000);
  const endNs = Number(monoNs());
  const text = d.lines.join("\n");
  if (d.exited !== 0) throw new Error(`${cmd.join(" ")} failed (${d.exited}): ${lastLines(d.stderr)}`);
  const n = (k: string): number => kvNumber(text, k);
  return { rate: n(rateKey), seconds: n("seconds"), cpuPerOp: n(cpuKey), pid: d.pid, startNs, endNs };
}

export function execLoop(n: number): Promise<LoopResult> {
  return timed([bin("exec_loop"), String(n)], "execs_per_s", "cpu_us_per_exec");
}

export const WRITE_LOOP = bin("write_loop");

/** n 1-byte writes; with every > 0, one in every goes to fd 100. The
 * program's summary line is one more write() (to its stdout pipe). */
export function writeLoop(n: number, every = 0, onPid?: (pid: number) => void): Promise<LoopResult> {
  return timed([WRITE_LOOP, String(n), String(every)], "writes_per_s", "cpu_ns_per_write", onPid);
}

export interface PacedResult {
  /** pid → CLOCK_MONOTONIC ns just before its fork. */
  starts: Map<number, number>;
}

/** count execs of "/bin/true lat <i>" at rate per second. */
export async function execPaced(rate: number, count: number): Promise<PacedResult> {
  const d = Daemon.start([bin("exec_paced"), String(rate), String(count)], "exec_paced");
  await d.wait(600_000);
  const starts = new Map<number, number>();
  for (const l of d.lines) {
    const m = /^start (\d+) (\d+)$/.exec(l);
    if (m) starts.set(Number(m[1]), Number(m[2]));
  }
  return { starts };
}
