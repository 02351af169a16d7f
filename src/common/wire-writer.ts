/** A small protobuf wire writer for the event encoder's hot path: one
 * growable buffer, nested messages written in place with a reserved length
 * byte (widened when a body turns out to be 128 bytes or more). */

export const VARINT = 0;
const SAFE_LIMIT = 2n ** 53n;
export const I64 = 1;
export const LEN = 2;

function varintLength(n: number): number {
  let size = 1;
  for (; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  return size;
}

export class WireWriter {
  private buf = new Uint8Array(4096);
  private at = 0;
  private readonly text = new TextEncoder();
  private resets = 0;

  /** Counts resets: a view() is valid while this is unchanged. */
  get generation(): number {
    return this.resets;
  }

  reset(): void {
    this.at = 0;
    this.resets++;
  }

  /** A copy of what was written since reset. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }

  /** What was written since reset, in place: valid only until the next
   * reset (or growth), so only for a caller that copies it at once. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  /** An unsigned value below 2^53. */
  varint(n: number): void {
    this.room(10);
    if (n <= 0xffffffff) {
      // Integer shifts, not float division: tags and lengths all take this path.
      while (n > 0x7f) {
        this.buf[this.at++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.at++] = n;
      return;
    }
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  /** Any 64-bit value (negative ones as their two's complement). */
  varint64(v: bigint): void {
    if (v >= 0n && v < SAFE_LIMIT) return this.varint(Number(v));
    let u = BigInt.asUintN(64, v);
    this.room(10);
    while (u >= 0x80n) {
      this.buf[this.at++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.at++] = Number(u);
  }

  /** A 64-bit value given as its two 32-bit halves (unsigned), without a BigInt. */
  varintHiLo(hi: number, lo: number): void {
    this.room(10);
    while (hi !== 0 || lo >= 0x80) {
      this.buf[this.at++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.at++] = lo;
  }

  /** int32: negative values take ten bytes, sign-extended. */
  int32(n: number): void {
    if (n >= 0) return this.varint(n);
    this.varintHiLo(0xffffffff, n >>> 0);
  }

  tag(no: number, wireType: number): void {
    this.varint(no * 8 + wireType);
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.byteLength);
    this.buf.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  bytes(no: number, b: Uint8Array): void {
    this.tag(no, LEN);
    this.varint(b.byteLength);
    this.raw(b);
  }

  string(no: number, s: string): void {
    this.tag(no, LEN);
    if (s.length < 0x80 && this.ascii(s)) return;
    // One byte reserved for the length, the text encoded in place after it;
    // a length of 128 or more shifts the text right to make room.
    this.room(5 + s.length * 3);
    const lenAt = this.at;
    const start = lenAt + 1;
    const { written } = this.text.encodeInto(s, this.buf.subarray(start));
    if (written < 0x80) {
      this.buf[lenAt] = written;
      this.at = start + written;
      return;
    }
    const extra = varintLength(written) - 1;
    this.buf.copyWithin(start + extra, start, start + written);
    this.at = lenAt;
    this.varint(written);
    this.at = start + extra + written;
  }

  /** Short ASCII text (names, paths) byte by byte: cheaper than a subarray
   * and a native encodeInto per string. False, with nothing written, otherwise. */
  private ascii(s: string): boolean {
    this.room(1 + s.length);
    const b = this.buf;
    const start = this.at + 1;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      b[start + i] = c;
    }
    b[this.at] = s.length;
    this.at = start + s.length;
    return true;
  }

  /** Starts a length-delimited field; returns the mark for join(). */
  fork(no: number): number {
    this.tag(no, LEN);
    this.room(1);
    return this.at++;
  }

  join(mark: number): void {
    const len = this.at - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const extra = varintLength(len) - 1;
    this.room(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.at);
    const end = this.at + extra;
    this.at = mark;
    this.varint(len);
    this.at = end;
  }

  /** Optional-free proto3 scalars: nothing is written for the default. */
  stringIfSet(no: number, s: string): void {
    if (s.length > 0) this.string(no, s);
  }

  uintIfSet(no: number, n: number): void {
    if (n !== 0) {
      this.tag(no, VARINT);
      this.varint(n);
    }
  }

  uint64IfSet(no: number, n: bigint): void {
    if (n !== 0n) {
      this.tag(no, VARINT);
      this.varint64(n);
    }
  }
}
