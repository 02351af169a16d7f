/** Per-stream aggregation (GetEventsRequest.aggregation_options): identical
 * events within a window become one response with aggregation_info.count and
 * the first event's time. Which events aggregate: docs/filters.md. */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AggregationInfoSchema,
  DnsInfoSchema,
  KprobeArgumentSchema,
} from "../../gen/tetragon/tetragon_pb.ts";
import type { AggregationOptions, GetEventsResponse, KprobeArgument } from "../../gen/tetragon/tetragon_pb.ts";
import { processOf } from "../filters/events.ts";

export const DEFAULT_WINDOW_MS = 15_000;
export const DEFAULT_MAX_BUCKETS = 10_000;
export const MAX_BUCKETS_LIMIT = 100_000;

export interface AggregationSettings {
  readonly windowMs: number;
  /** Distinct events held at once; beyond it the oldest is sent early. */
  readonly maxBuckets: number;
}

/** Validates aggregation_options; throws ConnectError(InvalidArgument). */
export function aggregationSettings(opts: AggregationOptions): AggregationSettings {
  let windowMs = DEFAULT_WINDOW_MS;
  if (opts.windowSize !== undefined) {
    windowMs = Number(opts.windowSize.seconds) * 1000 + opts.windowSize.nanos / 1e6;
    if (!(windowMs > 0)) {
      throw new ConnectError("aggregation_options.window_size must be positive", Code.InvalidArgument);
    }
  }
  const requested = Number(opts.channelBufferSize);
  const maxBuckets = requested === 0 ? DEFAULT_MAX_BUCKETS : Math.min(requested, MAX_BUCKETS_LIMIT);
  return { windowMs, maxBuckets };
}

const argsKey = (args: readonly KprobeArgument[]): string =>
  args.map((a) => Buffer.from(toBinary(KprobeArgumentSchema, a)).toString("base64")).join(",");

/** Identity of an event for aggregation, or undefined when it never aggregates. */
export function aggregationKey(ev: GetEventsResponse): string | undefined {
  const e = ev.event;
  switch (e.case) {
    case "processKprobe": {
      const k = e.value;
      const ret = k.return === undefined ? "" : argsKey([k.return]);
      return `kprobe\0${k.process?.execId}\0${k.functionName}\0${k.action}\0${argsKey(k.args)}\0${ret}`;
    }
    case "processTracepoint": {
      const t = e.value;
      return `tracepoint\0${t.process?.execId}\0${t.subsys}\0${t.event}\0${argsKey(t.args)}`;
    }
    case "processDns": {
      const dns = e.value.dns === undefined ? "" : Buffer.from(toBinary(DnsInfoSchema, e.value.dns)).toString("base64");
      return `dns\0${e.value.process?.execId}\0${dns}`;
    }
    default:
      return undefined;
  }
}

interface Bucket {
  readonly first: GetEventsResponse;
  readonly execId: string;
  readonly deadline: number;
  count: number;
}

/** A shallow copy: published events are shared by every stream. */
export function withCount(ev: GetEventsResponse, count: number): GetEventsResponse {
  return { ...ev, aggregationInfo: create(AggregationInfoSchema, { count: BigInt(count) }) };
}

export class Aggregator {
  // Map iteration is insertion order, which is creation and so deadline order.
  private readonly buckets = new Map<string, Bucket>();
  private readonly byExec = new Map<string, Set<string>>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly settings: AggregationSettings,
    private readonly emit: (ev: GetEventsResponse) => void,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Events held, counting every aggregated occurrence. */
  get pendingEvents(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.count;
    return n;
  }

  add(ev: GetEventsResponse): void {
    const key = aggregationKey(ev);
    const execId = processOf(ev)?.execId ?? "";
    if (key === undefined) {
      // Per-process order: what this process did earlier goes out first.
      this.flushProcess(execId);
      this.emit(ev);
      return;
    }
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) {
      bucket.count++;
      return;
    }
    if (this.buckets.size >= this.settings.maxBuckets) this.flushOldest();
    this.buckets.set(key, { first: ev, execId, deadline: this.now() + this.settings.windowMs, count: 1 });
    let keys = this.byExec.get(execId);
    if (keys === undefined) this.byExec.set(execId, (keys = new Set()));
    keys.add(key);
    this.schedule();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.buckets.clear();
    this.byExec.clear();
  }

  /** Sends every expired bucket; called by the timer. */
  flushExpired(): void {
    this.timer = undefined;
    const now = this.now();
    for (const [key, b] of this.buckets) {
      if (b.deadline > now) break;
      this.flush(key, b);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const first = this.buckets.values().next();
    if (first.done === true) return;
    const delay = Math.max(0, first.value.deadline - this.now());
    this.timer = setTimeout(() => this.flushExpired(), Math.ceil(delay));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private flushOldest(): void {
    const first = this.buckets.entries().next();
    if (first.done !== true) this.flush(first.value[0], first.value[1]);
  }

  private flushProcess(execId: string): void {
    const keys = this.byExec.get(execId);
    if (keys === undefined) return;
    for (const key of [...keys]) {
      const b = this.buckets.get(key);
      if (b !== undefined) this.flush(key, b);
    }
  }

  private flush(key: string, b: Bucket): void {
    this.buckets.delete(key);
    const keys = this.byExec.get(b.execId);
    keys?.delete(key);
    if (keys?.size === 0) this.byExec.delete(b.execId);
    this.emit(withCount(b.first, b.count));
  }
}
