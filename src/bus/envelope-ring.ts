/** A stream's queued messages as bytes in one ring, each in the envelope
 * that gRPC, gRPC-web and Connect streams all write (a flag byte, then the
 * message length big-endian, then the message), so a batch leaves with one
 * copy.
 *
 * Why not a queue of the events' own byte arrays: a slow stream keeps each
 * of them long enough to outlive the young-generation collections, and once
 * old they are garbage only a full collection frees; JSC lets the heap
 * double before it runs one, so an 8 MiB queue cost tens of MB of RSS in a
 * storm. Copied in here, the event's bytes die young, and the queue is one
 * buffer of bounded size. */

/** A flag byte and a big-endian length before each message. */
export const ENVELOPE_BYTES = 5;
/** The ring's size when it starts and after it shrinks. */
const MIN_RING_BYTES = 64 << 10;

export interface EnvelopeSpan {
  readonly messages: number;
  readonly bytes: number;
}

export class EnvelopeRing {
  private ring = new Uint8Array(0);
  private head = 0;
  private used = 0;
  private count = 0;
  /** Most bytes held since the ring was last empty (for shrinking). */
  private peak = 0;

  /** Messages queued. */
  get length(): number {
    return this.count;
  }

  /** Bytes queued, envelopes included. */
  get byteLength(): number {
    return this.used;
  }

  /** Bytes of the ring itself (what the queue holds, used or not). */
  get capacity(): number {
    return this.ring.byteLength;
  }

  /** False (nothing queued) when the message would take the ring past
   * maxBytes; a message alone in the ring may (it must go somewhere). */
  push(message: Uint8Array, maxBytes = Number.POSITIVE_INFINITY): boolean {
    const bytes = ENVELOPE_BYTES + message.byteLength;
    if (this.used + bytes > maxBytes && this.count > 0) return false;
    if (this.used + bytes > this.ring.byteLength) this.grow(this.used + bytes);
    const tail = (this.head + this.used) & (this.ring.byteLength - 1);
    this.writeEnvelope(tail, message.byteLength);
    this.write((tail + ENVELOPE_BYTES) & (this.ring.byteLength - 1), message);
    this.used += bytes;
    this.count++;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** The first messages, up to max of them. */
  span(max: number): EnvelopeSpan {
    let at = this.head;
    let bytes = 0;
    let messages = 0;
    while (messages < max && bytes < this.used) {
      const size = ENVELOPE_BYTES + this.lengthAt(at);
      bytes += size;
      at = (at + size) & (this.ring.byteLength - 1);
      messages++;
    }
    return { messages, bytes };
  }

  /** Copies a span (from span()) into dst and removes it from the ring. */
  takeInto(dst: Uint8Array, span: EnvelopeSpan): void {
    this.copyOut(dst, span.bytes);
    this.head = (this.head + span.bytes) & (this.ring.byteLength - 1);
    this.used -= span.bytes;
    this.count -= span.messages;
    if (this.count === 0) this.emptied();
  }

  /** The first message, copied out (tests, and streams read one by one). */
  shift(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const span = this.span(1);
    const out = new Uint8Array(span.bytes);
    this.takeInto(out, span);
    return out.subarray(ENVELOPE_BYTES);
  }

  clear(): void {
    this.ring = new Uint8Array(0);
    this.head = this.used = this.count = this.peak = 0;
  }

  /** Back to the start; and after a burst, a smaller ring, so a stream that
   * once fell behind does not hold its largest queue for good. */
  private emptied(): void {
    this.head = 0;
    if (this.ring.byteLength > MIN_RING_BYTES && this.peak * 4 <= this.ring.byteLength) {
      this.ring = new Uint8Array(Math.max(MIN_RING_BYTES, this.ring.byteLength / 2));
    }
    this.peak = 0;
  }

  /** A power of two at least need; the queued bytes move to its start. */
  private grow(need: number): void {
    let size = Math.max(MIN_RING_BYTES, this.ring.byteLength);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    this.copyOut(next, this.used);
    this.ring = next;
    this.head = 0;
  }

  /** The first bytes from head, in order, into dst (the ring unchanged). */
  private copyOut(dst: Uint8Array, bytes: number): void {
    if (bytes === 0) return;
    const first = Math.min(bytes, this.ring.byteLength - this.head);
    dst.set(this.ring.subarray(this.head, this.head + first), 0);
    if (first < bytes) dst.set(this.ring.subarray(0, bytes - first), first);
  }

  private writeEnvelope(at: number, length: number): void {
    const mask = this.ring.byteLength - 1;
    this.ring[at] = 0;
    this.ring[(at + 1) & mask] = length >>> 24;
    this.ring[(at + 2) & mask] = (length >>> 16) & 0xff;
    this.ring[(at + 3) & mask] = (length >>> 8) & 0xff;
    this.ring[(at + 4) & mask] = length & 0xff;
  }

  private lengthAt(at: number): number {
    const mask = this.ring.byteLength - 1;
    const r = this.ring;
    return ((r[(at + 1) & mask]! << 24) | (r[(at + 2) & mask]! << 16) | (r[(at + 3) & mask]! << 8) | r[(at + 4) & mask]!) >>> 0;
  }

  private write(at: number, src: Uint8Array): void {
    const first = Math.min(src.byteLength, this.ring.byteLength - at);
    this.ring.set(first === src.byteLength ? src : src.subarray(0, first), at);
    if (first < src.byteLength) this.ring.set(src.subarray(first), 0);
  }
}
