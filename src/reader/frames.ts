/** Splits the reader thread's byte stream ([u32 length][record]…) back into records.
 * Chunks may cut a frame anywhere; the remainder is kept for the next chunk. */
export class FrameSplitter {
  private pending: Uint8Array = new Uint8Array(0);

  *push(chunk: Uint8Array): Generator<Uint8Array> {
    let buf = chunk;
    if (this.pending.byteLength > 0) {
      buf = new Uint8Array(this.pending.byteLength + chunk.byteLength);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.byteLength);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    while (off + 4 <= buf.byteLength) {
      const len = view.getUint32(off, true);
      if (off + 4 + len > buf.byteLength) break;
      yield buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
    }
    this.pending = off === buf.byteLength ? new Uint8Array(0) : buf.slice(off);
  }

  get bufferedBytes(): number {
    return this.pending.byteLength;
  }
}
