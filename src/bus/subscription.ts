/** One GetEvents stream: its filters, optional aggregation and a bounded
 * queue. A stream is never ended for being slow: when its queue is full,
 * new events are dropped and counted on this stream only. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { MATCH_ALL, type EventPredicate } from "../filters/index.ts";
import { Aggregator } from "./aggregate.ts";
import type { AggregationSettings } from "./aggregate.ts";
import { AgentEvent, type Edition } from "./event.ts";
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


/** A queued event: the event, or only its wire bytes when the stream said
 * which edition it writes. Bytes are what the stream sends anyway (~1.2 KB
 * for a write event, most of it the two Process messages); they can be
 * counted and bounded, and a slow stream does not keep the event's record,
 * decoded fields and message alive until the next full collection. */
type Queued = AgentEvent | Uint8Array;

export class Subscription implements AsyncIterableIterator<GetEventsResponse> {
  private readonly queue = new Fifo<Queued>();
  private queuedBytes = 0;
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
    } else {
      this.queue.push(this.queueable(ev));
      if (this.queue.length === 1) this.readable?.();
    }
  }

  /** Only the bytes of a single event (an aggregate's weight needs its message). */
  private queueable(ev: AgentEvent): Queued {
    if (this.bytesEdition === undefined || ev.weight !== 1) return ev;
    const bytes = ev.encoded(this.bytesEdition);
    this.queuedBytes += bytes.byteLength;
    return bytes;
  }

  private queueFull(): boolean {
    return this.queue.length >= this.capacity || this.queuedBytes >= this.byteCapacity;
  }

  /** Push mode (the gRPC fast path): notify is called when the queue goes
   * from empty to non-empty, and when the stream ends; then takeEncoded()
   * drains. With an edition, events are queued as that edition's bytes. */
  onReadable(notify: () => void, edition?: Edition): void {
    this.readable = notify;
    this.bytesEdition = edition;
    if (this.queue.length > 0 || this.state !== "open") notify();
  }

  /** Up to max queued events as wire bytes of an edition, counted as delivered. */
  takeEncoded(max: number, edition: Edition): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < max) {
      const ev = this.queue.shift();
      if (ev === undefined) break;
      if (ev instanceof Uint8Array) {
        this.queuedBytes -= ev.byteLength;
        this.delivered++;
        out.push(ev);
      } else {
        this.delivered += ev.weight;
        out.push(ev.encoded(edition));
      }
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

  get queuedEvents(): number {
    return this.queue.length;
  }

  /** Ends the stream normally (client gone or agent shutting down). */
  end(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.queue.clear();
    this.queuedBytes = 0;
    this.aggregator?.dispose();
    this.onDetach(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
    this.readable?.();
  }

  next(): Promise<IteratorResult<GetEventsResponse>> {
    const ev = this.queue.shift();
    if (ev instanceof Uint8Array) return Promise.reject(new Error("GetEvents stream read as messages after it asked for bytes"));
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
      queued: this.queue.length,
      capacity: this.capacity,
      queuedBytes: this.queuedBytes,
      delivered: this.delivered,
      dropped: this.dropped,
      aggregating: this.aggregator !== undefined,
      pendingAggregated: this.aggregator?.pendingEvents ?? 0,
      filterErrors: this.filterErrors,
    };
  }
}
