// 2. Event throughput and loss: write_loop (1-byte writes to /dev/null) with
// a policy posting every call, against the C consumer (floor_write, count
// only, identical record size) and bpftrace printing the same events.
import type { Options } from "./lib/options";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { median, spread } from "./lib/stats";
import { otherTracers } from "./lib/tracers";
import { agentWrites, bpftraceWrites, expectedAll, floorWrites, noneWrites, type WriteRun } from "./lib/writes";

type Kind = "none" | "C consumer" | "C consumer, batched wake-ups" | "bpftrace" | "agent";
const KINDS: readonly Kind[] = ["none", "C consumer", "C consumer, batched wake-ups", "bpftrace", "agent"];

function runOf(k: Kind, o: Options): Promise<WriteRun> {
  const n = o.writes;
  const exp = expectedAll(n);
  if (k === "none") return noneWrites(n, 0);
  if (k === "C consumer") return floorWrites(n, 0, exp, undefined, "");
  if (k === "C consumer, batched wake-ups") return floorWrites(n, 0, exp, undefined, "_batched");
  if (k === "bpftrace") return bpftraceWrites(n, 0, exp);
  return agentWrites(n, 0, exp, o.tmp, false);
}

type Runs = Map<Kind, WriteRun[]>;

function kindRow(k: Kind, xs: WriteRun[], why: string): Row {
  if (xs.length === 0) return { metric: k, value: na(why || "not run") };
  const m = (f: (r: WriteRun) => number): number => median(xs.map(f));
  const writes = `${spread(xs.map((r) => r.loop.rate), (x) => fmt(x))} writes/s (loop CPU ${fmt(m((r) => r.loop.cpuPerOp))} ns/write)`;
  if (k === "none") return { metric: k, value: writes };
  const lost = xs.map((r) => r.expected - r.delivered);
  const cpu = m((r) => (r.consumerCpuS / r.wallS) * 100);
  return {
    metric: k,
    value:
      `${writes}; delivered ${spread(xs.map((r) => r.deliveredPerS), (x) => fmt(x))} events/s; ` +
      `lost ${lost.map((x) => fmt(x)).join(", ")} of ${fmt(xs[0]?.expected ?? 0)}; ` +
      `BPF ${fmt(m((r) => r.bpfNsPerWrite))} ns/write; consumer CPU ${fmt(cpu)}%` +
      (k === "agent"
        ? `; ${fmt(m((r) => (r.consumerCpuS * 1e6) / Math.max(1, r.delivered)), 1)} µs agent CPU per delivered event, ` +
          `${fmt(m((r) => (r.consumerCpuS * 1e6) / Math.max(1, r.expected)), 1)} µs per event produced; gRPC client CPU ${fmt(m((r) => (r.clientCpuS / r.wallS) * 100))}%`
        : ""),
  };
}

function ratioRows(runs: Runs, why: Map<Kind, string>): Row[] {
  const med = (k: Kind, f: (r: WriteRun) => number): number => median((runs.get(k) ?? []).map(f));
  const agent = runs.get("agent") ?? [];
  const v = (k: Kind, f: () => string): string => {
    if (agent.length === 0) return na("agent part did not run, see above");
    if ((runs.get(k) ?? []).length === 0) return na(`${k}: ${why.get(k) || "not run"}`);
    return f();
  };
  const r = (k: Kind): string =>
    `${(med("agent", (x) => x.deliveredPerS) / med(k, (x) => x.deliveredPerS)).toFixed(2)}× (events/s delivered)`;
  const lost = agent.map((x) => x.expected - x.delivered);
  return [
    { metric: "agent ÷ bpftrace", value: v("bpftrace", () => r("bpftrace")), target: "≥ 1×" },
    { metric: "agent ÷ C consumer", value: v("C consumer", () => r("C consumer")), target: "≥ 0.5×" },
    { metric: "agent events lost", value: v("agent", () => lost.map((x) => fmt(x)).join(", ")), target: "0" },
    { metric: "agent writes/s ÷ no tracing", value: v("none", () => `${(med("agent", (x) => x.loop.rate) / med("none", (x) => x.loop.rate)).toFixed(3)}×`) },
  ];
}

export async function throughputBenchmark(o: Options): Promise<Section> {
  const runs: Runs = new Map(KINDS.map((k) => [k, []]));
  const why = new Map<Kind, string>();
  const notes: string[] = [];
  const others = otherTracers();
  if (others) notes.push(`BPF programs of other processes were attached during the run: ${others}`);
  if (!o.bpftrace) why.set("bpftrace", "skipped: --no-bpftrace");
  for (let i = 0; i < o.rounds; i++) {
    for (const k of KINDS) {
      if (why.has(k) || (k === "bpftrace" && i > 0)) continue;
      try {
        const r = await runOf(k, o);
        runs.get(k)?.push(r);
        if (r.note) notes.push(`${k}, round ${i + 1}: ${r.note}`);
        if (i === 0 && k !== "none") notes.push(`${k}, BPF programs: ${r.bpfText}`);
      } catch (e) {
        if (k === "none") throw e;
        why.set(k, reason(e));
      }
    }
  }
  notes.push(
    `${fmt(o.writes)} 1-byte writes per run (+1 write of the loop's summary line, also an event); medians (min–max) over rounds, bpftrace once (it is slow); ` +
      `record size ${process.env.FLOOR_WRITE_REC_SIZE ?? "96"} bytes in the C consumer, as the agent's (gen_record + 2 integer args); ` +
      "bpftrace output (-o) goes to a FIFO drained and counted by bench/c/sink (it stands for /dev/null); delivered events/s = events ÷ (last receipt − loop start); consumer CPU % of one core over the same span",
  );
  return {
    title: "Event throughput and loss (write policy on write_loop)",
    rows: [...KINDS.map((k) => kindRow(k, runs.get(k) ?? [], why.get(k) ?? "")), ...ratioRows(runs, why)],
    notes,
  };
}
