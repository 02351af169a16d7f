import { describe, expect, test } from "bun:test";
import { EnvelopeRing } from "../../src/bus/envelope-ring";

/** A message whose bytes say which one it is: its index in every byte, and its length varies. */
function message(k: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(k & 0xff);
}

/** Reads enveloped messages back the way a gRPC client would. */
function unenvelope(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.byteLength; ) {
    expect(view.getUint8(at)).toBe(0);
    const len = view.getUint32(at + 1);
    out.push(bytes.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

function take(ring: EnvelopeRing, max: number): Uint8Array[] {
  const span = ring.span(max);
  const dst = new Uint8Array(span.bytes);
  ring.takeInto(dst, span);
  return unenvelope(dst);
}

describe("envelope ring (a stream's queued bytes)", () => {
  test("messages come out whole and in order across many wraps, with envelopes that split at the ring's end", () => {
    const ring = new EnvelopeRing();
    let next = 0;
    let expected = 0;
    const size = (k: number) => 97 + ((k * 131) % 1900);
    for (; next < 20; next++) ring.push(message(next, size(next)));
    for (let round = 0; round < 400; round++) {
      // sizes that do not divide the ring: envelopes land on every offset
      for (let i = 0; i < 7; i++) ring.push(message(next, size(next))), next++;
      for (const m of [...take(ring, 4), ...take(ring, 3)]) {
        expect(m.byteLength).toBe(size(expected));
        expect(m.every((b) => b === (expected & 0xff))).toBe(true);
        expected++;
      }
      expect(ring.length).toBe(next - expected);
    }
    expect(ring.capacity).toBe(64 << 10);
    while (ring.length > 0) for (const m of take(ring, 3)) expect(m[0]).toBe(expected++ & 0xff);
    expect(expected).toBe(next);
    expect(ring.byteLength).toBe(0);
  });

  test("it grows while wrapped without reordering, and counts bytes with their envelopes", () => {
    const ring = new EnvelopeRing();
    for (let k = 0; k < 60; k++) ring.push(message(k, 1000));
    expect(take(ring, 50).map((m) => m[0])).toEqual([...Array(50).keys()]);
    // the tail is near the end of a 64 KiB ring and the head past its middle: this wraps, then grows
    for (let k = 60; k < 300; k++) ring.push(message(k, 1000));
    expect(ring.capacity).toBe(256 << 10);
    expect(ring.length).toBe(250);
    expect(ring.byteLength).toBe(250 * 1005);
    expect(take(ring, 1000).map((m) => m[0])).toEqual([...Array(250).keys()].map((k) => (k + 50) & 0xff));
  });

  test("a ring that held a burst shrinks once it is drained and stays small", () => {
    const ring = new EnvelopeRing();
    for (let k = 0; k < 4000; k++) ring.push(message(k, 1000));
    expect(ring.capacity).toBe(4 << 20);
    take(ring, 4000);
    for (let round = 0; round < 8; round++) {
      ring.push(message(round, 100));
      take(ring, 1);
    }
    expect(ring.capacity).toBe(64 << 10);
    expect(ring.shift()).toBeUndefined();
  });

  test("shift copies one message out", () => {
    const ring = new EnvelopeRing();
    ring.push(Uint8Array.of(1, 2, 3));
    ring.push(new Uint8Array(0));
    ring.push(Uint8Array.of(4));
    expect([...(ring.shift() ?? [])]).toEqual([1, 2, 3]);
    expect(ring.shift()?.byteLength).toBe(0);
    expect([...(ring.shift() ?? [])]).toEqual([4]);
    expect(ring.length).toBe(0);
  });
});
