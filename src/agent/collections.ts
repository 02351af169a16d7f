/** When the agent asks JSC for a full collection itself.
 *
 * What a storm or a wave of processes leaves (events, exited processes'
 * cache entries) is garbage that JSC collects only once its heap has
 * doubled, which at idle may be never, and the next storm then grows on top
 * of it; during a storm it lets the heap double too. So:
 * - when the reader is idle (no record waits) and, since the last idle
 *   collection, anon RSS grew IDLE_GROWTH_BYTES or IDLE_RELEASED cache
 *   entries were released (memory that turned from live to garbage does not
 *   grow RSS): after 5,000 processes came and went, a 500k-event burst then
 *   peaked at 127 MB instead of 155–172;
 * - during a storm, while a client is not keeping up (the caller says so),
 *   when anon RSS is STORM_HEADROOM_BYTES above what the last idle collection
 *   left, at most every STORM_GAP_MS. Only then: that client's events are
 *   queued or dropped anyway, while a client that keeps up would pay in
 *   events/s (24 MB for every storm: about -30%).
 * A collection is synchronous (~10–40 ms). Bun.gc(false) does not run a full
 * one: it left RSS unchanged here. */

const IDLE_GROWTH_BYTES = 16 << 20;
const IDLE_RELEASED = 2000;
const STORM_HEADROOM_BYTES = 24 << 20;
const STORM_GAP_MS = 100;
/** A storm collection after which the heap is still well above its size
 * after the last idle one (live, not garbage) doubles the gap, up to this:
 * memory really in use costs at most one collection per few seconds. */
const STORM_GAP_MAX_MS = 5000;

/** What the policy reads; all cheap except heapBytes (once per collection). */
export interface MemoryReadings {
  /** resident anonymous memory (src/agent/resident-memory.ts) */
  anonBytes(): number;
  /** a running count of process-cache entries released */
  released(): number;
  /** JSC's heap size, cells and the buffers it counts */
  heapBytes(): number;
  close?(): void;
}

export class CollectionPolicy {
  private anonAfterIdle = 0;
  private releasedAtIdle = 0;
  private heapAfterIdle = 0;
  private lastMs = Number.NEGATIVE_INFINITY;
  private gapMs = STORM_GAP_MS;
  private readonly counts = { idle: 0, storm: 0 };

  constructor(
    private readonly read: MemoryReadings,
    private readonly collect: () => void = () => Bun.gc(true),
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** The reader has caught up; true when a collection ran. */
  atIdle(): boolean {
    const grown = this.read.anonBytes() - this.anonAfterIdle >= IDLE_GROWTH_BYTES;
    if (!grown && this.read.released() - this.releasedAtIdle < IDLE_RELEASED) return false;
    this.run();
    this.counts.idle++;
    this.gapMs = STORM_GAP_MS;
    this.heapAfterIdle = this.read.heapBytes();
    this.anonAfterIdle = this.read.anonBytes();
    this.releasedAtIdle = this.read.released();
    return true;
  }

  /** Asked once per reader slice while a client is not keeping up; true when a collection ran. */
  inStorm(): boolean {
    if (this.read.anonBytes() < this.anonAfterIdle + STORM_HEADROOM_BYTES) return false;
    if (this.nowMs() - this.lastMs < this.gapMs) return false;
    this.run();
    this.counts.storm++;
    // RSS does not fall right after a collection (the allocator keeps the pages for reuse); the heap's size does.
    const live = this.read.heapBytes() - this.heapAfterIdle > STORM_HEADROOM_BYTES / 2;
    this.gapMs = live ? Math.min(2 * this.gapMs, STORM_GAP_MAX_MS) : STORM_GAP_MS;
    return true;
  }

  close(): void {
    this.read.close?.();
  }

  stats(): { idle: number; storm: number } {
    return { ...this.counts };
  }

  private run(): void {
    this.collect();
    this.lastMs = this.nowMs();
  }
}
