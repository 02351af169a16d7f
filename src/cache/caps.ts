import { CapabilitiesType } from "../../gen/tetragon/tetragon_pb";

const HIGHEST = CapabilitiesType.CAP_CHECKPOINT_RESTORE;

/** A capability bit set as the list of CapabilitiesType values, lowest first.
 * Bits past the highest known capability are dropped (the enum cannot name them). */
export function capList(bits: bigint): CapabilitiesType[] {
  // Two 32-bit words: number shifts instead of one BigInt shift per bit (once per exec).
  const words = [Number(BigInt.asUintN(32, bits)), Number(BigInt.asUintN(32, bits >> 32n))];
  const out: CapabilitiesType[] = [];
  for (let i = 0; i <= HIGHEST; i++) {
    if (((words[i >>> 5] ?? 0) >>> (i & 31)) & 1) out.push(i as CapabilitiesType);
  }
  return out;
}

/** Parses a hex capability mask as /proc/PID/status prints it (CapEff: 000001ffffffffff). */
export function parseCapHex(hex: string): bigint {
  return /^[0-9a-fA-F]+$/.test(hex) ? BigInt(`0x${hex}`) : 0n;
}
