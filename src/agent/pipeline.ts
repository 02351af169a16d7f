import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import type { Logger } from "../log/logger";
import type { RingBufferReader } from "../reader/ring-reader";
import type { Component, EventBus } from "./agent";
import { EventTally } from "../metrics/event-tally";
import { FixedHistogram } from "../metrics/latency";
import type { PipelineStats } from "../metrics/sources";

/** Turns one kernel record into zero or more API events (decode + enrich). */
export type RecordHandler = (record: Uint8Array) => GetEventsResponse | readonly GetEventsResponse[] | undefined;

const OP_OFFSET = 0;

/** reader → decoders/enrichment (by record op) → bus. A bad record is counted and
 * logged, never fatal: one hostile process name must not stop the stream. */
export class Pipeline implements Component {
  readonly name = "pipeline";
  private readonly handlers = new Map<number, RecordHandler>();
  private records = 0;
  private events = 0;
  private failures = 0;
  private unknownOps = 0;
  private lastFailureLog = 0;
  /** Events by type and policy, and per-record handling time (metrics). */
  readonly tally = new EventTally();
  private readonly latency = new FixedHistogram();
  private done: Promise<void> | undefined;

  constructor(
    private readonly reader: RingBufferReader,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  on(op: number, handler: RecordHandler): void {
    this.handlers.set(op, handler);
  }

  start(): void {
    this.done ??= this.run();
  }

  private async run(): Promise<void> {
    for await (const record of this.reader.records()) this.handle(record);
    this.reader.closeReadSide();
  }

  private handle(record: Uint8Array): void {
    this.records++;
    if (record.byteLength < 16) return void this.failures++;
    const op = new DataView(record.buffer, record.byteOffset, record.byteLength).getUint32(OP_OFFSET, true);
    const handler = this.handlers.get(op);
    if (!handler) return void this.unknownOps++;
    const started = performance.now();
    try {
      const out = handler(record);
      this.latency.observe(performance.now() - started);
      if (!out) return;
      if (Array.isArray(out)) out.forEach((ev) => this.publish(ev));
      else this.publish(out as GetEventsResponse);
    } catch (e) {
      this.failures++;
      this.logFailure(op, e);
    }
  }

  private publish(ev: GetEventsResponse): void {
    this.events++;
    this.tally.observe(ev);
    this.bus.publish(ev);
  }

  private logFailure(op: number, e: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog < 1000) return;
    this.lastFailureLog = now;
    this.log.warn("cannot decode record", { op, error: e instanceof Error ? e.message : String(e), failures: this.failures });
  }

  stats(): PipelineStats {
    return {
      records: this.records,
      events: this.events,
      decodeFailures: this.failures,
      unknownOps: this.unknownOps,
      tally: this.tally.snapshot(),
      latencyMs: this.latency.snapshot(),
    };
  }

  describe(): string {
    const rs = this.reader.stats();
    return `pipeline: records=${this.records} events=${this.events} decode_failures=${this.failures} unknown_ops=${this.unknownOps} read_bytes=${rs.bytes}`;
  }

  async stop(): Promise<void> {
    this.reader.stop();
    await Promise.race([this.done, Bun.sleep(2000)]);
  }
}
