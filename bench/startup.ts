// 6. Start-up and size: from launching `dist/fgs agent` to the first event
// served to a gRPC client; the executable's size. The floor consumer and
// bpftrace, launched the same way, beside it.
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import { Agent, FGS } from "./lib/agent";
import { monoNs, waitUntil } from "./lib/clock";
import type { Options } from "./lib/options";
import { Daemon } from "./lib/proc";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { spread } from "./lib/stats";
import { bin, hasBpftrace } from "./lib/tracers";

/** Runs /bin/true every 10 ms until stopped, so there is always an event to serve. */
function poker(): () => void {
  const t = setInterval(() => void Daemon.start(["/bin/true", "startup"], "true").wait(), 10);
  return () => clearInterval(t);
}

interface AgentStart {
  listenMs: number;
  firstMs: number;
}

async function agentStart(): Promise<AgentStart> {
  const stop = poker();
  let agent: Agent | undefined;
  try {
    agent = await Agent.start();
    const listenMs = Number(monoNs() - agent.launchedNs) / 1e6;
    let first = 0n;
    const client = await agent.client((r) => (first = first || r.recvNs));
    try {
      await waitUntil(() => first > 0n, "the first event", 30_000);
    } finally {
      client.close();
    }
    return { listenMs, firstMs: Number(first - agent.launchedNs) / 1e6 };
  } finally {
    stop();
    await agent?.stop();
  }
}

async function floorStart(): Promise<number> {
  const stop = poker();
  const t0 = monoNs();
  const d = Daemon.start([bin("floor_proc"), "--first"], "floor_proc");
  try {
    const line = await d.waitLine(/^first \d+$/, 30_000);
    return (Number(line.split(" ")[1]) - Number(t0)) / 1e6;
  } finally {
    stop();
    await d.stop();
  }
}

async function bpftraceStart(): Promise<number> {
  if (!hasBpftrace()) throw new Error("bpftrace not installed");
  const stop = poker();
  const t0 = monoNs();
  const d = Daemon.start(["bpftrace", "-e", 'tracepoint:sched:sched_process_exec { printf("%d\\n", pid); exit(); }'], "bpftrace");
  try {
    await d.waitLine(/^\d+$/, 60_000);
    return Number(monoNs() - t0) / 1e6;
  } finally {
    stop();
    await d.stop();
  }
}

async function series<T>(n: number, f: () => Promise<T>): Promise<T[] | string> {
  const out: T[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await f());
    return out;
  } catch (e) {
    return reason(e);
  }
}

function ms(xs: number[] | string): string {
  return typeof xs === "string" ? na(xs) : `${spread(xs, (x) => fmt(x))} ms`;
}

/** Bytes of a file and of the shared libraries it loads (ldd). */
function footprint(path: string): string {
  if (!existsSync(path)) return na(`${path} missing`);
  const own = statSync(path).size;
  const ldd = spawnSync("ldd", [path]).stdout?.toString() ?? "";
  const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1] ?? "").filter((p) => p && existsSync(p));
  const libBytes = libs.reduce((s, p) => s + statSync(realpathSync(p)).size, 0);
  return `${fmt(own / 2 ** 20, 1)} MiB (+ ${fmt(libBytes / 2 ** 20, 1)} MiB in ${libs.length} shared libraries)`;
}

export async function startupBenchmark(o: Options): Promise<Section> {
  const agent = await series(o.rounds, agentStart);
  const floor = await series(o.rounds, floorStart);
  const bt = o.bpftrace ? await series(o.rounds, bpftraceStart) : "skipped: --no-bpftrace";
  const pick = (f: (a: AgentStart) => number): number[] | string => (typeof agent === "string" ? agent : agent.map(f));
  const bpftracePath = spawnSync("which", ["bpftrace"]).stdout?.toString().trim() || "/usr/bin/bpftrace";
  const rows: Row[] = [
    { metric: "agent: launch → listening", value: ms(pick((a) => a.listenMs)) },
    { metric: "agent: launch → first event received by a gRPC client", value: ms(pick((a) => a.firstMs)), target: "< 500 ms" },
    { metric: "floor_proc: launch → first record", value: ms(floor) },
    { metric: "bpftrace: launch → first event printed", value: ms(bt) },
    { metric: "size: dist/fgs", value: footprint(FGS) },
    { metric: "size: floor_proc", value: footprint(bin("floor_proc")) },
    { metric: "size: bpftrace", value: footprint(bpftracePath) },
  ];
  return {
    title: "Start-up and size",
    rows,
    notes: ["/bin/true runs every 10 ms throughout, so an event is always there to serve; medians (min–max) over rounds"],
  };
}
