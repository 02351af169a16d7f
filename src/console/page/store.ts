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

const RATE_WINDOW = 5;

/** Counts per key per second; keeps per-second totals for `historySeconds`
 * and per-key counts for the last few seconds (the rates shown). */
export class RateMeter {
  private current = new Map<string, number>();
  private currentSecond: number;
  /** per-key counts of the last RATE_WINDOW complete seconds, oldest first */
  private recent: Map<string, number>[] = [];
  /** [unix second, total count] for each second, oldest first */
  readonly history: [number, number][] = [];

  constructor(
    private readonly historySeconds: number,
    now = Date.now(),
  ) {
    this.currentSecond = Math.floor(now / 1000);
  }

  count(key: string, now = Date.now()): void {
    this.roll(now);
    this.current.set(key, (this.current.get(key) ?? 0) + 1);
  }

  /** Events per second by key, averaged over the last RATE_WINDOW seconds. */
  rates(): Map<string, number> {
    const sums = new Map<string, number>();
    for (const m of this.recent) for (const [k, n] of m) sums.set(k, (sums.get(k) ?? 0) + n);
    for (const [k, n] of sums) sums.set(k, n / RATE_WINDOW);
    return sums;
  }

  /** Closes finished seconds (call regularly, also when nothing arrives). */
  roll(now = Date.now()): void {
    const second = Math.floor(now / 1000);
    if (second === this.currentSecond) return;
    let total = 0;
    for (const n of this.current.values()) total += n;
    this.history.push([this.currentSecond, total]);
    this.recent.push(this.current);
    // Seconds with nothing at all between the last one and now.
    for (let s = Math.max(this.currentSecond + 1, second - this.historySeconds); s < second; s++) {
      this.history.push([s, 0]);
      this.recent.push(new Map());
    }
    this.recent = this.recent.slice(-RATE_WINDOW);
    this.current = new Map();
    this.currentSecond = second;
    const oldest = second - this.historySeconds;
    while (this.history.length && this.history[0]![0] < oldest) this.history.shift();
  }
}
