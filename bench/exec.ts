// 1. Exec overhead: exec_loop with no tracing, under the floor (floor_proc)
// and under the agent with one gRPC client consuming every event.
import { costBetween, describe, snapshot, type ProgCost } from "./lib/bpfstats";
import { settle, waitUntil } from "./lib/clock";
import type { Options } from "./lib/options";
import { cpuSeconds, Daemon } from "./lib/proc";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { isExecOf, withAgent } from "./lib/session";
import { median, spread } from "./lib/stats";
import { FloorProc, otherTracers, type FloorVariant } from "./lib/tracers";
import { execLoop } from "./lib/workloads";

/** One exec_loop run under one tracer. */
interface Run {
  rate: number;
  /** CPU µs per exec in the exec path (the loop and its children). */
  pathUs: number;
  /** CPU µs per exec of the consumer process (floor_proc or the agent). */
  consumerUs: number;
  /** CPU µs per exec of the gRPC client (this process). */
  clientUs: number;
  /** Of consumerUs: the JIT compiler threads' (JSC's JITWorker; 0 for C). */
  jitUs: number;
  /** Mean µs per run of each BPF program of the consumer, summed (one fork,
   * exec and exit per loop iteration): the in-kernel cost per exec. */
  bpfUs: number;
  bpfText: string;
}

type Kind = "none" | "floor" | "floor, batched wake-ups" | "agent";
/** JavaScriptCore's compiler threads in the agent. */
const JIT_THREAD = "JITWorker";
const KINDS: readonly Kind[] = ["none", "floor", "floor, batched wake-ups", "agent"];

function clientCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs the loop, charging the CPU used meanwhile by pid (its BPF programs
 * and its user space) and by this process; settled() waits for delivery. */
async function measured(n: number, pid: number | undefined, settled?: () => Promise<void>): Promise<Run> {
  const s0 = pid ? snapshot(pid) : new Map<number, ProgCost>();
  const c0 = pid ? cpuSeconds(pid) : 0;
  const j0 = pid ? cpuSeconds(pid, JIT_THREAD) : 0;
  const k0 = clientCpu();
  const r = await execLoop(n);
  await settled?.();
  const consumerUs = pid ? ((cpuSeconds(pid) - c0) * 1e6) / n : 0;
  const jitUs = pid ? ((cpuSeconds(pid, JIT_THREAD) - j0) * 1e6) / n : 0;
  const clientUs = pid ? ((clientCpu() - k0) * 1e6) / n : 0;
  const bpf = describe(pid ? costBetween(s0, snapshot(pid)) : []);
  return { rate: r.rate, pathUs: r.cpuPerOp, consumerUs, jitUs, clientUs, bpfUs: bpf.nsPerEventSum / 1000, bpfText: bpf.text };
}

async function floorRun(n: number, variant: FloorVariant, notes: string[]): Promise<Run> {
  const floor = await FloorProc.start([], variant);
  try {
    const run = await measured(n, floor.daemon.pid);
    const c = await floor.stop();
    notes.push(
      `floor${variant} run: ${c.exec} exec, ${c.clone} clone, ${c.exit} exit records (system-wide), lost ${c.lost}; BPF: ${run.bpfText}`,
    );
    return run;
  } finally {
    await floor.daemon.stop();
  }
}

/** Runs "/bin/true warm" until the client has seen one: the agent is serving events. */
export async function warmExec(seen: () => boolean): Promise<void> {
  await waitUntil(seen, "the agent's first exec event", 20_000, async () => {
    await Daemon.start(["/bin/true", "warm"], "true").wait();
  });
}

/** Loops run on the same agent after the second, the last of them measured:
 * JSC is still compiling the exec path during the second loop. */
const STEADY_LOOPS = 6;

/** Later runs on the agent of a fresh-agent run: the same loop run again
 * right after, and once STEADY_LOOPS more have run. */
interface LaterRuns {
  again: Run[];
  steady: Run[];
}

/** The agent's run on a fresh agent; the later runs on it go to later. */
async function agentRun(n: number, notes: string[], later: LaterRuns): Promise<Run> {
  let warm = false;
  let total = 0;
  return withAgent(
    undefined,
    (r) => isExecOf(r, "/true", "a b"),
    async (s) => {
      s.hooks.push((r) => {
        total++;
        if (isExecOf(r, "/true", "warm")) warm = true;
      });
      await warmExec(() => warm);
      total = 0;
      const run = await measured(n, s.agent.pid, () => settle(() => s.tally.matched, n, 3000, 60_000));
      notes.push(
        `agent run: ${s.tally.matched}/${n} exec events of the loop delivered to the client (${total} events in all); BPF: ${run.bpfText}`,
      );
      later.again.push(await measured(n, s.agent.pid, () => settle(() => s.tally.matched, 2 * n, 3000, 60_000)));
      for (let i = 1; i <= STEADY_LOOPS; i++) {
        const r = await measured(n, s.agent.pid, () => settle(() => s.tally.matched, (2 + i) * n, 3000, 60_000));
        if (i === STEADY_LOOPS) later.steady.push(r);
      }
      return run;
    },
  );
}

function runOf(kind: Kind, n: number, notes: string[], later: LaterRuns): Promise<Run> {
  if (kind === "none") return measured(n, undefined);
  if (kind === "floor") return floorRun(n, "", notes);
  if (kind === "agent") return agentRun(n, notes, later);
  return floorRun(n, "_batched", notes);
}

function ratioOf(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : `n/a (floor figure ${fmt(b, 1)} ≤ 0: in the noise)`;
}

type Runs = Map<Kind, Run[]>;

function perKindRows(runs: Runs, agentErr: string): Row[] {
  const rows: Row[] = [];
  const m = (xs: Run[], f: (r: Run) => number): number => median(xs.map(f));
  for (const k of KINDS) {
    const xs = runs.get(k) ?? [];
    if (xs.length === 0) {
      rows.push({ metric: `${k}: execs/s`, value: na(agentErr || "not run") });
      continue;
    }
    const extra = k === "none" ? "" : `; BPF ${fmt(m(xs, (r) => r.bpfUs), 2)} µs + consumer CPU ${fmt(m(xs, (r) => r.consumerUs), 1)} µs per exec`;
    rows.push({
      metric: `${k}: execs/s`,
      value: `${spread(xs.map((r) => r.rate), (x) => fmt(x))}; exec path CPU ${fmt(m(xs, (r) => r.pathUs), 0)} µs${extra}`,
    });
  }
  return rows;
}

function laterRow(metric: string, xs: Run[], floorCost: number, v: (s: string) => string): Row {
  const c = median(xs.map((r) => r.bpfUs + r.consumerUs));
  return {
    metric,
    value: v(`${ratioOf(c, floorCost)} (${fmt(c, 1)} µs, ${fmt(median(xs.map((r) => r.jitUs)), 1)} µs of it JIT; ${fmt(median(xs.map((r) => r.rate)))} execs/s)`),
  };
}

function ratioRows(runs: Runs, later: LaterRuns, agentErr: string): Row[] {
  const m = (k: Kind, f: (r: Run) => number): number => median((runs.get(k) ?? []).map(f));
  const wall = (k: Kind): number => 1e6 / m(k, (r) => r.rate);
  const cost = (k: Kind): number => m(k, (r) => r.bpfUs + r.consumerUs);
  const have = (runs.get("agent") ?? []).length > 0;
  const v = (s: string): string => (have ? s : na(agentErr));
  return [
    {
      metric: "agent ÷ floor: added wall time per exec",
      value: v(ratioOf(wall("agent") - wall("none"), wall("floor") - wall("none"))),
      target: "≤ 1.2×",
    },
    { metric: "agent ÷ floor: wall time per exec", value: v(`${(wall("agent") / wall("floor")).toFixed(3)}×`) },
    {
      metric: "agent ÷ floor: added cost per exec (BPF run time + consumer CPU)",
      value: v(
        `${ratioOf(cost("agent"), cost("floor"))} (${fmt(cost("agent"), 1)} vs ${fmt(cost("floor"), 1)} µs; ` +
          `of the agent's, ${fmt(m("agent", (r) => r.jitUs), 1)} µs in JSC's JIT compiler threads)`,
      ),
      target: "≤ 1.2×",
    },
    laterRow("the same, loop run again on the same agent", later.again, cost("floor"), v),
    laterRow(`the same after ${STEADY_LOOPS} more loops on that agent`, later.steady, cost("floor"), v),
    { metric: "gRPC client CPU per exec (bun + grpc-js)", value: v(`${fmt(m("agent", (r) => r.clientUs), 1)} µs`) },
  ];
}

export async function execBenchmark(o: Options): Promise<Section> {
  const runs: Runs = new Map(KINDS.map((k) => [k, []]));
  const later: LaterRuns = { again: [], steady: [] };
  const notes: string[] = [];
  let agentErr = "";
  const others = otherTracers();
  if (others) notes.push(`BPF programs of other processes were attached during the run (in every column): ${others}`);
  for (let i = 0; i < o.rounds; i++) {
    for (const k of KINDS) {
      if (k === "agent" && agentErr) continue;
      try {
        runs.get(k)?.push(await runOf(k, o.execs, i === 0 ? notes : [], later));
      } catch (e) {
        if (k !== "agent") throw e;
        agentErr = reason(e);
      }
    }
  }
  notes.push(
    "medians over rounds (min–max); each round runs the columns back to back; exec path CPU = user + system of the loop and its children (getrusage); " +
      "consumer CPU from /proc/<pid>/task/*/schedstat; BPF = mean run time per program run (BPF_ENABLE_STATS), summed over fork, exec and exit",
  );
  return {
    title: `Exec overhead (fork+exec /bin/true a b × ${o.execs})`,
    rows: [...perKindRows(runs, agentErr), ...ratioRows(runs, later, agentErr)],
    notes,
  };
}
