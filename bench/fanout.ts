// 7. Fan-out: 50 concurrent GetEvents streams, each its own client process,
// while exec_paced runs 1,000 execs/s: latency exec → receipt per stream.
// Run once per client kind: bench/clients/fanout-client.mjs under Node, and
// bench/clients/fanout-go built with grpc-go (closest to the 50
// `tetra getevents`). Both print the same lines.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Agent } from "./lib/agent";
import { sleep } from "./lib/clock";
import type { FanoutClient, Options } from "./lib/options";
import { cpuSeconds, Daemon } from "./lib/proc";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { max, quantile } from "./lib/stats";
import { bin } from "./lib/tracers";
import { execPaced } from "./lib/workloads";

const NODE_CLIENT = fileURLToPath(new URL("./clients/fanout-client.mjs", import.meta.url));
const STREAMS = 50;
const RATE = 1000;

interface ClientKind {
  /** The command of one client for an agent address, or why it cannot run here. */
  prepare(): ((address: string) => string[]) | { missing: string };
  note: string;
}

const KINDS: Record<FanoutClient, ClientKind> = {
  node: {
    prepare: () => (address) => ["node", NODE_CLIENT, address],
    note: "node: each client is a Node process (bench/clients/fanout-client.mjs) reading one GetEvents stream with raw node:http2 and 16 MiB windows, decoding only pid and arguments",
  },
  "grpc-go": {
    prepare: () => {
      const exe = bin("fanout-go");
      if (existsSync(exe)) return (address) => [exe, address];
      const why = bin("fanout-go.why");
      return { missing: existsSync(why) ? readFileSync(why, "utf8").trim() : "bench/build/fanout-go not built (scripts/bench.sh builds it)" };
    },
    note: "grpc-go: each client is a Go process (bench/clients/fanout-go, Debian's grpc-go with its default windows, like `tetra getevents`) reading one GetEvents stream through a raw-bytes codec, decoding only pid and arguments",
  },
};

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

interface Run {
  rows: Row[];
  notes: string[];
}

/** One fan-out run with STREAMS clients of one kind on a fresh agent. */
async function fanoutRun(argv: (address: string) => string[], label: string, count: number): Promise<Run> {
  const agent = await Agent.start(undefined);
  const clients: Daemon[] = [];
  try {
    for (let i = 0; i < STREAMS; i++) clients.push(Daemon.start(argv(agent.address), `${label} fanout client ${i}`));
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
        metric: `${label}: streams complete`,
        value: `${complete}/${STREAMS} received all ${fmt(paced.starts.size)} execs (per stream: ${fmt(Math.min(...counted))}–${fmt(Math.max(...counted))} received, ${fmt(Math.min(...results.map((r) => r.ms.length)))}–${fmt(Math.max(...results.map((r) => r.ms.length)))} matched)`,
      },
      { metric: `${label}: p99 per stream (worst / median stream)`, value: `${fmt(max(p99s), 2)} / ${fmt(quantile(p99s, 0.5), 2)} ms`, target: "every stream < 50 ms" },
      { metric: `${label}: CPU while the execs ran`, value: `agent ${fmt(agentCpuPct, 1)}%, the ${STREAMS} clients ${fmt(clientCpuPct, 1)}% of one core (2 cores in all)` },
      { metric: `${label}: all streams`, value: `p50 ${fmt(quantile(all, 0.5), 2)} / p99 ${fmt(quantile(all, 0.99), 2)} / max ${fmt(max(all), 2)} ms` },
    ];
    const errors = results.flatMap((r) => r.errors);
    return {
      rows,
      notes: [`${label}: agent status afterwards: ${status.slice(0, 300)}`, ...(errors.length ? [`${label}: client errors: ${errors.slice(0, 3).join(" | ")}`] : [])],
    };
  } finally {
    for (const c of clients) await c.stop("SIGKILL", 1000);
    await agent.stop();
  }
}

/** A run of one client kind, or a row saying why it did not run. */
async function runKind(label: FanoutClient, count: number): Promise<Run> {
  const argv = KINDS[label].prepare();
  if (typeof argv !== "function") return { rows: [{ metric: `${label}: result`, value: na(`not run: ${argv.missing}`) }], notes: [] };
  try {
    return await fanoutRun(argv, label, count);
  } catch (e) {
    return { rows: [{ metric: `${label}: result`, value: na(`failed: ${reason(e)}`) }], notes: [] };
  }
}

export async function fanoutBenchmark(o: Options): Promise<Section> {
  const count = Math.max(1000, Math.min(o.execs, 5000));
  const runs: Run[] = [];
  for (const label of o.fanoutClients) runs.push(await runKind(label, count));
  return {
    title: `Fan-out: ${STREAMS} streams, ${fmt(count)} execs at ${RATE}/s, per client kind (${o.fanoutClients.join(", ")})`,
    rows: runs.flatMap((r) => r.rows),
    notes: [
      "each client is its own process reading one GetEvents stream; start = CLOCK_MONOTONIC before fork() in exec_paced, receipt = CLOCK_MONOTONIC in the client; each kind runs on a fresh agent, one kind after the other",
      ...o.fanoutClients.map((k) => KINDS[k].note),
      ...runs.flatMap((r) => r.notes),
    ],
  };
}
