// 3. In-kernel filtering: the write load with a selector that rejects all
// but 0.1% of the calls (write_loop sends every 1000th write to fd 100; the
// policy's matchArgs keeps fd 100 only). Agent CPU % and writes/s relative
// to no tracing; the C consumer and bpftrace with the same filter beside it.
import type { Options } from "./lib/options";
import { MARK_FD } from "./lib/policy";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { median, spread } from "./lib/stats";
import { otherTracers } from "./lib/tracers";
import { agentWrites, bpftraceWrites, floorWrites, noneWrites, type WriteRun } from "./lib/writes";

const EVERY = 1000;
/** Loops run on the same agent after the first two before the steady figure
 * is read: JSC keeps compiling the event path over the first ~10,000 events. */
const STEADY_LOOPS = 10;

type Kind = "none" | "C consumer" | "bpftrace" | "agent" | "agent, --event-batch-max-delay 100";
const KINDS: readonly Kind[] = ["none", "C consumer", "bpftrace", "agent", "agent, --event-batch-max-delay 100"];

function runOf(k: Kind, o: Options): Promise<WriteRun> {
  const n = o.writes;
  const exp = Math.floor(n / EVERY);
  if (k === "none") return noneWrites(n, EVERY);
  if (k === "C consumer") return floorWrites(n, EVERY, exp, MARK_FD, "");
  if (k === "bpftrace") return bpftraceWrites(n, EVERY, exp, MARK_FD);
  if (k === "agent") return agentWrites(n, EVERY, exp, o.tmp, true, undefined, [], STEADY_LOOPS);
  return agentWrites(n, EVERY, exp, o.tmp, true, undefined, ["--event-batch-max-delay", "100"], STEADY_LOOPS);
}

function cpuPct(r: WriteRun): number {
  return (r.consumerCpuS / r.wallS) * 100;
}

function kindRow(k: Kind, xs: WriteRun[], none: number, why: string): Row {
  if (xs.length === 0) return { metric: k, value: na(why || "not run") };
  const m = (f: (r: WriteRun) => number): number => median(xs.map(f));
  const rate = `${spread(xs.map((r) => r.loop.rate), (x) => fmt(x))} writes/s`;
  if (k === "none") return { metric: k, value: rate };
  const idle = k.startsWith("agent") ? `, ${fmt(m((r) => r.idleCpuPct ?? Number.NaN), 2)}% when idle` : "";
  return {
    metric: k,
    value:
      `${rate} (${(m((r) => r.loop.rate) / none).toFixed(3)}× no tracing); CPU ${fmt(m(cpuPct), 2)}%${idle}; ` +
      `BPF ${fmt(m((r) => r.bpfNsPerWrite))} ns/write; delivered ${xs.map((r) => `${r.delivered}/${r.expected}`).join(", ")}`,
  };
}

export async function filteringBenchmark(o: Options): Promise<Section> {
  const runs = new Map<Kind, WriteRun[]>(KINDS.map((k) => [k, []]));
  const why = new Map<Kind, string>();
  const notes: string[] = [];
  const others = otherTracers();
  if (others) notes.push(`BPF programs of other processes were attached during the run: ${others}`);
  if (!o.bpftrace) why.set("bpftrace", "skipped: --no-bpftrace");
  for (let i = 0; i < o.rounds; i++) {
    for (const k of KINDS) {
      if (why.has(k)) continue;
      try {
        const r = await runOf(k, o);
        runs.get(k)?.push(r);
        if (r.note && i === 0) notes.push(`${k}: ${r.note}`);
        if (i === 0 && k !== "none") notes.push(`${k}, BPF programs: ${r.bpfText}`);
      } catch (e) {
        if (k === "none") throw e;
        why.set(k, reason(e));
      }
    }
  }
  const none = median((runs.get("none") ?? []).map((r) => r.loop.rate));
  const agent = runs.get("agent") ?? [];
  const batched = runs.get("agent, --event-batch-max-delay 100") ?? [];
  const rows = KINDS.map((k) => kindRow(k, runs.get(k) ?? [], none, why.get(k) ?? ""));
  rows.push(
    {
      metric: "agent CPU under the filtered-out load",
      value: agent.length
        ? `${fmt(median(agent.map(cpuPct)), 2)}% of one core (/proc/<pid>/stat ticks: ${fmt(median(agent.map((r) => (r.statCpuS / r.wallS) * 100)), 1)}%); ` +
          `the same loop again on the same agent: ${fmt(median(agent.map((r) => r.warmCpuPct ?? Number.NaN)), 2)}%; ` +
          `after ${STEADY_LOOPS} more loops: ${fmt(median(agent.map((r) => r.steadyCpuPct ?? Number.NaN)), 2)}%`
        : na("agent part did not run, see above"),
      target: "< 1%",
    },
    {
      metric: "the same with --event-batch-max-delay 100",
      value: batched.length
        ? `${fmt(median(batched.map(cpuPct)), 2)}% of one core; again on the same agent: ${fmt(median(batched.map((r) => r.warmCpuPct ?? Number.NaN)), 2)}%; ` +
          `after ${STEADY_LOOPS} more loops: ${fmt(median(batched.map((r) => r.steadyCpuPct ?? Number.NaN)), 2)}%`
        : na("did not run, see above"),
    },
    {
      metric: "agent writes/s ÷ no tracing",
      value: agent.length ? `${(median(agent.map((r) => r.loop.rate)) / none).toFixed(3)}×` : na("agent part did not run, see above"),
    },
  );
  notes.push(
    `${fmt(o.writes)} 1-byte writes, every ${EVERY}th to fd ${MARK_FD}: the filter keeps ${fmt(o.writes / EVERY)} (0.1%); ` +
      "CPU = the consumer process's run time (schedstat of its threads, ns resolution) ÷ the loop's wall time (BPF programs run in the writer and count in its time, shown as BPF ns/write)",
  );
  return { title: "In-kernel filtering (0.1% of writes pass)", rows, notes };
}
