/** One GetEvents stream: its filters, optional aggregation and a bounded
 * queue. A stream is never ended for being slow: when its queue is full,
 * new events are dropped and counted on this stream only. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { MATCH_ALL, type EventPredicate } from "../filters/index.ts";
import { Aggregator } from "./aggregate.ts";
import type { AggregationSettings } from "./aggregate.ts";
import { AgentEvent, type Edition } from "./event.ts";
import { ENVELOPE_BYTES, EnvelopeRing } from "./envelope-ring.ts";
import { Fifo } from "./fifo.ts";

export type StreamState = "open" | "closed";

export interface StreamStats {
  readonly id: number;
  /** who reads the stream (peer, protocol), when the server said */
  readonly label: string;
  readonly state: StreamState;
  readonly queued: number;
  readonly capacity: number;
  /** Wire bytes queued (events queued as bytes, see onReadable). */
  readonly queuedBytes: number;
  /** Events handed to the stream's transport. */
  readonly delivered: number;
  /** Events that matched but were dropped because the queue was full. */
  readonly dropped: number;
  readonly aggregating: boolean;
  readonly pendingAggregated: number;
  /** Events the filter threw on (counted, treated as not matching). */
  readonly filterErrors: number;
}

interface Waiter {
  resolve(r: IteratorResult<GetEventsResponse>): void;
}


/** A queue counts as full this much before its byte bound (see queueFull). */
const FULL_SLACK_BYTES = 16 << 10;

/** Events wait as events until the stream says which edition it writes
 * (onReadable); from then on, unless it aggregates, as that edition's
 * enveloped bytes in a ring (envelope-ring.ts): what the stream sends anyway
 * (~1.2 KB for a write event, most of it the two Process messages), counted
 * and bounded, and a slow stream keeps no event, record or message alive. */
export class Subscription implements AsyncIterableIterator<GetEventsResponse> {
  private readonly queue = new Fifo<AgentEvent>();
  private ring: EnvelopeRing | undefined;
  private bytesEdition: Edition | undefined;
  private readonly aggregator: Aggregator | undefined;
  private waiter: Waiter | undefined;
  private readable: (() => void) | undefined;
  private state: StreamState = "open";
  private delivered = 0;
  private dropped = 0;
  private filterErrors = 0;
  /** The event being aggregated, so a pass-through keeps its shared bytes. */
  private offered: AgentEvent | undefined;
  label = "";

  constructor(
    readonly id: number,
    private readonly predicate: EventPredicate,
    private readonly capacity: number,
    /** Bound on queuedBytes, beside the bound on events. */
    private readonly byteCapacity: number,
    aggregation: AggregationSettings | undefined,
    private readonly onDetach: (sub: Subscription) => void,
  ) {
    this.aggregator = aggregation && new Aggregator(aggregation, (msg) => this.enqueue(this.offered?.message === msg ? this.offered : new AgentEvent(msg)));
  }

  /** Called by the bus for every published event; never throws. */
  offer(ev: AgentEvent): void {
    if (this.state !== "open") return;
    let wanted: boolean;
    try {
      wanted = this.predicate === MATCH_ALL || this.predicate(ev.message);
    } catch {
      this.filterErrors++;
      return;
    }
    if (!wanted) return;
    if (this.aggregator === undefined) return this.enqueue(ev);
    this.offered = ev;
    this.aggregator.add(ev.message);
    this.offered = undefined;
  }

  private enqueue(ev: AgentEvent): void {
    if (this.state !== "open") return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      this.delivered += ev.weight;
      w.resolve({ value: ev.message, done: false });
    } else if (this.queueFull()) {
      this.dropped += ev.weight;
    } else if (this.ring !== undefined && this.bytesEdition !== undefined) {
      // Exactly within the byte bound, so the ring (a power of two) stays at most its size.
      if (!this.ring.push(ev.encodedForCopy(this.bytesEdition), this.byteCapacity)) this.dropped += ev.weight;
      else if (this.ring.length === 1) this.readable?.();
    } else {
      this.queue.push(ev);
      if (this.queue.length === 1) this.readable?.();
    }
  }

  /** Full a little before the byte bound, so that records are shed before
   * they are decoded rather than dropped here after (events are ~1.2 KB). */
  private queueFull(): boolean {
    return this.queuedEvents >= this.capacity || (this.ring?.byteLength ?? 0) > this.byteCapacity - Math.min(FULL_SLACK_BYTES, this.byteCapacity / 16);
  }

  /** Push mode (the gRPC fast path): notify is called when the queue goes
   * from empty to non-empty, and when the stream ends; then takeEnveloped()
   * drains. With an edition, events are queued as that edition's bytes. */
  onReadable(notify: () => void, edition?: Edition): void {
    this.readable = notify;
    this.bytesEdition = edition;
    if (edition !== undefined && this.aggregator === undefined) {
      this.ring ??= new EnvelopeRing();
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) this.ring.push(ev.encodedForCopy(edition));
    }
    if (this.queuedEvents > 0 || this.state !== "open") notify();
  }

  /** Moves up to max queued events, each in its envelope (flag byte, length
   * big-endian, message: gRPC, gRPC-web and Connect alike), into a buffer
   * from alloc; counted as delivered. Undefined when nothing is queued. */
  takeEnveloped(max: number, edition: Edition, alloc: (bytes: number) => Uint8Array): Uint8Array | undefined {
    if (this.ring !== undefined) {
      const span = this.ring.span(max);
      if (span.messages === 0) return undefined;
      const out = alloc(span.bytes).subarray(0, span.bytes);
      this.ring.takeInto(out, span);
      this.delivered += span.messages;
      return out;
    }
    return this.envelope(this.takeEncoded(max, edition), alloc);
  }

  private envelope(messages: readonly Uint8Array[], alloc: (bytes: number) => Uint8Array): Uint8Array | undefined {
    if (messages.length === 0) return undefined;
    let total = 0;
    for (const m of messages) total += ENVELOPE_BYTES + m.byteLength;
    const out = alloc(total).subarray(0, total);
    const view = new DataView(out.buffer, out.byteOffset, total);
    let at = 0;
    for (const m of messages) {
      view.setUint8(at, 0);
      view.setUint32(at + 1, m.byteLength);
      out.set(m, at + ENVELOPE_BYTES);
      at += ENVELOPE_BYTES + m.byteLength;
    }
    return out;
  }

  /** Up to max queued events as wire bytes of an edition, counted as delivered. */
  takeEncoded(max: number, edition: Edition): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < max) {
      const bytes = this.ring?.shift();
      if (bytes !== undefined) {
        this.delivered++;
        out.push(bytes);
        continue;
      }
      const ev = this.queue.shift();
      if (ev === undefined) break;
      this.delivered += ev.weight;
      out.push(ev.encoded(edition));
    }
    return out;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** A new event would be dropped (aggregating streams are never full: they absorb). */
  get isFull(): boolean {
    return this.state === "open" && this.aggregator === undefined && this.queueFull();
  }

  /** Its queue holds more than half of its byte bound: the client is not keeping up. */
  get isLagging(): boolean {
    return this.state === "open" && (this.ring?.byteLength ?? 0) > this.byteCapacity / 2;
  }

  get queuedEvents(): number {
    return this.queue.length + (this.ring?.length ?? 0);
  }

  /** Ends the stream normally (client gone or agent shutting down). */
  end(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.queue.clear();
    this.ring?.clear();
    this.aggregator?.dispose();
    this.onDetach(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
    this.readable?.();
  }

  next(): Promise<IteratorResult<GetEventsResponse>> {
    if (this.ring !== undefined) return Promise.reject(new Error("GetEvents stream read as messages after it asked for bytes"));
    const ev = this.queue.shift();
    if (ev !== undefined) {
      this.delivered += ev.weight;
      return Promise.resolve({ value: ev.message, done: false });
    }
    if (this.state !== "open") return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error("GetEvents stream read concurrently"));
    return new Promise((resolve) => (this.waiter = { resolve }));
  }

  return(): Promise<IteratorResult<GetEventsResponse>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stats(): StreamStats {
    return {
      id: this.id,
      label: this.label,
      state: this.state,
      queued: this.queuedEvents,
      capacity: this.capacity,
      queuedBytes: this.ring?.byteLength ?? 0,
      delivered: this.delivered,
      dropped: this.dropped,
      aggregating: this.aggregator !== undefined,
      pendingAggregated: this.aggregator?.pendingEvents ?? 0,
      filterErrors: this.filterErrors,
    };
  }
}
