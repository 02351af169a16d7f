/** Little-endian reads straight from a record's bytes. A DataView per record
 * was an allocation per event, and one cached per buffer costs a `.buffer`
 * read per record, which JSC does slowly on a view (5% of a storm's samples). */

export function u8(b: Uint8Array, at: number): number {
  return b[at]!;
}

export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

const U64_BYTES = new Uint8Array(8);
const U64_VIEW = new DataView(U64_BYTES.buffer);

export function u64(b: Uint8Array, at: number): bigint {
  for (let i = 0; i < 8; i++) U64_BYTES[i] = b[at + i]!;
  return U64_VIEW.getBigUint64(0, true);
}
