// 4. Latency: exec → event received by a gRPC client, at 100 execs/s.
// exec_paced records CLOCK_MONOTONIC just before each fork; the client
// stamps each exec event on receipt (same clock) and they are matched by pid.
// The floor consumer does the same for its exec records.
import { settle } from "./lib/clock";
import type { Options } from "./lib/options";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { isExecOf, withAgent } from "./lib/session";
import { max, quantile } from "./lib/stats";
import { FloorProc, type FloorVariant } from "./lib/tracers";
import { execPaced } from "./lib/workloads";
import { warmExec } from "./exec";

interface Latencies {
  ms: number[];
  sent: number;
}

function match(starts: Map<number, number>, recv: Map<number, number>): Latencies {
  const ms: number[] = [];
  for (const [pid, t] of starts) {
    const r = recv.get(pid);
    if (r !== undefined) ms.push((r - t) / 1e6);
  }
  return { ms, sent: starts.size };
}

async function floorLatency(o: Options, variant: FloorVariant): Promise<Latencies> {
  const floor = await FloorProc.start(["--latency"], variant);
  try {
    const paced = await execPaced(o.latencyRate, o.latencyCount);
    const r = await floor.stop();
    return match(paced.starts, r.recv);
  } finally {
    await floor.daemon.stop();
  }
}

async function agentLatency(o: Options): Promise<Latencies> {
  const recv = new Map<number, number>();
  let warm = false;
  return withAgent(
    undefined,
    (r) => isExecOf(r, "/true", "lat "),
    async (s) => {
      s.hooks.push((r) => {
        if (isExecOf(r, "/true", "warm")) warm = true;
        else if (isExecOf(r, "/true", "lat ") && !recv.has(r.ev.pid)) recv.set(r.ev.pid, Number(r.recvNs));
      });
      await warmExec(() => warm);
      const paced = await execPaced(o.latencyRate, o.latencyCount);
      await settle(() => recv.size, paced.starts.size, 3000, 30_000);
      return match(paced.starts, recv);
    },
  );
}

function row(name: string, l: Latencies | string, target?: string): Row {
  if (typeof l === "string") return { metric: name, value: na(l), target };
  const f = (x: number): string => fmt(x, 3);
  return {
    metric: name,
    value: `p50 ${f(quantile(l.ms, 0.5))} / p99 ${f(quantile(l.ms, 0.99))} / max ${f(max(l.ms))} ms (${l.ms.length}/${l.sent} matched)`,
    target,
  };
}

async function attempt(f: () => Promise<Latencies>): Promise<Latencies | string> {
  try {
    return await f();
  } catch (e) {
    return reason(e);
  }
}

export async function latencyBenchmark(o: Options): Promise<Section> {
  const floor = await attempt(() => floorLatency(o, ""));
  const batched = await attempt(() => floorLatency(o, "_batched"));
  const agent = await attempt(() => agentLatency(o));
  return {
    title: `Latency: exec → event received (${o.latencyCount} execs at ${o.latencyRate}/s)`,
    rows: [
      row("floor (C consumer, wake-up per record)", floor),
      row("floor, batched wake-ups (10 ms poll)", batched),
      row("agent → gRPC client", agent, "p99 < 5 ms"),
    ],
    notes: [
      "start = CLOCK_MONOTONIC just before fork() in bench/c/exec_paced; receipt = CLOCK_MONOTONIC when the consumer got the exec record/event (the gRPC client stamps it in its response deserializer); so fork + exec are included in every column",
    ],
  };
}
