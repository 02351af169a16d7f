// Boot-clock nanoseconds to wall-clock Timestamps: the per-event Number
// arithmetic against BigInt arithmetic, around its limits.
import { expect, test } from "bun:test";
import { bootNsPlusOffset, bootNsToWall } from "../../src/bpf/clock";

const NS = 1_000_000_000n;

function reference(ns: bigint, offsetSeconds: number, offsetNanos: number): { seconds: bigint; nanos: number } {
  const wall = ns + BigInt(offsetSeconds) * NS + BigInt(offsetNanos);
  let seconds = wall / NS;
  if (wall < 0n && wall % NS !== 0n) seconds -= 1n;
  return { seconds, nanos: Number(wall - seconds * NS) };
}

const BOOT_TIMES = [0n, 1n, NS - 1n, NS, NS + 1n, 123_456_789_012_345n, 2n ** 52n, 2n ** 53n - 2n ** 31n - 1n, 2n ** 53n - 2n ** 31n, 2n ** 53n, 2n ** 60n + 7n];
const OFFSETS: [number, number][] = [[0, 0], [1_764_612_000, 999_999_999], [1_764_612_000, 1], [-5, 500_000_000]];

test("every boot time converts exactly, on both sides of the Number path's limit", () => {
  for (const ns of BOOT_TIMES) for (const [s, n] of OFFSETS) expect([ns, s, n, bootNsPlusOffset(ns, s, n)]).toEqual([ns, s, n, reference(ns, s, n)]);
});

test("random boot times of the Number path convert exactly", () => {
  for (let i = 0; i < 10_000; i++) {
    const ns = BigInt(Math.floor(Math.random() * 2 ** 52)) * 2n + BigInt(i % 2);
    expect(bootNsPlusOffset(ns, 1_764_612_345, 678_901_234)).toEqual(reference(ns, 1_764_612_345, 678_901_234));
  }
});

test("the encoder's wall time (seconds as a Number) is the same time", () => {
  for (const ns of BOOT_TIMES)
    for (const [s, n] of OFFSETS) {
      const r = reference(ns, s, n);
      expect([ns, s, n, bootNsToWall(ns, s, n)]).toEqual([ns, s, n, { seconds: Number(r.seconds), nanos: r.nanos }]);
    }
});
