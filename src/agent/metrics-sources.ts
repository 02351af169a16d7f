/** Where today's agent gets each metric's numbers (src/metrics/sources.ts).
 * The event path changes under it; only this file follows. */
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
    ringBuffer: () => ({ sizeBytes: p.ringBufferBytes }),
    exporter: p.exporter,
    policies: p.policies,
    bpfPrograms: () => readProgramStats(),
  };
}

/** Today's bus keeps delivered counts per live stream only: remember what
 * ended streams had delivered so the total never goes down. */
function streamTotals(bus: Bus): () => BusTotals {
  const lastSeen = new Map<number, number>();
  let retired = 0;
  return () => {
    const s = bus.stats();
    const live = new Set<number>();
    for (const st of s.streams) {
      live.add(st.id);
      lastSeen.set(st.id, st.delivered);
    }
    for (const [id, n] of lastSeen) {
      if (live.has(id)) continue;
      retired += n;
      lastSeen.delete(id);
    }
    let delivered = retired;
    let dropped = s.missedEvents;
    for (const st of s.streams) {
      delivered += st.delivered;
      dropped += st.missed;
    }
    return {
      published: s.published,
      delivered,
      dropped,
      liveStreams: s.subscribers,
      streams: s.streams.map((st) => ({ id: st.id, delivered: st.delivered, dropped: st.missed, queued: st.queued, capacity: st.capacity })),
    };
  };
}
