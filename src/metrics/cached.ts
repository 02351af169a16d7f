import type { MetricsSources } from "./sources";

/** Reads each source at most once per scrape: several metrics share one stats() call. */
export function cachedSources(inner: MetricsSources): { sources: MetricsSources; reset(): void } {
  const memo = new Map<keyof MetricsSources, unknown>();
  const cached = <K extends keyof MetricsSources>(key: K) =>
    (() => {
      if (!memo.has(key)) memo.set(key, inner[key]());
      return memo.get(key);
    }) as MetricsSources[K];
  const sources: MetricsSources = {
    pipeline: cached("pipeline"),
    bus: cached("bus"),
    kernelLost: cached("kernelLost"),
    cache: cached("cache"),
    ringBuffer: cached("ringBuffer"),
    exporter: cached("exporter"),
    policies: cached("policies"),
    bpfPrograms: cached("bpfPrograms"),
  };
  return { sources, reset: () => memo.clear() };
}
