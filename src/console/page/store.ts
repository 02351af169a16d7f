/** The last `capacity` items, addressed by a sequence number that keeps
 * growing; older items are dropped and counted, so memory stays bounded
 * however fast the agent streams. */
export class RingStore<T> {
  private readonly items: (T | undefined)[];
  /** sequence number of the next item */
  private next = 0;
  /** items that arrived but are no longer kept */
  dropped = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    if (this.next >= this.capacity) this.dropped++;
    this.items[this.next % this.capacity] = item;
    this.next++;
  }

  /** First kept sequence number. */
  get first(): number {
    return Math.max(0, this.next - this.capacity);
  }

  /** One past the last sequence number. */
  get end(): number {
    return this.next;
  }

  get size(): number {
    return this.next - this.first;
  }

  at(seq: number): T | undefined {
    return seq >= this.first && seq < this.next ? this.items[seq % this.capacity] : undefined;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.dropped = 0;
  }
}

/** Counts per key per second, and keeps per-second totals for `historySeconds`. */
export class RateMeter {
  private current = new Map<string, number>();
  private currentSecond = Math.floor(Date.now() / 1000);
  /** rates of the last complete second, by key */
  lastRates = new Map<string, number>();
  /** [unix second, total count] for each second, oldest first */
  readonly history: [number, number][] = [];

  constructor(private readonly historySeconds: number) {}

  count(key: string, now = Date.now()): void {
    this.roll(now);
    this.current.set(key, (this.current.get(key) ?? 0) + 1);
  }

  /** Closes finished seconds (call regularly, also when nothing arrives). */
  roll(now = Date.now()): void {
    const second = Math.floor(now / 1000);
    if (second === this.currentSecond) return;
    let total = 0;
    for (const n of this.current.values()) total += n;
    this.history.push([this.currentSecond, total]);
    // Seconds with nothing at all between the last one and now.
    for (let s = this.currentSecond + 1; s < second && s > second - this.historySeconds; s++) this.history.push([s, 0]);
    this.lastRates = second === this.currentSecond + 1 ? this.current : new Map();
    this.current = new Map();
    this.currentSecond = second;
    const oldest = second - this.historySeconds;
    while (this.history.length && this.history[0]![0] < oldest) this.history.shift();
  }
}
