// 7. Fan-out: 50 concurrent GetEvents streams, each its own client process
// (bench/clients/fanout-client.mjs under Node, like 50 `tetra getevents`),
// while exec_paced runs 1,000 execs/s: latency exec → receipt per stream.
import { fileURLToPath } from "node:url";
import { Agent } from "./lib/agent";
import { sleep } from "./lib/clock";
import type { Options } from "./lib/options";
import { Daemon } from "./lib/proc";
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

/** Waits (at most 30 s) until every stream's queue is empty and what the
 * agent delivered stops changing: then the clients have read everything. */
async function drained(agent: Agent): Promise<void> {
  let last = "";
  for (let i = 0; i < 60; i++) {
    await sleep(500);
    const st = await agent.status();
    const streams = st.match(/streams=.*$/)?.[0] ?? "";
    if (streams === last && !/queued=[1-9]/.test(streams)) return;
    last = streams;
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
    const paced = await execPaced(RATE, count);
    await drained(agent);
    await Promise.all(clients.map((c) => c.stop("SIGTERM")));
    const results = clients.map((c) => latencies(paced.starts, c));
    const status = await agent.status();
    const p99s = results.map((r) => quantile(r.ms, 0.99));
    const all = results.flatMap((r) => r.ms);
    const complete = results.filter((r) => r.ms.length === paced.starts.size).length;
    const rows: Row[] = [
      { metric: "streams complete", value: `${complete}/${STREAMS} received all ${fmt(paced.starts.size)} execs` },
      { metric: "p99 per stream (worst / median stream)", value: `${fmt(max(p99s), 2)} / ${fmt(quantile(p99s, 0.5), 2)} ms`, target: "every stream < 50 ms" },
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
