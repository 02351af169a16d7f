// 7. Fan-out: 50 concurrent GetEvents streams, each its own client process
// (bench/clients/fanout-client.mjs under Node, like 50 `tetra getevents`),
// while exec_paced runs 1,000 execs/s: latency exec → receipt per stream.
import { fileURLToPath } from "node:url";
import { Agent } from "./lib/agent";
import { sleep } from "./lib/clock";
import type { Options } from "./lib/options";
import { cpuSeconds, Daemon } from "./lib/proc";
import { fmt, type Row, type Section } from "./lib/report";
import { max, quantile } from "./lib/stats";
import { execPaced } from "./lib/workloads";

const CLIENT = fileURLToPath(new URL("./clients/fanout-client.mjs", import.meta.url));
const STREAMS = 50;
const RATE = 1000;

interface StreamResult {
  ms: number[];
  errors: string[];
}

function latencies(starts: Map<number, number>, d: Daemon): StreamResult {
  const ms: number[] = [];
  const errors = d.lines.filter((l) => l.startsWith("error "));
  for (const l of d.lines) {
    const m = /^recv (\d+) (\d+)$/.exec(l);
    const start = m ? starts.get(Number(m[1])) : undefined;
    if (m && start !== undefined) ms.push((Number(m[2]) - start) / 1e6);
  }
  return { ms, errors };
}

function received(d: Daemon): number {
  for (let i = d.lines.length - 1; i >= 0; i--) {
    const m = /^count (\d+)$/.exec(d.lines[i] ?? "");
    if (m) return Number(m[1]);
  }
  return 0;
}

/** Waits until every client has received all n execs, or (at most 60 s)
 * until no client's count has moved for 3 s: 50 clients on two cores can
 * trail the agent by seconds, and a client stopped early reports too few. */
async function drained(clients: readonly Daemon[], n: number): Promise<void> {
  let last = "";
  let since = Date.now();
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    await sleep(250);
    const counts = clients.map(received);
    if (counts.every((c) => c >= n)) return;
    const key = counts.join(",");
    if (key !== last) [last, since] = [key, Date.now()];
    else if (Date.now() - since > 3000) return;
  }
}

export async function fanoutBenchmark(o: Options): Promise<Section> {
  const count = Math.max(1000, Math.min(o.execs, 5000));
  const agent = await Agent.start(undefined);
  const clients: Daemon[] = [];
  try {
    for (let i = 0; i < STREAMS; i++) clients.push(Daemon.start(["node", CLIENT, agent.address], `fanout client ${i}`));
    await Promise.all(clients.map((c) => c.waitLine(/^ready$/, 30_000)));
    await sleep(500);
    const cpu0 = cpuSeconds(agent.pid);
    const clientCpu0 = clients.reduce((sum, c) => sum + cpuSeconds(c.pid), 0);
    const t0 = performance.now();
    const paced = await execPaced(RATE, count);
    const wallS = (performance.now() - t0) / 1000;
    const agentCpuPct = ((cpuSeconds(agent.pid) - cpu0) / wallS) * 100;
    const clientCpuPct = ((clients.reduce((sum, c) => sum + cpuSeconds(c.pid), 0) - clientCpu0) / wallS) * 100;
    await drained(clients, paced.starts.size);
    const counted = clients.map(received);
    await Promise.all(clients.map((c) => c.stop("SIGTERM")));
    const results = clients.map((c) => latencies(paced.starts, c));
    const status = await agent.status();
    const p99s = results.map((r) => quantile(r.ms, 0.99));
    const all = results.flatMap((r) => r.ms);
    const complete = results.filter((r) => r.ms.length === paced.starts.size).length;
    const rows: Row[] = [
      {
        metric: "streams complete",
        value: `${complete}/${STREAMS} received all ${fmt(paced.starts.size)} execs (per stream: ${fmt(Math.min(...counted))}–${fmt(Math.max(...counted))} received, ${fmt(Math.min(...results.map((r) => r.ms.length)))}–${fmt(Math.max(...results.map((r) => r.ms.length)))} matched)`,
      },
      { metric: "p99 per stream (worst / median stream)", value: `${fmt(max(p99s), 2)} / ${fmt(quantile(p99s, 0.5), 2)} ms`, target: "every stream < 50 ms" },
      { metric: "CPU while the execs ran", value: `agent ${fmt(agentCpuPct, 1)}%, the 50 clients ${fmt(clientCpuPct, 1)}% of one core (2 cores in all)` },
      { metric: "all streams", value: `p50 ${fmt(quantile(all, 0.5), 2)} / p99 ${fmt(quantile(all, 0.99), 2)} / max ${fmt(max(all), 2)} ms` },
    ];
    const errors = results.flatMap((r) => r.errors);
    return {
      title: `Fan-out: ${STREAMS} streams, ${fmt(count)} execs at ${RATE}/s`,
      rows,
      notes: [
        "each client is its own Node process reading one GetEvents stream; start = CLOCK_MONOTONIC before fork() in exec_paced, receipt = CLOCK_MONOTONIC in the client",
        `agent status afterwards: ${status.slice(0, 400)}`,
        ...(errors.length ? [`client errors: ${errors.slice(0, 3).join(" | ")}`] : []),
      ],
    };
  } finally {
    for (const c of clients) await c.stop("SIGKILL", 1000);
    await agent.stop();
  }
}
