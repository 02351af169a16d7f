/** One GetEvents stream: its filters, optional aggregation and a bounded queue. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import type { EventPredicate } from "../filters/index.ts";
import { Aggregator } from "./aggregate.ts";
import type { AggregationSettings } from "./aggregate.ts";
import { Fifo } from "./fifo.ts";

export type StreamState = "open" | "overflowed" | "closed";

export interface StreamStats {
  readonly id: number;
  readonly state: StreamState;
  readonly queued: number;
  readonly capacity: number;
  /** Responses handed to the stream's reader. */
  readonly delivered: number;
  /** Events that matched but were never delivered (queue overflow). */
  readonly missed: number;
  readonly aggregating: boolean;
  readonly pendingAggregated: number;
  /** Events the filter threw on (counted, treated as not matching). */
  readonly filterErrors: number;
}

interface Waiter {
  resolve(r: IteratorResult<GetEventsResponse>): void;
  reject(e: unknown): void;
}

const weight = (ev: GetEventsResponse): number => Number(ev.aggregationInfo?.count ?? 1n);

export class Subscription implements AsyncIterableIterator<GetEventsResponse> {
  private readonly queue = new Fifo<GetEventsResponse>();
  private readonly aggregator: Aggregator | undefined;
  private waiter: Waiter | undefined;
  private error: ConnectError | undefined;
  private state: StreamState = "open";
  private delivered = 0;
  private missed = 0;
  private filterErrors = 0;

  constructor(
    readonly id: number,
    private readonly predicate: EventPredicate,
    private readonly capacity: number,
    aggregation: AggregationSettings | undefined,
    private readonly onDetach: (sub: Subscription) => void,
  ) {
    this.aggregator = aggregation && new Aggregator(aggregation, (ev) => this.enqueue(ev));
  }

  /** Called by the bus for every published event; never throws. */
  offer(ev: GetEventsResponse): void {
    if (this.state !== "open") return;
    let wanted: boolean;
    try {
      wanted = this.predicate(ev);
    } catch {
      this.filterErrors++;
      return;
    }
    if (!wanted) return;
    if (this.aggregator !== undefined) this.aggregator.add(ev);
    else this.enqueue(ev);
  }

  private enqueue(ev: GetEventsResponse): void {
    if (this.state !== "open") return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      this.delivered++;
      w.resolve({ value: ev, done: false });
    } else if (this.queue.length >= this.capacity) {
      this.overflow(weight(ev));
    } else {
      this.queue.push(ev);
    }
  }

  /** Frees the queue at once (memory stays bounded with stuck clients) and
   * ends the stream with resource_exhausted at the reader's next read. */
  private overflow(extra: number): void {
    let missed = extra + (this.aggregator?.pendingEvents ?? 0);
    for (const ev of this.queue.values()) missed += weight(ev);
    this.missed += missed;
    this.error = new ConnectError(
      `GetEvents stream ended: the client did not keep up and its queue of ${this.capacity} events filled; ` +
        `${this.missed} events were not delivered on this stream`,
      Code.ResourceExhausted,
    );
    this.state = "overflowed";
    this.detach();
  }

  /** Ends the stream normally (client gone or agent shutting down). */
  end(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.error = undefined;
    this.detach();
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }

  private detach(): void {
    this.queue.clear();
    this.aggregator?.dispose();
    this.onDetach(this);
    const w = this.waiter;
    if (w !== undefined && this.error !== undefined) {
      this.waiter = undefined;
      w.reject(this.takeError());
    }
  }

  private takeError(): ConnectError {
    const e = this.error as ConnectError;
    this.error = undefined;
    this.state = "closed";
    return e;
  }

  next(): Promise<IteratorResult<GetEventsResponse>> {
    const ev = this.queue.shift();
    if (ev !== undefined) {
      this.delivered++;
      return Promise.resolve({ value: ev, done: false });
    }
    if (this.error !== undefined) return Promise.reject(this.takeError());
    if (this.state !== "open") return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error("GetEvents stream read concurrently"));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
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
      state: this.state,
      queued: this.queue.length,
      capacity: this.capacity,
      delivered: this.delivered,
      missed: this.missed,
      aggregating: this.aggregator !== undefined,
      pendingAggregated: this.aggregator?.pendingEvents ?? 0,
      filterErrors: this.filterErrors,
    };
  }
}
