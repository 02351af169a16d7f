// The reader's wait between slices of a steady trickle (src/reader/ring-reader.ts):
// it grows only while records keep arriving at the batching rate (1 per ms at
// the default longest wait, lower for a longer one), shrinks when they slow,
// never lets a quarter of the ring fill, and 0 turns it off.
import { expect, test } from "bun:test";
import { batchRate, firstLinger, lingerAfterWakeup, nextLinger } from "../../src/reader/ring-reader";

const RING = 8 << 20;
const found = (records: number, bytes = records * 100) => ({ records, bytes });

test("a wake-up starts with 1 ms; a steady 1-per-ms trickle doubles it up to the maximum", () => {
  let ms = nextLinger(0, found(3), RING, 16);
  const seen = [ms];
  for (let i = 0; i < 6; i++) seen.push((ms = nextLinger(ms, found(ms * 2), RING, 16)));
  expect(seen).toEqual([1, 2, 4, 8, 16, 16, 16]);
});

test("100 execs/s (a burst of 3 records every 10 ms) never waits more than 2 ms", () => {
  expect(nextLinger(1, found(1), RING, 16)).toBe(2); // the exit after the exec
  expect(nextLinger(2, found(1), RING, 16)).toBe(2); // below 1 per ms: no growth
  expect(nextLinger(4, found(1), RING, 16)).toBe(2); // well below: halved
  expect(nextLinger(2, found(0), RING, 16)).toBe(1);
});

test("a small ring bounds the wait: a quarter of it at the bytes rate seen", () => {
  // 8 KiB ring, 1 KiB found in 1 ms: 2 ms fill a quarter.
  expect(nextLinger(1, found(4, 1024), 8192, 16)).toBe(2);
  expect(nextLinger(2, found(8, 4096), 8192, 16)).toBe(1);
});

test("a maximum of 0 never lingers; other maxima cap the growth", () => {
  expect(nextLinger(0, found(5), RING, 0)).toBe(0);
  expect(nextLinger(4, found(100), RING, 4)).toBe(4);
  expect(nextLinger(64, found(1000), RING, 100)).toBe(100);
});

test("a longer longest wait lowers the batching rate in proportion; 0 never batches", () => {
  expect(batchRate(16)).toBe(1);
  expect(batchRate(100)).toBeCloseTo(0.16);
  expect(batchRate(4)).toBe(1); // shorter maxima keep the default rate
  expect(batchRate(0)).toBe(Infinity);
  // 0.3 records/ms batches under a 100 ms longest wait, not under 16 ms.
  expect(nextLinger(8, found(3), RING, 100, batchRate(100))).toBe(16);
  expect(nextLinger(8, found(3), RING, 16, batchRate(16))).toBe(4);
});

test("a wait that finds nothing halves down to 1 ms", () => {
  expect(nextLinger(16, found(0), RING, 100)).toBe(8);
  expect(nextLinger(1, found(0), RING, 100)).toBe(1);
});

test("after a wake-up, a wait only when the gaps are short enough for batching to pay", () => {
  expect(lingerAfterWakeup(0.5, batchRate(16))).toBe(true);
  expect(lingerAfterWakeup(3, batchRate(16))).toBe(false); // 0.3 per ms: a timer per record for nothing
  expect(lingerAfterWakeup(3, batchRate(100))).toBe(true);
  expect(lingerAfterWakeup(Infinity, batchRate(100))).toBe(false);
  // The first wait spans about two records at the rate the gaps show.
  expect(firstLinger(0.2, 16)).toBe(1);
  expect(firstLinger(3, 100)).toBe(6);
  expect(firstLinger(30, 16)).toBe(16);
});
