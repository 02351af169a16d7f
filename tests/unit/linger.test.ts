// The reader's wait between slices of a steady trickle (src/reader/ring-reader.ts):
// it grows only while records keep arriving at 1 per ms or more, shrinks when
// they slow, never lets a quarter of the ring fill, and 0 turns it off.
import { expect, test } from "bun:test";
import { nextLinger } from "../../src/reader/ring-reader";

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
