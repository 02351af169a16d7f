import { libbpf } from "./libbpf";

/** Converts kernel boot-clock nanoseconds (bpf_ktime_get_boot_ns) to wall-clock time. */
export interface Clock {
  bootNsToDate(ns: bigint): Date;
  bootNsToTimestamp(ns: bigint): { seconds: bigint; nanos: number };
  nowBootNs(): bigint;
}

export function systemClock(): Clock {
  const offset = BigInt(libbpf().fgs_boot_to_realtime_offset_ns());
  const toTimestamp = (ns: bigint) => {
    const wall = ns + offset;
    return { seconds: wall / 1_000_000_000n, nanos: Number(wall % 1_000_000_000n) };
  };
  return {
    bootNsToTimestamp: toTimestamp,
    bootNsToDate: (ns) => new Date(Number((ns + offset) / 1_000_000n)),
    nowBootNs: () => BigInt(libbpf().fgs_boottime_ns()),
  };
}
