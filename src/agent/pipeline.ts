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
import type { CollectionPolicy } from "./collections";

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
    private readonly collections?: CollectionPolicy,
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
      () => this.collections?.atIdle(),
    );
  }

  /** Asked once per reader slice: while no stream could take a policy event,
   * its records are passed over unread (counted), so a storm costs little
   * more than walking the ring. Process records are always handled. */
  private opsToShed(): ReadonlySet<number> | undefined {
    this.demand = this.bus.demand();
    // A client not keeping up: its events are queued or dropped anyway, so a collection costs no delivery (collections.ts).
    if (this.collections && (this.demand === "saturated" || this.bus.lagging())) this.collections.inStorm();
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
      `read_bytes=${rs.bytes} wakeups=${rs.wakeups} slices=${rs.slices} reader_restarts=${rs.restarts} memory_collections=${this.collectionCount()}`
    );
  }

  private collectionCount(): string {
    const c = this.collections?.stats();
    return c ? `${c.idle + c.storm} (idle ${c.idle}, storm ${c.storm})` : "0";
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
    this.collections?.close();
    this.reader.stop();
    await Promise.race([this.reader.closed(), Bun.sleep(2000)]);
  }
}
