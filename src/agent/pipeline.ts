import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import type { Logger } from "../log/logger";
import type { RingBufferReader } from "../reader/ring-reader";
import type { EventBus } from "../bus/bus";
import { AgentEvent } from "../bus/event";
import type { Component } from "./agent";
import { EventTally } from "../metrics/event-tally";
import { FixedHistogram } from "../metrics/latency";
import type { PipelineStats as MetricsPipelineStats } from "../metrics/sources";
import { HEADER } from "../decode/records";
import { heapSize } from "bun:jsc";
import type { ResidentMemory } from "./resident-memory";

/** Sees a record's bytes from `at` (handled or shed): cheap counters only. */
export type RecordObserver = (bytes: Uint8Array, at: number) => void;

/** Turns one kernel record into zero or more API events (decode + enrich). */
export type RecordHandler = (record: Uint8Array) => AgentEvent | GetEventsResponse | readonly GetEventsResponse[] | undefined;


export interface PipelineStats extends MetricsPipelineStats {
  /** policy records dropped unread because every stream's queue was full, by op */
  readonly shed: ReadonlyMap<number, number>;
  /** policy records not built because no stream was open */
  readonly unobserved: number;
}

/** How long health stays ERROR after the reader's wake-up thread was restarted. */
const READER_RESTART_UNHEALTHY_MS = 60_000;

/** Growth of resident anonymous memory since the last full collection
 * after which the reader's next idle moment runs one... */
const COLLECT_AFTER_GROWTH_BYTES = 16 << 20;
/** ...or process-cache entries released since then (~4 KB each): memory
 * that turned from live to garbage does not grow RSS. */
const COLLECT_AFTER_RELEASED = 2000;

/** During a storm (no idle moment) while a client is not keeping up (its
 * stream's queue is over half full, or every stream is full and records are
 * shed), anon RSS this far above what the last idle collection left runs a
 * full collection, at most every STORM_COLLECT_GAP_MS; JSC would let the
 * heap double first. Only then: that client's events are being queued or
 * dropped anyway, while a client that keeps up would pay for the
 * collections in events/s (with this at 24 MB for every storm: about -30%). */
const STORM_HEADROOM_BYTES = 24 << 20;
const STORM_COLLECT_GAP_MS = 100;
/** A storm collection after which the heap is still well above its size
 * after the last idle one (it is live, not garbage) doubles the gap, up to
 * this: memory that is really in use costs at most one collection per few
 * seconds. An idle collection resets it. */
const STORM_COLLECT_GAP_MAX_MS = 5000;

/** What the pipeline watches to ask for a collection when the reader is idle. */
export interface MemoryWatch {
  readonly resident: ResidentMemory;
  /** A running count of process-cache entries released. */
  released(): number;
}

/** One record in LATENCY_SAMPLE is timed for the handling-latency histogram. */
const LATENCY_SAMPLE = 16;

/** reader → decoders/enrichment (by record op) → bus. A bad record is counted and
 * logged, never fatal: one hostile process name must not stop the stream.
 * Under overload, records of sheddable ops (policy events; never process
 * records, which keep the cache true) are dropped before any decoding when
 * no stream could take them: a storm then costs little more than reading. */
export class Pipeline implements Component {
  readonly name = "pipeline";
  private readonly handlers = new Map<number, RecordHandler>();
  private readonly sheddable = new Set<number>();
  private readonly observers = new Map<number, RecordObserver>();
  private readonly shed = new Map<number, number>();
  private unobserved = 0;
  private demand: ReturnType<EventBus["demand"]> = "none";
  private records = 0;
  /** anon RSS and released entries right after the last idle collection */
  private anonAfterCollect = 0;
  private releasedAtCollect = 0;
  private lastCollectMs = 0;
  private stormGapMs = STORM_COLLECT_GAP_MS;
  /** JSC's heap size (cells and buffers) after the last idle collection */
  private heapAfterCollect = 0;
  private collections = 0;
  private events = 0;
  private failures = 0;
  private unknownOps = 0;
  private lastFailureLog = 0;
  private started = false;
  /** Events by type and policy, and sampled per-record handling time (metrics). */
  readonly tally = new EventTally();
  private readonly latency = new FixedHistogram();

  constructor(
    private readonly reader: RingBufferReader,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** Without it, no collections are asked for. */
    private readonly memory?: MemoryWatch,
  ) {}

  /** observe sees every record of op, shed or not (cheap counters only). */
  on(op: number, handler: RecordHandler, options: { sheddable?: boolean; observe?: RecordObserver } = {}): void {
    this.handlers.set(op, handler);
    if (options.sheddable) this.sheddable.add(op);
    if (options.observe) this.observers.set(op, options.observe);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.reader.consume(
      (record, op) => this.handle(record, op),
      { ops: () => this.opsToShed(), skipped: (op, bytes, at) => this.skipped(op, bytes, at) },
      () => this.collectAfterGrowth(),
    );
  }

  /** What a storm or a wave of processes left (events, exited processes'
   * entries) is garbage JSC collects only once the heap has doubled, which
   * at idle may be never, and the next storm then grows on top of it. So
   * when the reader has caught up and memory has grown, or many entries
   * were released, since the last full collection, one runs (synchronous,
   * ~20 ms, while no record waits). After 5,000 processes came and went, a
   * 500k-event burst then peaked at 127 MB instead of 155–172.
   * (Bun.gc(false) does not run a full collection: it did nothing here.) */
  private collectAfterGrowth(): void {
    const m = this.memory;
    if (m === undefined) return;
    const grown = m.resident.anonBytes() - this.anonAfterCollect >= COLLECT_AFTER_GROWTH_BYTES;
    if (!grown && m.released() - this.releasedAtCollect < COLLECT_AFTER_RELEASED) return;
    this.collect();
    this.stormGapMs = STORM_COLLECT_GAP_MS;
    this.heapAfterCollect = heapSize();
    this.anonAfterCollect = m.resident.anonBytes();
    this.releasedAtCollect = m.released();
  }

  /** Asked once per slice: see STORM_HEADROOM_BYTES. */
  private collectIfStormGrew(): void {
    const m = this.memory;
    if (m === undefined) return;
    const limit = this.anonAfterCollect + STORM_HEADROOM_BYTES;
    if (m.resident.anonBytes() < limit || performance.now() - this.lastCollectMs < this.stormGapMs) return;
    this.collect();
    // RSS does not fall right after a collection (the allocator keeps the pages for reuse); the heap's size does.
    const live = heapSize() - this.heapAfterCollect > STORM_HEADROOM_BYTES / 2;
    this.stormGapMs = live ? Math.min(2 * this.stormGapMs, STORM_COLLECT_GAP_MAX_MS) : STORM_COLLECT_GAP_MS;
  }

  private collect(): void {
    Bun.gc(true);
    this.collections++;
    this.lastCollectMs = performance.now();
  }

  /** Asked once per reader slice: while no stream could take a policy event,
   * its records are passed over unread (counted), so a storm costs little
   * more than walking the ring. Process records are always handled. */
  private opsToShed(): ReadonlySet<number> | undefined {
    this.demand = this.bus.demand();
    if (this.demand === "saturated" || this.bus.lagging()) this.collectIfStormGrew();
    return this.demand === "open" ? undefined : this.sheddable;
  }

  private skipped(op: number, bytes: Uint8Array, at: number): void {
    this.records++;
    this.observers.get(op)?.(bytes, at);
    if (this.demand === "none") this.unobserved++;
    else this.shed.set(op, (this.shed.get(op) ?? 0) + 1);
  }

  private handle(record: Uint8Array, op: number): void {
    this.records++;
    if (record.byteLength < HEADER.bytes) return void this.failures++;
    const handler = this.handlers.get(op);
    if (!handler) return void this.unknownOps++;
    this.observers.get(op)?.(record, 0);
    // Streams can fill within a slice: checked per record here, per slice in the reader.
    if (this.sheddable.has(op) && !this.shedIfUnwanted(op)) return;
    const timed = this.records % LATENCY_SAMPLE === 0;
    const started = timed ? performance.now() : 0;
    try {
      const out = handler(record);
      if (timed) this.latency.observe(performance.now() - started);
      if (!out) return;
      if (Array.isArray(out)) out.forEach((ev) => this.publish(new AgentEvent(ev)));
      else this.publish(out instanceof AgentEvent ? out : new AgentEvent(out as GetEventsResponse));
    } catch (e) {
      this.failures++;
      this.logFailure(op, e);
    }
  }

  /** False when the record is dropped (counted) instead of handled. */
  private shedIfUnwanted(op: number): boolean {
    const demand = this.bus.demand();
    if (demand === "open") return true;
    if (demand === "none") this.unobserved++;
    else this.shed.set(op, (this.shed.get(op) ?? 0) + 1);
    return false;
  }

  stats(): PipelineStats {
    return {
      records: this.records,
      events: this.events,
      decodeFailures: this.failures,
      unknownOps: this.unknownOps,
      tally: this.tally.snapshot(),
      latencyMs: this.latency.snapshot(),
      shed: new Map(this.shed),
      unobserved: this.unobserved,
    };
  }

  private publish(ev: AgentEvent): void {
    this.events++;
    this.tally.observe(ev.eventCase);
    this.bus.publish(ev);
  }

  private logFailure(op: number, e: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog < 1000) return;
    this.lastFailureLog = now;
    this.log.warn("cannot decode record", { op, error: e instanceof Error ? e.message : String(e), failures: this.failures });
  }

  describe(): string {
    const rs = this.reader.stats();
    return (
      `pipeline: records=${this.records} events=${this.events} decode_failures=${this.failures} unknown_ops=${this.unknownOps} ` +
      `shed_events=${[...this.shed.values()].reduce((a, b) => a + b, 0)}${this.shed.size ? ` shed_by_op=${[...this.shed].map(([op, n]) => `op${op}:${n}`).join(",")}` : ""} unobserved_events=${this.unobserved} ` +
      `read_bytes=${rs.bytes} wakeups=${rs.wakeups} slices=${rs.slices} reader_restarts=${rs.restarts} memory_collections=${this.collections}`
    );
  }

  /** Bytes in the kernel ring not yet read (its fill). */
  ringBacklog(): number {
    return this.reader.backlogBytes();
  }

  /** Unhealthy while the reader's wake-up thread is dead, and for a while
   * after it was restarted, so an operator polling health sees that it happened. */
  healthy(): boolean {
    if (!this.started) return true;
    const r = this.reader.stats();
    return r.alive && (r.lastRestartMs === 0 || Date.now() - r.lastRestartMs > READER_RESTART_UNHEALTHY_MS);
  }

  async stop(): Promise<void> {
    this.memory?.resident.close();
    this.reader.stop();
    await Promise.race([this.reader.closed(), Bun.sleep(2000)]);
  }
}
