import { toArrayBuffer, type Pointer } from "bun:ffi";
import { libbpf } from "../bpf/libbpf";
import { BpfError } from "../bpf/errors";

export interface ReaderStats {
  records: number;
  bytes: number;
  /** wake-ups from the notifier thread (each is followed by a batched drain) */
  wakeups: number;
  /** drain slices run (records per slice = records ÷ slices) */
  slices: number;
  /** times the wake-up thread was found dead and started again */
  restarts: number;
  /** the wake-up thread is running */
  alive: boolean;
  /** Date.now() of the last restart, 0 when none */
  lastRestartMs: number;
}

/** Sees each record synchronously, in ring order, with its op (the record
 * header's first word). The view points into the ring and is valid only
 * during the call: copy what must outlive it. */
export type RecordSink = (record: Uint8Array, op: number) => void;

/** Records of some ops may be passed over without a view or a call to the
 * sink (load shedding): `ops` is asked once per slice; `skipped` sees the
 * record's op and where its bytes start in `bytes`, for counting. */
export interface RecordSkipper {
  ops(): ReadonlySet<number> | undefined;
  skipped(op: number, bytes: Uint8Array, at: number): void;
}

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER_BYTES = 8;
const E2BIG = 7;
/** Records per drain slice before yielding to the event loop (HTTP/2 writes).
 * Also what is in flight when the collector runs mid-storm, and what it finds
 * there survives into the old generation until the next full collection: a
 * 500k-event burst peaked at 156–170 MB RSS with 2,048, 137–149 with 1,024,
 * 126–131 with 512, for ~5% fewer events/s than 2,048 (bench throughput). */
const SLICE_RECORDS = 512;
/** Bytes of records copied out of the ring per slice (grown for a record larger than this). */
const SLICE_BYTES = 1 << 19;
/** How long a drained reader waits for more before asking for a wake-up... */
const LINGER_MIN_MS = 1;
/** ...and, while records keep coming at BATCH_RECORDS_PER_MS or more, up to
 * this: fewer, larger batches (each costs a timer, a slice and an HTTP/2
 * write per stream), at most this much added latency. Below that rate the
 * wait stays short, so a slow trickle (100 execs/s) keeps its latency. */
export const DEFAULT_LINGER_MAX_MS = 16;
/** The rate that makes batches grow at the default longest wait. A longer
 * longest wait (the operator accepts more latency) lowers it in proportion:
 * batching starts where a batch of the longest wait holds as many records. */
const BATCH_RECORDS_PER_MS = 1;

/** The idle gaps averaged to decide whether to linger after a wake-up count at most this many records' time at the batching rate. */
const GAP_CAP_RECORDS = 4;

/** Records per ms from which a reader with this longest wait batches. */
export function batchRate(maxMs: number): number {
  return maxMs > 0 ? (BATCH_RECORDS_PER_MS * DEFAULT_LINGER_MAX_MS) / Math.max(maxMs, DEFAULT_LINGER_MAX_MS) : Infinity;
}

/** A wake-up that never came (or a dead thread) costs at most this much
 * latency. Both are faults, not the normal path, and an idle agent's every
 * timer is a wake-up (~50–150 µs of CPU each on a VM), so it is not short. */
const WATCHDOG_MS = 1000;

interface Mapping {
  consumer: Pointer;
  producer: Pointer;
  size: number;
}

function mapRing(fd: number): Mapping {
  const l = libbpf();
  const size = Number(l.fgs_map_max_entries(fd));
  if (size <= 0) throw new BpfError("read ring buffer size", size);
  const out = new BigUint64Array(2);
  const rc = l.fgs_ring_map(fd, size, out.subarray(0, 1), out.subarray(1, 2));
  if (rc < 0) throw new BpfError("map ring buffer", rc);
  return { consumer: Number(out[0]) as Pointer, producer: Number(out[1]) as Pointer, size };
}

/** The next wait, from what the last one (0: a wake-up, see firstLinger)
 * found: doubled while the rate holds at `rate` records per ms, halved when
 * it falls well below (a wait that found nothing also halves, down to the
 * shortest); and never so long that, at the bytes rate seen, a quarter of the
 * ring fills. */
export function nextLinger(
  lingerMs: number,
  found: { records: number; bytes: number },
  ringBytes: number,
  maxMs: number,
  rate = batchRate(maxMs),
  meanGapMs = 0,
): number {
  if (lingerMs === 0) return firstLinger(meanGapMs, maxMs);
  const expected = lingerMs * rate;
  let next = lingerMs;
  if (found.records >= expected) next = Math.min(2 * lingerMs, maxMs);
  else if (2 * found.records < expected) next = lingerMs / 2;
  const ringBound = (lingerMs * ringBytes) / 4 / Math.max(found.bytes, 1);
  return Math.max(Math.min(next, ringBound), Math.min(LINGER_MIN_MS, maxMs));
}

/** Whether a reader just woken should wait for more before going back to
 * sleep: only when wake-ups come about as often as batching pays (the mean
 * idle gap below one record's time at the batching rate). At a sparser rate
 * the wait would find nothing and cost a timer per record. */
export function lingerAfterWakeup(meanGapMs: number, rate: number): boolean {
  return meanGapMs * rate < 1;
}

/** The first wait after a wake-up: about two records' time at the rate the
 * gaps show, so a regular trickle slower than 1 per ms finds something and
 * the wait can grow. */
export function firstLinger(meanGapMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(LINGER_MIN_MS, 2 * meanGapMs));
}

/** The wake-up thread and the event loop's end of its socket pair. */
class Notifier {
  private constructor(
    readonly native: Pointer,
    readonly fd: number,
  ) {}

  static start(mapFd: number): Notifier {
    const l = libbpf();
    const fds = new Int32Array(2);
    const rc = l.fgs_socketpair(fds);
    if (rc < 0) throw new BpfError("create reader socket pair", rc);
    const err = new Int32Array(1);
    const native = l.fgs_notifier_new(mapFd, fds[1]!, err);
    if (native === null) {
      l.fgs_close(fds[0]!);
      l.fgs_close(fds[1]!);
      throw new BpfError("start ring buffer wake-up thread", err[0]!);
    }
    return new Notifier(native as Pointer, fds[0]!);
  }

  alive(): boolean {
    return libbpf().fgs_notifier_alive(this.native) === 1;
  }

  wakeups(): number {
    return Number(libbpf().fgs_notifier_wakeups(this.native));
  }

  halt(): void {
    libbpf().fgs_notifier_halt(this.native);
  }

  /** The ring was drained: the next record wakes the loop again. */
  rearm(): void {
    libbpf().fgs_notifier_rearm(this.native);
  }

  /** Joins the thread; the event loop's stream on fd then ends. */
  stop(): void {
    libbpf().fgs_notifier_free(this.native);
  }
}

/** Reads a BPF ring buffer without blocking the event loop and without a
 * copy or a thread hop per record: the ring is mapped into this process and
 * drained here in slices; a small native thread only waits for data and
 * wakes the event loop, and only when the loop has caught up (so a busy ring
 * costs no wake-ups). One consumer; records arrive in ring order. */
export class RingBufferReader {
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  /** A slice's records, copied out of the ring by fgs_ring_take. */
  private scratch: Uint8Array;
  private scratchView: DataView;
  private readonly taken = new Uint32Array(1);
  private notifier: Notifier;
  private sink: RecordSink | undefined;
  private skipper: RecordSkipper | undefined;
  /** called when the ring has been drained and the reader waits for a wake-up */
  private onIdle: (() => void) | undefined;
  private draining = false;
  /** the current wait between slices of a trickle; 0 when not lingering */
  private lingerMs = 0;
  /** the counters when the current wait (or wake-up) began */
  private markRecords = 0;
  private markBytes = 0;
  /** when the reader last went to sleep (performance.now()), and the mean idle gap before a wake-up */
  private idleSinceMs = 0;
  private meanGapMs = Number.POSITIVE_INFINITY;
  private readonly rate: number;
  private stopped = false;
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly counters = { records: 0, bytes: 0, slices: 0, restarts: 0, wakeupsBefore: 0, lastRestartMs: 0 };
  private readonly pendingStreams: Promise<void>[] = [];
  private readonly onStop: (() => void)[] = [];

  private constructor(
    private readonly mapFd: number,
    private readonly mapping: Mapping,
    private readonly lingerMaxMs: number,
    sliceBytes: number,
  ) {
    this.rate = batchRate(lingerMaxMs);
    this.scratch = new Uint8Array(sliceBytes);
    this.scratchView = new DataView(this.scratch.buffer);
    // Only the two positions are viewed from JS; records are copied out (fgs_ring_take).
    this.consumerPos = new BigUint64Array(toArrayBuffer(mapping.consumer, 0, 8));
    this.producerPos = new BigUint64Array(toArrayBuffer(mapping.producer, 0, 8));
    this.notifier = this.listen(Notifier.start(mapFd));
    this.watchdog = setInterval(() => this.checkNotifier(), WATCHDOG_MS);
    this.watchdog.unref();
  }

  /** lingerMaxMs: the longest wait for more records at a steady trickle (0: none; the added latency).
   * sliceBytes: the copy buffer of a slice (grown when one record needs more). */
  static start(ringbufMapFd: number, options: { lingerMaxMs?: number; sliceBytes?: number } = {}): RingBufferReader {
    return new RingBufferReader(ringbufMapFd, mapRing(ringbufMapFd), options.lingerMaxMs ?? DEFAULT_LINGER_MAX_MS, options.sliceBytes ?? SLICE_BYTES);
  }

  /** Push mode: every record goes to sink (or to skipper), in batches between
   * event-loop turns; onIdle runs each time the ring is drained and the reader goes to wait. */
  consume(sink: RecordSink, skipper?: RecordSkipper, onIdle?: () => void): void {
    if (this.sink) throw new Error("ring buffer reader already has a consumer");
    this.sink = sink;
    this.skipper = skipper;
    this.onIdle = onIdle;
    this.drain();
  }

  /** Pull mode (tests, tools): copies of the records, in order. */
  async *records(): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    this.consume((rec) => {
      queue.push(rec.slice());
      wake?.();
    });
    this.onStop.push(() => wake?.());
    for (;;) {
      const rec = queue.shift();
      if (rec) {
        yield rec;
        continue;
      }
      if (this.stopped) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  }

  private listen(n: Notifier): Notifier {
    const done = (async () => {
      const wakeups = Bun.file(n.fd).stream().getReader();
      for (let r = await wakeups.read(); !r.done; r = await wakeups.read()) this.drain();
    })().catch(() => {});
    this.pendingStreams.push(done.finally(() => libbpf().fgs_close(n.fd)).then(() => {}));
    return n;
  }

  /** Bytes the kernel has published and we have not consumed. */
  backlogBytes(): number {
    if (this.stopped) return 0;
    return Number(this.producerPos[0]! - this.consumerPos[0]!);
  }

  private drain(): void {
    if (this.draining || this.stopped || !this.sink) return;
    this.draining = true;
    // Capped: one long pause must not hide a trickle that starts after it.
    const gap = Math.min(performance.now() - this.idleSinceMs, GAP_CAP_RECORDS / this.rate);
    this.meanGapMs = Number.isFinite(this.meanGapMs) ? (this.meanGapMs + gap) / 2 : gap;
    this.mark();
    this.slice();
  }

  private slice(): void {
    if (this.stopped) return;
    const more = this.readSlice(this.sink as RecordSink);
    this.counters.slices++;
    if (more) {
      // Not setImmediate: under Bun a chain of immediates starves socket I/O
      // (HTTP/2 writes then go out ~6× slower); a timer lets the poll phase run.
      setTimeout(() => this.slice(), 0);
      return;
    }
    // Linger before asking for a wake-up: at a steady trickle the next
    // records are usually here by then, and a timer costs less than a
    // wake-up through the thread (its switch, the socket, the loop's read). What the wait
    // found counts every slice since the last decision, not just this one.
    const found = { records: this.counters.records - this.markRecords, bytes: this.counters.bytes - this.markBytes };
    this.mark();
    if (this.shouldLinger(found.records)) {
      this.lingerMs = nextLinger(this.lingerMs, found, this.mapping.size, this.lingerMaxMs, this.rate, this.meanGapMs);
      setTimeout(() => this.slice(), this.lingerMs);
      return;
    }
    this.lingerMs = 0;
    this.draining = false;
    this.idleSinceMs = performance.now();
    this.notifier.rearm();
    this.onIdle?.();
  }

  private mark(): void {
    this.markRecords = this.counters.records;
    this.markBytes = this.counters.bytes;
  }

  private shouldLinger(found: number): boolean {
    if (this.lingerMaxMs <= 0) return false;
    if (this.lingerMs === 0) return found > 0 && lingerAfterWakeup(this.meanGapMs, this.rate);
    return found > 0 || this.lingerMs > LINGER_MIN_MS;
  }

  /** Consumes up to SLICE_RECORDS records; true when the ring may hold more. */
  private readSlice(sink: RecordSink): boolean {
    const skip = this.skipper?.ops();
    const got = this.take();
    const view = this.scratchView;
    let at = 0;
    while (at < got) {
      const size = view.getUint32(at, true) & ~(BUSY | DISCARD);
      const start = at + HEADER_BYTES;
      at = (start + size + 7) & ~7;
      this.counters.bytes += size;
      const op = size >= 4 ? view.getUint32(start, true) : -1;
      if (skip !== undefined && skip.has(op)) this.skipper?.skipped(op, this.scratch, start);
      else this.deliver(sink, this.scratch.subarray(start, start + size), op);
    }
    const n = this.taken[0]!;
    this.counters.records += n;
    if (n === SLICE_RECORDS) return true;
    // While lingering, records that arrived during this slice wait for the
    // timer: a slice of their own would cost a turn and a write per stream.
    return this.lingerMs === 0 ? this.backlogBytes() > 0 : this.backlogBytes() >= this.scratch.byteLength / 2;
  }

  /** Copies the next records into scratch (grown when one record is larger); their bytes. */
  private take(): number {
    const m = this.mapping;
    for (;;) {
      const got = Number(libbpf().fgs_ring_take(m.consumer, m.producer, m.size, this.scratch, this.scratch.byteLength, SLICE_RECORDS, this.taken));
      if (got >= 0) return got;
      if (got !== -E2BIG) throw new BpfError("read ring buffer", got);
      this.scratch = new Uint8Array(2 ** Math.ceil(Math.log2(this.taken[0]!)));
      this.scratchView = new DataView(this.scratch.buffer);
    }
  }

  private deliver(sink: RecordSink, rec: Uint8Array, op: number): void {
    try {
      sink(rec, op);
    } catch {
      // The sink counts its own failures; the reader must never stop.
    }
  }

  /** A dead wake-up thread is replaced; a missed wake-up only delays. */
  private checkNotifier(): void {
    if (this.stopped) return;
    if (!this.notifier.alive()) {
      this.counters.wakeupsBefore += this.notifier.wakeups();
      this.notifier.stop();
      this.notifier = this.listen(Notifier.start(this.mapFd));
      this.counters.restarts++;
      this.counters.lastRestartMs = Date.now();
    }
    if (!this.draining && this.backlogBytes() > 0) this.drain();
  }

  stats(): ReaderStats {
    const { records, bytes, slices, restarts, wakeupsBefore, lastRestartMs } = this.counters;
    if (this.stopped) return { records, bytes, wakeups: wakeupsBefore, slices, restarts, alive: false, lastRestartMs };
    return { records, bytes, wakeups: wakeupsBefore + this.notifier.wakeups(), slices, restarts, alive: this.notifier.alive(), lastRestartMs };
  }

  /** Test hook: makes the wake-up thread exit as if it had failed. */
  haltNotifierForTest(): void {
    this.notifier.halt();
  }

  /** Stops the thread and unmaps the ring; records() ends. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdog);
    this.notifier.stop();
    libbpf().fgs_ring_unmap(this.mapping.consumer, this.mapping.producer, this.mapping.size);
    for (const f of this.onStop) f();
  }

  /** Resolves when the wake-up streams have ended (after stop). */
  async closed(): Promise<void> {
    await Promise.all(this.pendingStreams);
  }
}
