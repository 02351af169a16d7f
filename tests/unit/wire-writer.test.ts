// The hand-written protobuf writer against protobuf-es's BinaryWriter, for
// the string forms that take different paths: short ASCII (byte by byte),
// non-ASCII, and texts whose length needs a two- or three-byte varint.
import { describe, expect, test } from "bun:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { WireWriter } from "../../src/common/wire-writer";

function reference(no: number, s: string): Uint8Array {
  return new BinaryWriter().tag(no, WireType.LengthDelimited).string(s).finish();
}

function ours(no: number, s: string): Uint8Array {
  const w = new WireWriter();
  w.string(no, s);
  return w.finish();
}

const TEXTS: [string, string][] = [
  ["empty", ""],
  ["short ASCII", "/usr/bin/true"],
  ["127 ASCII characters", "a".repeat(127)],
  ["128 ASCII characters", "b".repeat(128)],
  ["ASCII with a control character", "x\u0000y\u007f"],
  ["non-ASCII after ASCII", "node-ü"],
  ["non-ASCII first", "ünïcode"],
  ["emoji and a lone surrogate", "😀 \ud800 end"],
  ["long non-ASCII", "é".repeat(100)],
  ["20,000 ASCII characters", "c".repeat(20_000)],
];

describe("WireWriter.string matches protobuf-es", () => {
  for (const [name, s] of TEXTS) {
    test(name, () => {
      expect(ours(7, s)).toEqual(reference(7, s));
    });
  }

  test("strings after other fields and in a nested message keep the buffer consistent", () => {
    const w = new WireWriter();
    const mark = w.fork(1);
    for (const [, s] of TEXTS) w.string(2, s);
    w.join(mark);
    const inner = new BinaryWriter();
    for (const [, s] of TEXTS) inner.tag(2, WireType.LengthDelimited).string(s);
    const expected = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(inner.finish()).finish();
    expect(w.finish()).toEqual(expected);
  });
});

describe("WireWriter varints without BigInt match protobuf-es", () => {
  const VALUES = [0n, 1n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 0x0123456789abcdefn];

  test("varintHiLo writes the 64-bit value of its halves", () => {
    for (const v of VALUES) {
      const w = new WireWriter();
      w.varintHiLo(Number(v >> 32n), Number(v & 0xffffffffn));
      expect([v, w.finish()]).toEqual([v, new BinaryWriter().uint64(v).finish()]);
    }
  });

  test("varint and varint64 write every value up to 2^53 (integer shifts below 2^32, division above)", () => {
    for (const v of VALUES.filter((x) => x < 2n ** 53n)) {
      const w = new WireWriter();
      w.varint(Number(v));
      w.varint64(v);
      const expected = new BinaryWriter().uint64(v).uint64(v).finish();
      expect([v, w.finish()]).toEqual([v, expected]);
    }
  });

  test("int32 writes negative values sign-extended to ten bytes", () => {
    for (const n of [0, 1, -1, -2, 2 ** 31 - 1, -(2 ** 31), -5, -300]) {
      const w = new WireWriter();
      w.int32(n);
      expect([n, w.finish()]).toEqual([n, new BinaryWriter().int32(n).finish()]);
    }
  });
});
