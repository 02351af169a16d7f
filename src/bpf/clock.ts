import { libbpf } from "./libbpf";

/** Wall-clock time as whole seconds since the epoch (a Number: exact for any
 * real clock) and nanoseconds [0, 1e9): what the event encoder writes, with no
 * BigInt per event. */
export interface WallTime {
  seconds: number;
  nanos: number;
}

/** Converts kernel boot-clock nanoseconds (bpf_ktime_get_boot_ns) to wall-clock time. */
export interface Clock {
  bootNsToDate(ns: bigint): Date;
  bootNsToTimestamp(ns: bigint): { seconds: bigint; nanos: number };
  bootNsToWallTime(ns: bigint): WallTime;
  nowBootNs(): bigint;
}

const NS = 1_000_000_000;
/** Boot times below this (~104 days of uptime) convert exactly with Number
 * arithmetic: the value and whole seconds of it stay below 2^53. */
const NUMBER_PATH_LIMIT = 2n ** 53n - 2n ** 31n;

/** ns + offset as a Timestamp; offset given as whole seconds and nanoseconds [0, 1e9). */
export function bootNsPlusOffset(ns: bigint, offsetSeconds: number, offsetNanos: number): { seconds: bigint; nanos: number } {
  const t = bootNsToWall(ns, offsetSeconds, offsetNanos);
  return { seconds: BigInt(t.seconds), nanos: t.nanos };
}

/** The same as a WallTime. */
export function bootNsToWall(ns: bigint, offsetSeconds: number, offsetNanos: number): WallTime {
  if (ns < 0n || ns >= NUMBER_PATH_LIMIT) {
    const wall = ns + BigInt(offsetSeconds) * BigInt(NS) + BigInt(offsetNanos);
    const seconds = wall >= 0n ? wall / BigInt(NS) : (wall - BigInt(NS - 1)) / BigInt(NS);
    return { seconds: Number(seconds), nanos: Number(wall - seconds * BigInt(NS)) };
  }
  // Per event: no BigInt arithmetic (each BigInt operation allocates).
  const n = Number(ns);
  let seconds = Math.floor(n / NS);
  let nanos = n - seconds * NS;
  if (nanos < 0) [seconds, nanos] = [seconds - 1, nanos + NS];
  else if (nanos >= NS) [seconds, nanos] = [seconds + 1, nanos - NS];
  seconds += offsetSeconds;
  nanos += offsetNanos;
  if (nanos >= NS) [seconds, nanos] = [seconds + 1, nanos - NS];
  return { seconds, nanos };
}

export function systemClock(): Clock {
  const offset = BigInt(libbpf().fgs_boot_to_realtime_offset_ns());
  const big = BigInt(NS);
  const offsetSeconds = offset >= 0n ? offset / big : (offset - big + 1n) / big;
  const offsetNanos = Number(offset - offsetSeconds * big);
  return {
    bootNsToTimestamp: (ns) => bootNsPlusOffset(ns, Number(offsetSeconds), offsetNanos),
    bootNsToWallTime: (ns) => bootNsToWall(ns, Number(offsetSeconds), offsetNanos),
    bootNsToDate: (ns) => new Date(Number((ns + offset) / 1_000_000n)),
    nowBootNs: () => BigInt(libbpf().fgs_boottime_ns()),
  };
}
