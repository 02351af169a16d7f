/** Fan-out of published events to GetEvents streams. publish() never blocks
 * and never throws; each stream filters, aggregates and queues on its own, so
 * a slow stream only ever hurts itself: it drops and counts, and is never
 * ended for it. Order is publish order per stream, hence per process (an
 * exec before its exit). Each event is encoded at most once (AgentEvent). */
import type { GetEventsRequest, GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { compileFilters } from "../filters/index.ts";
import type { AncestryLookup } from "../filters/index.ts";
import { aggregationSettings } from "./aggregate.ts";
import { AgentEvent } from "./event.ts";
import { Subscription } from "./subscription.ts";
import type { StreamStats } from "./subscription.ts";

export const DEFAULT_QUEUE_CAPACITY = 10_000;
/** Per-stream bound on queued wire bytes: ~7,000 write events of ~1.2 KB
 * (most of it the two Process messages), fewer of a larger kind (execs with
 * long argument lists), so a slow stream's queue holds at most 8 MiB. */
export const DEFAULT_QUEUE_BYTES = 8 << 20;

export interface EventBusOptions {
  /** Per-stream queue bound (events); default 10,000. */
  readonly queueCapacity?: number;
  /** Per-stream bound on queued wire bytes (streams that queue bytes); default 8 MiB. */
  readonly queueBytes?: number;
  /** Process-cache parent lookup for pid_set filters. */
  readonly ancestry?: AncestryLookup;
}

export interface SubscribeOptions {
  /** Overrides the bus-wide queue capacity for this stream. */
  readonly queueCapacity?: number;
}

export type EventsRequest = Pick<GetEventsRequest, "allowList" | "denyList" | "aggregationOptions">;

export interface BusStats {
  readonly subscribers: number;
  readonly published: number;
  /** Events delivered to streams, since start (ended streams included). */
  readonly delivered: number;
  /** Events dropped by full stream queues, since start (ended streams included). */
  readonly dropped: number;
  readonly streams: readonly StreamStats[];
}

export class EventBus {
  private readonly subs = new Set<Subscription>();
  private readonly capacity: number;
  private readonly byteCapacity: number;
  private nextId = 1;
  private published = 0;
  /** Totals of streams that have ended. */
  private endedDelivered = 0;
  private endedDropped = 0;
  private closed = false;

  constructor(private readonly options: EventBusOptions = {}) {
    this.capacity = positive(options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY, "queueCapacity");
    this.byteCapacity = positive(options.queueBytes ?? DEFAULT_QUEUE_BYTES, "queueBytes");
  }

  publish(message: GetEventsResponse | AgentEvent): void {
    this.published++;
    const ev = message instanceof AgentEvent ? message : new AgentEvent(message);
    for (const sub of this.subs) {
      try {
        sub.offer(ev);
      } catch {
        // offer() does not throw; a publisher must never fail because of a stream.
      }
    }
  }

  /** Whether a new event would reach any stream: "none" without streams,
   * "saturated" when every stream's queue is full (it would be dropped). */
  demand(): "none" | "saturated" | "open" {
    if (this.subs.size === 0) return "none";
    for (const sub of this.subs) if (!sub.isFull) return "open";
    return "saturated";
  }

  /** Some stream's client is not keeping up (its queue is over half full). */
  lagging(): boolean {
    for (const sub of this.subs) if (sub.isLagging) return true;
    return false;
  }

  /** Validates filters synchronously (ConnectError InvalidArgument) and
   * registers the stream at once, so nothing published after this call is
   * missed even if the reader starts late. */
  subscribe(request: EventsRequest, signal?: AbortSignal, options: SubscribeOptions = {}): Subscription {
    const predicate = compileFilters(request, { ancestry: this.options.ancestry });
    const aggregation = request.aggregationOptions && aggregationSettings(request.aggregationOptions);
    const capacity = positive(options.queueCapacity ?? this.capacity, "queueCapacity");
    const sub = new Subscription(this.nextId++, predicate, capacity, this.byteCapacity, aggregation, (s) => {
      // The signal is the RPC's and may outlive the stream.
      signal?.removeEventListener("abort", onAbort);
      this.detach(s);
    });
    const onAbort = (): void => sub.end();
    if (this.closed || signal?.aborted === true) {
      sub.end();
      return sub;
    }
    this.subs.add(sub);
    signal?.addEventListener("abort", onAbort, { once: true });
    return sub;
  }

  private detach(sub: Subscription): void {
    if (!this.subs.delete(sub)) return;
    const s = sub.stats();
    this.endedDelivered += s.delivered;
    this.endedDropped += s.dropped;
  }

  /** Ends every stream; later subscriptions end immediately. */
  close(): void {
    this.closed = true;
    for (const sub of [...this.subs]) sub.end();
  }

  stats(): BusStats {
    const streams = [...this.subs].map((s) => s.stats());
    return {
      subscribers: this.subs.size,
      published: this.published,
      delivered: streams.reduce((n, s) => n + s.delivered, this.endedDelivered),
      dropped: streams.reduce((n, s) => n + s.dropped, this.endedDropped),
      streams,
    };
  }

  /** One line for GetHealth details. */
  describe(): string {
    const s = this.stats();
    const queued = s.streams.reduce((n, st) => Math.max(n, st.queued), 0);
    const perStream = s.streams.map((st) => `${st.id}${st.label ? `(${st.label})` : ""}:delivered=${st.delivered},dropped=${st.dropped},queued=${st.queued}`);
    return (
      `bus: subscribers=${s.subscribers} published=${s.published} queue_capacity=${this.capacity} ` +
      `max_queued=${queued} delivered_events=${s.delivered} dropped_events=${s.dropped}` +
      (perStream.length ? ` streams=${perStream.join(" ")}` : "")
    );
  }
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}
