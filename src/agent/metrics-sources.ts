/** Where the agent gets each metric's numbers (src/metrics/sources.ts). */
import type { EventBus as Bus } from "../bus/index";
import type { ProcessCache } from "../cache/index";
import type { ProcessSensor } from "../sensors/process-sensor";
import { readProgramStats } from "../metrics/bpf-programs";
import type { BusTotals, ExportStats, MetricsSources, PolicyStats } from "../metrics/sources";
import type { Pipeline } from "./pipeline";

export interface AgentMetricParts {
  readonly pipeline: Pipeline;
  readonly bus: Bus;
  readonly base: ProcessSensor;
  readonly cache: ProcessCache;
  readonly ringBufferBytes: number;
  exporter(): ExportStats | undefined;
  policies(): PolicyStats;
}

export function agentMetricsSources(p: AgentMetricParts): MetricsSources {
  const busTotals = streamTotals(p.bus);
  return {
    pipeline: () => p.pipeline.stats(),
    bus: busTotals,
    kernelLost: () => new Map([...p.base.lostByOp()].map(([op, n]) => [op, Number(n)])),
    cache: () => {
      const c = p.cache.stats();
      return { entries: c.entries, live: c.live, evictions: c.reclaimed, misses: c.misses };
    },
    ringBuffer: () => ({ sizeBytes: p.ringBufferBytes, usedBytes: p.pipeline.ringBacklog() }),
    exporter: p.exporter,
    policies: p.policies,
    bpfPrograms: () => readProgramStats(),
  };
}

function streamTotals(bus: Bus): () => BusTotals {
  return () => {
    const s = bus.stats();
    return {
      published: s.published,
      delivered: s.delivered,
      dropped: s.dropped,
      liveStreams: s.subscribers,
      streams: s.streams.map((st) => ({ id: st.id, delivered: st.delivered, dropped: st.dropped, queued: st.queued, capacity: st.capacity })),
    };
  };
}
