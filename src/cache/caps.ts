import { CapabilitiesType } from "../../gen/tetragon/tetragon_pb";

const HIGHEST = CapabilitiesType.CAP_CHECKPOINT_RESTORE;

/** A capability bit set as the list of CapabilitiesType values, lowest first.
 * Bits past the highest known capability are dropped (the enum cannot name them). */
export function capList(bits: bigint): CapabilitiesType[] {
  const out: CapabilitiesType[] = [];
  for (let i = 0; i <= HIGHEST; i++) {
    if ((bits >> BigInt(i)) & 1n) out.push(i as CapabilitiesType);
  }
  return out;
}

/** Parses a hex capability mask as /proc/PID/status prints it (CapEff: 000001ffffffffff). */
export function parseCapHex(hex: string): bigint {
  return /^[0-9a-fA-F]+$/.test(hex) ? BigInt(`0x${hex}`) : 0n;
}
