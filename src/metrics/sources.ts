/** What the metrics read, as plain numbers. The metric definitions (registry.ts)
 * only see this interface; the agent decides where each number comes from, so
 * the event path can change without touching a metric name. Every function is
 * called once per scrape; counters must be monotonic totals since start. */

export interface EventTallySnapshot {
  /** Events published to the bus, by event type name ("PROCESS_EXEC"). */
  readonly byType: ReadonlyMap<string, number>;
  /** Policy events, by "policy\0hook". */
  readonly byPolicyHook: ReadonlyMap<string, number>;
}

export interface HistogramSnapshot {
  /** Upper bounds, ascending, in the metric's unit. */
  readonly bounds: readonly number[];
  /** Cumulative counts per bound (same length as bounds). */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sum: number;
}

export interface PipelineStats {
  /** Records read from the kernel ring buffer. */
  readonly records: number;
  /** Events published to the bus. */
  readonly events: number;
  readonly decodeFailures: number;
  readonly unknownOps: number;
  readonly tally: EventTallySnapshot;
  /** Time to turn one record into events, in milliseconds (sampled). */
  readonly latencyMs: HistogramSnapshot;
  /** Policy records dropped before decoding because every stream was full, by op. */
  readonly shed: ReadonlyMap<number, number>;
}

export interface StreamSample {
  readonly id: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly queued: number;
  readonly capacity: number;
}

export interface BusTotals {
  readonly published: number;
  /** Events handed to GetEvents streams (live and ended), since start. */
  readonly delivered: number;
  /** Events that matched a stream but were dropped because it fell behind. */
  readonly dropped: number;
  readonly liveStreams: number;
  readonly streams: readonly StreamSample[];
}

export interface CacheStats {
  readonly entries: number;
  readonly live: number;
  readonly evictions: number;
  readonly misses: number;
}

export interface RingBufferStats {
  readonly sizeBytes: number;
  /** Bytes written by the kernel and not yet consumed; undefined when unknown. */
  readonly usedBytes?: number;
}

export interface ExportStats {
  readonly written: number;
  readonly droppedOverflow: number;
  readonly droppedRateLimit: number;
  readonly writeErrors: number;
  readonly rotations: number;
  /** Unix seconds of the last line written, 0 before the first. */
  readonly lastWriteSeconds: number;
  /** True while writes fail (disk full, ...). */
  readonly blocked: boolean;
}

export interface BpfProgramStats {
  readonly id: number;
  readonly name: string;
  readonly runCount: number;
  readonly runTimeNs: number;
}

export interface PolicyStats {
  readonly loaded: number;
  readonly loadErrors: number;
}

export interface MetricsSources {
  pipeline(): PipelineStats;
  bus(): BusTotals;
  /** Records the kernel could not put in the ring buffer, by record op. */
  kernelLost(): ReadonlyMap<number, number>;
  cache(): CacheStats;
  ringBuffer(): RingBufferStats | undefined;
  exporter(): ExportStats | undefined;
  policies(): PolicyStats;
  bpfPrograms(): readonly BpfProgramStats[];
}
