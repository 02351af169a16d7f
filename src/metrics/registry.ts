/** The metric definitions: names, help, labels. Values come from MetricsSources at
 * scrape time. Names follow the upstream agent's where one means the same thing
 * (README "Metrics" has the table); the rest are `fgs_*`. */
import { Counter, Gauge, Registry, type MetricValueWithName } from "prom-client";
import type { HistogramSnapshot, MetricsSources } from "./sources";

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

interface Definition {
  readonly name: string;
  readonly help: string;
  readonly labels?: readonly string[];
  readonly samples: (s: MetricsSources) => readonly Sample[];
}

const one = (value: number): readonly Sample[] => [[{}, value]];

const COUNTERS: readonly Definition[] = [
  { name: "tetragon_events_total", help: "Events published to the event bus, by event type.", labels: ["type"], samples: (s) => [...s.pipeline().tally.byType].map(([type, n]) => [{ type }, n]) },
  { name: "tetragon_policy_events_total", help: "Policy events, by tracing policy and hook.", labels: ["policy", "hook"], samples: (s) => [...s.pipeline().tally.byPolicyHook].map(([k, n]) => { const [policy = "", hook = ""] = k.split("\0"); return [{ policy, hook }, n]; }) },
  { name: "tetragon_bpf_missed_events_total", help: "Records the kernel could not put in the ring buffer (it was full), by record op.", labels: ["msg_op"], samples: (s) => [...s.kernelLost()].map(([op, n]) => [{ msg_op: String(op) }, n]) },
  { name: "tetragon_observer_ringbuf_events_received_total", help: "Records read from the kernel ring buffer.", samples: (s) => one(s.pipeline().records) },
  { name: "tetragon_notify_overflowed_events_total", help: "Events dropped because a GetEvents stream fell behind (its queue was full).", samples: (s) => one(s.bus().dropped) },
  { name: "tetragon_events_exported_total", help: "Events written to the export file.", samples: (s) => one(s.exporter()?.written ?? 0) },
  { name: "tetragon_export_ratelimit_events_dropped_total", help: "Events not exported because of --export-rate-limit.", samples: (s) => one(s.exporter()?.droppedRateLimit ?? 0) },
  { name: "tetragon_process_cache_evicted_total", help: "Process-cache entries removed after their process exited and nothing referenced them.", samples: (s) => one(s.cache().evictions) },
  { name: "tetragon_process_cache_misses_total", help: "Lookups of a process the cache did not know.", samples: (s) => one(s.cache().misses) },
  { name: "tetragon_overhead_program_runs_total", help: "Runs of each BPF program (kernel.bpf_stats_enabled must be on: --metrics-bpf-stats).", labels: ["program", "prog_id"], samples: (s) => s.bpfPrograms().map((p) => [{ program: p.name, prog_id: String(p.id) }, p.runCount]) },
  { name: "tetragon_overhead_program_seconds_total", help: "Time spent in each BPF program, seconds (needs --metrics-bpf-stats).", labels: ["program", "prog_id"], samples: (s) => s.bpfPrograms().map((p) => [{ program: p.name, prog_id: String(p.id) }, p.runTimeNs / 1e9]) },
  { name: "fgs_events_delivered_total", help: "Events passed on by each stage: reader (records read), pipeline (events published), stream (handed to GetEvents streams), export (lines written).", labels: ["stage"], samples: deliveredByStage },
  { name: "fgs_events_dropped_total", help: "Events lost by each stage: kernel (ring buffer full), reader (undecodable records), stream (slow GetEvents stream), export (exporter behind, rate limit or write error).", labels: ["stage", "reason"], samples: droppedByStage },
  { name: "fgs_export_rotations_total", help: "Export file rotations.", samples: (s) => one(s.exporter()?.rotations ?? 0) },
  { name: "fgs_policy_load_errors_total", help: "Tracing policies that failed to load (API or start).", samples: (s) => one(s.policies().loadErrors) },
];

const GAUGES: readonly Definition[] = [
  { name: "tetragon_process_cache_size", help: "Entries in the process cache (live processes and exited ones still referenced).", samples: (s) => one(s.cache().entries) },
  { name: "fgs_process_cache_live", help: "Live processes in the process cache.", samples: (s) => one(s.cache().live) },
  { name: "fgs_streams_live", help: "Open GetEvents streams (the exporter's included).", samples: (s) => one(s.bus().liveStreams) },
  { name: "fgs_stream_queued_events", help: "Events waiting in each open stream's queue.", labels: ["stream"], samples: (s) => s.bus().streams.map((st) => [{ stream: String(st.id) }, st.queued]) },
  { name: "fgs_ringbuf_size_bytes", help: "Size of the kernel ring buffer.", samples: (s) => { const r = s.ringBuffer(); return r ? one(r.sizeBytes) : []; } },
  { name: "tetragon_tracingpolicy_loaded", help: "Tracing policies loaded.", samples: (s) => one(s.policies().loaded) },
  { name: "tetragon_events_last_exported_timestamp", help: "Unix time of the last event written to the export file.", samples: (s) => one(s.exporter()?.lastWriteSeconds ?? 0) },
  { name: "fgs_export_blocked", help: "1 while the export file cannot be written (disk full, ...); writing resumes by itself.", samples: (s) => one(s.exporter()?.blocked ? 1 : 0) },
];

const RING_FILL: Definition = { name: "fgs_ringbuf_used_bytes", help: "Bytes in the kernel ring buffer not yet read (fill).", samples: (s) => one(s.ringBuffer()?.usedBytes ?? 0) };

function deliveredByStage(s: MetricsSources): readonly Sample[] {
  const p = s.pipeline();
  const samples: Sample[] = [[{ stage: "reader" }, p.records], [{ stage: "pipeline" }, p.events], [{ stage: "stream" }, s.bus().delivered]];
  const e = s.exporter();
  if (e) samples.push([{ stage: "export" }, e.written]);
  return samples;
}

function droppedByStage(s: MetricsSources): readonly Sample[] {
  let kernel = 0;
  for (const n of s.kernelLost().values()) kernel += n;
  const p = s.pipeline();
  const samples: Sample[] = [
    [{ stage: "kernel", reason: "ring_buffer_full" }, kernel],
    [{ stage: "reader", reason: "decode_failure" }, p.decodeFailures],
    [{ stage: "reader", reason: "unknown_op" }, p.unknownOps],
    [{ stage: "reader", reason: "all_streams_full" }, [...p.shed.values()].reduce((a, b) => a + b, 0)],
    [{ stage: "stream", reason: "queue_full" }, s.bus().dropped],
  ];
  const e = s.exporter();
  if (e) {
    samples.push([{ stage: "export", reason: "queue_full" }, e.droppedOverflow]);
    samples.push([{ stage: "export", reason: "rate_limit" }, e.droppedRateLimit]);
    samples.push([{ stage: "export", reason: "write_error" }, e.writeErrors]);
  }
  return samples;
}

/** What the registry reads from a metric when it renders it. */
interface RenderedMetric {
  name: string;
  help: string;
  type: "histogram";
  aggregator: "sum";
  values: MetricValueWithName<string>[];
}

/** A histogram whose buckets are kept elsewhere (the pipeline's FixedHistogram). */
class SnapshotHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => HistogramSnapshot,
  ) {}

  get(): RenderedMetric {
    const h = this.read();
    const values: MetricValueWithName<string>[] = h.bounds.map((le, i) => ({ metricName: `${this.name}_bucket`, labels: { le: String(le) }, value: h.cumulative[i] ?? 0 }));
    values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf" }, value: h.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: h.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: h.count });
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}

function define(registry: Registry, d: Definition, kind: "counter" | "gauge", sources: MetricsSources): void {
  const labelNames = [...(d.labels ?? [])];
  if (kind === "counter") {
    new Counter({ name: d.name, help: d.help, labelNames, registers: [registry], collect() { this.reset(); for (const [l, v] of d.samples(sources)) this.inc(l, v); } });
  } else {
    new Gauge({ name: d.name, help: d.help, labelNames, registers: [registry], collect() { this.reset(); for (const [l, v] of d.samples(sources)) this.set(l, v); } });
  }
}

/** A registry whose every value is read from `sources` when scraped. */
export function createMetricsRegistry(sources: MetricsSources): Registry {
  const registry = new Registry();
  for (const d of COUNTERS) define(registry, d, "counter", sources);
  for (const d of GAUGES) define(registry, d, "gauge", sources);
  // Only where the reader can tell (the mmapped reader does; the thread reader cannot).
  if (sources.ringBuffer()?.usedBytes !== undefined) define(registry, RING_FILL, "gauge", sources);
  const latency = new SnapshotHistogram("tetragon_handling_latency", "Time to decode and enrich one kernel record, milliseconds (one record in 16 is timed).", () => sources.pipeline().latencyMs);
  // registerMetric's type wants a prom-client class; the registry only calls name and get().
  registry.registerMetric(latency as unknown as Parameters<Registry["registerMetric"]>[0]);
  return registry;
}

/** Every metric name this agent exports (README table, tests). */
export const METRIC_NAMES: readonly string[] = [...COUNTERS, ...GAUGES].map((d) => d.name).concat("tetragon_handling_latency");
