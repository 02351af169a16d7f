// 3. In-kernel filtering: the write load with a selector that rejects all
// but 0.1% of the calls (write_loop sends every 1000th write to fd 100; the
// policy's matchArgs keeps fd 100 only). Agent CPU % and writes/s relative
// to no tracing; the C consumer and bpftrace with the same filter beside it.
// The same load at 1 in 5,000 shows the agent where records come too sparsely
// to batch at the default longest wait (~350 events/s).
import type { Options } from "./lib/options";
import { MARK_FD } from "./lib/policy";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { median, spread } from "./lib/stats";
import { otherTracers } from "./lib/tracers";
import { agentWrites, bpftraceWrites, floorWrites, noneWrites, type WriteRun } from "./lib/writes";
import { batchFloor, type BatchFloor } from "./lib/batch-floor";
import { DEFAULT_LINGER_MAX_MS } from "../src/reader/ring-reader";

const EVERY = 1000;
const SPARSE_EVERY = 5000;
/** The sparse loops write this many times more, for as many events. */
const SPARSE_WRITES = 5;
/** Loops run on the same agent after the first two before the steady figure
 * is read: JSC keeps compiling the event path over the first ~10,000 events. */
const STEADY_LOOPS = 10;
const SPARSE_STEADY_LOOPS = 4;
/** Then one loop this many times as long: the load as it lasts. */
const SUSTAINED = 10;
const SPARSE_SUSTAINED = 2;
/** Seconds each runtime floor (lib/batch-floor.ts) is measured for. */
const FLOOR_SECONDS = 6;
/** The client window of the floor's second run at the default: what a client
 * whose window grew (grpc-go's BDP estimation, up to 16 MiB) costs instead. */
const WIDE_WINDOW = 16 << 20;

/** The operator's longest batching wait, when a kind names one (ms). */
function batchDelayMs(k: Kind): number | undefined {
  const m = /--event-batch-max-delay (\d+)$/.exec(k);
  return m ? Number(m[1]) : undefined;
}

function batchArgs(k: Kind): string[] {
  const ms = batchDelayMs(k);
  return ms === undefined ? [] : ["--event-batch-max-delay", String(ms)];
}

type Kind =
  | "none"
  | "C consumer"
  | "bpftrace"
  | "agent"
  | "agent, --event-batch-max-delay 100"
  | "agent, --event-batch-max-delay 1000"
  | "C consumer, 1 in 5,000"
  | "bpftrace, 1 in 5,000"
  | "agent, 1 in 5,000"
  | "agent, 1 in 5,000, --event-batch-max-delay 100";
const KINDS: readonly Kind[] = [
  "none",
  "C consumer",
  "bpftrace",
  "agent",
  "agent, --event-batch-max-delay 100",
  "agent, --event-batch-max-delay 1000",
  "C consumer, 1 in 5,000",
  "bpftrace, 1 in 5,000",
  "agent, 1 in 5,000",
  "agent, 1 in 5,000, --event-batch-max-delay 100",
];
const isSparse = (k: Kind): boolean => k.includes("1 in 5,000");

function runOf(k: Kind, o: Options): Promise<WriteRun> {
  const sparse = isSparse(k);
  const every = sparse ? SPARSE_EVERY : EVERY;
  const n = sparse ? o.writes * SPARSE_WRITES : o.writes;
  const exp = Math.floor(n / every);
  const args = batchArgs(k);
  if (k === "none") return noneWrites(n, every);
  if (k.startsWith("C consumer")) return floorWrites(n, every, exp, MARK_FD, "");
  if (k.startsWith("bpftrace")) return bpftraceWrites(n, every, exp, MARK_FD);
  return sparse
    ? agentWrites(n, every, exp, o.tmp, true, undefined, args, SPARSE_STEADY_LOOPS, SPARSE_SUSTAINED)
    : agentWrites(n, every, exp, o.tmp, true, undefined, args, STEADY_LOOPS, SUSTAINED);
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

/** Fresh, again, steady and sustained CPU of one agent kind. */
function agentCpu(xs: WriteRun[], steadyLoops: number, sustained: number, stat = false): string {
  const m = (f: (r: WriteRun) => number | undefined): string => fmt(median(xs.map((r) => f(r) ?? Number.NaN)), 2);
  const ticks = stat ? ` (/proc/<pid>/stat ticks: ${fmt(median(xs.map((r) => (r.statCpuS / r.wallS) * 100)), 1)}%)` : "";
  return (
    `${m(cpuPct)}% of one core${ticks}; the same loop again on the same agent: ${m((r) => r.warmCpuPct)}%; ` +
    `after ${steadyLoops} more loops: ${m((r) => r.steadyCpuPct)}%; then one ${sustained}× longer loop (sustained): ${m((r) => r.sustainedCpuPct)}%`
  );
}

export async function filteringBenchmark(o: Options): Promise<Section> {
  const runs = new Map<Kind, WriteRun[]>(KINDS.map((k) => [k, []]));
  const why = new Map<Kind, string>();
  const notes: string[] = [];
  const others = otherTracers();
  if (others) notes.push(`BPF programs of other processes were attached during the run: ${others}`);
  if (!o.bpftrace) for (const k of KINDS) if (k.startsWith("bpftrace")) why.set(k, "skipped: --no-bpftrace");
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
  const floors = await runtimeFloors(runs, notes);
  const none = median((runs.get("none") ?? []).map((r) => r.loop.rate));
  const of = (k: Kind): WriteRun[] => runs.get(k) ?? [];
  const rows = KINDS.map((k) => kindRow(k, of(k), none, why.get(k) ?? ""));
  const agent = of("agent");
  const cpuRow = (metric: string, k: Kind, steady: number, sustained: number, target?: string): Row => ({
    metric,
    value: of(k).length ? agentCpu(of(k), steady, sustained, k === "agent") : na("did not run, see above"),
    ...(target ? { target } : {}),
  });
  rows.push(
    cpuRow("agent CPU under the filtered-out load", "agent", STEADY_LOOPS, SUSTAINED, "< 1%"),
    cpuRow("the same with --event-batch-max-delay 100", "agent, --event-batch-max-delay 100", STEADY_LOOPS, SUSTAINED),
    cpuRow("the same with --event-batch-max-delay 1000", "agent, --event-batch-max-delay 1000", STEADY_LOOPS, SUSTAINED, "< 1%"),
    cpuRow("agent CPU, 1 in 5,000 pass", "agent, 1 in 5,000", SPARSE_STEADY_LOOPS, SPARSE_SUSTAINED),
    cpuRow("the same with --event-batch-max-delay 100", "agent, 1 in 5,000, --event-batch-max-delay 100", SPARSE_STEADY_LOOPS, SPARSE_SUSTAINED),
    ...floors,
    {
      metric: "agent writes/s ÷ no tracing",
      value: agent.length ? `${(median(agent.map((r) => r.loop.rate)) / none).toFixed(3)}×` : na("agent part did not run, see above"),
    },
  );
  notes.push(
    `${fmt(o.writes)} 1-byte writes, every ${EVERY}th to fd ${MARK_FD}: the filter keeps ${fmt(o.writes / EVERY)} (0.1%); ` +
      `the "1 in 5,000" kinds: ${fmt(o.writes * SPARSE_WRITES)} writes, every ${SPARSE_EVERY}th kept (0.02%, the same events at a fifth of the rate); ` +
      "CPU = the consumer process's run time (schedstat of its threads, ns resolution) ÷ the loop's wall time (BPF programs run in the writer and count in its time, shown as BPF ns/write)",
  );
  return { title: "In-kernel filtering (0.1% of writes pass)", rows, notes };
}

function floorText(f: BatchFloor): string {
  return `${fmt(f.cpuPct, 2)}% of one core (${fmt(f.usPerBatch)} µs per batch)`;
}

/** What the runtime alone costs at each kind's batch rate and bytes: a Bun
 * process that only wakes on a timer and writes the batch over HTTP/2 to a
 * grpc-js client (lib/batch-floor.ts). The agent's CPU above it is its own work. */
async function runtimeFloors(runs: Map<Kind, WriteRun[]>, notes: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  // The agent kinds at the steady 0.1% load batch at their longest wait; the sparse ones do not batch.
  for (const k of KINDS.filter((x) => x.startsWith("agent") && !isSparse(x))) {
    const ms = batchDelayMs(k) ?? DEFAULT_LINGER_MAX_MS;
    const xs = runs.get(k) ?? [];
    const bytes = median(xs.map((r) => r.eventBytes ?? Number.NaN));
    // The rate the events were produced at (a long batching wait delays the last ones, not the rate).
    const perS = median(xs.map((r) => r.loop.rate)) / EVERY;
    if (!(bytes > 0 && perS > 0)) continue;
    const messages = (perS * ms) / 1000;
    const label = `runtime floor at ${ms} ms batches of ${fmt(messages)} events (${fmt((messages * bytes) / 1024)} KiB)`;
    try {
      rows.push({ metric: label, value: floorText(await batchFloor(ms, messages, bytes, FLOOR_SECONDS)) });
      if (ms === DEFAULT_LINGER_MAX_MS) rows.push({ metric: `${label}, client window 16 MiB`, value: floorText(await batchFloor(ms, messages, bytes, FLOOR_SECONDS, WIDE_WINDOW)) });
    } catch (e) {
      rows.push({ metric: label, value: na(reason(e)) });
    }
  }
  if (rows.length)
    notes.push(
      "runtime floor: a Bun process doing only what each batch needs at the least (a timer wake-up and one HTTP/2 write of the batch's GetEvents messages, at the event rate and message size the agent delivered) to a grpc-js client in its own process, measured over " +
        `${FLOOR_SECONDS} s after a 2 s warm-up; no ring, decoding or encoding. The agent's CPU above it is its own per-event work`,
    );
  return rows;
}
