// A protobuf wire-format reader for the few fields the benchmarks need from
// a GetEventsResponse, so the client's decoding cost stays small next to the
// agent's. Field numbers: proto/tetragon/tetragon.proto.

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;

export type EventKind = "exec" | "exit" | "kprobe" | "tracepoint" | "test" | "other";

export interface EventSummary {
  kind: EventKind;
  pid: number;
  binary: string;
  args: string;
  fn: string;
  bytes: number;
}

const KIND_BY_FIELD: ReadonlyMap<number, EventKind> = new Map([
  [1, "exec"],
  [5, "exit"],
  [9, "kprobe"],
  [10, "tracepoint"],
  [40000, "test"],
]);

const utf8 = new TextDecoder();

/** Walks the fields of one message: after next() returns true, num, wire,
 * value (varints) and start/end (length-delimited) describe the field. */
class Cursor {
  num = 0;
  wire = 0;
  value = 0;
  start = 0;
  end = 0;
  private pos: number;

  constructor(private readonly buf: Uint8Array, from: number, private readonly limit: number) {
    this.pos = from;
  }

  next(): boolean {
    if (this.pos >= this.limit) return false;
    const tag = this.varint();
    this.num = Math.floor(tag / 8);
    this.wire = tag % 8;
    this.skipValue();
    return true;
  }

  private skipValue(): void {
    if (this.wire === VARINT) this.value = this.varint();
    else if (this.wire === LEN) {
      const n = this.varint();
      this.start = this.pos;
      this.end = this.pos + n;
      this.pos = this.end;
    } else if (this.wire === I64) this.pos += 8;
    else if (this.wire === I32) this.pos += 4;
    else throw new Error(`wire type ${this.wire} not supported`);
  }

  private varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error("truncated varint");
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  }
}

function readProcess(buf: Uint8Array, start: number, end: number, out: EventSummary): void {
  const c = new Cursor(buf, start, end);
  while (c.next()) {
    if (c.num === 2 && c.wire === LEN) out.pid = readWrapperU32(buf, c.start, c.end);
    else if (c.num === 5 && c.wire === LEN) out.binary = utf8.decode(buf.subarray(c.start, c.end));
    else if (c.num === 6 && c.wire === LEN) out.args = utf8.decode(buf.subarray(c.start, c.end));
  }
}

function readWrapperU32(buf: Uint8Array, start: number, end: number): number {
  const c = new Cursor(buf, start, end);
  while (c.next()) if (c.num === 1 && c.wire === VARINT) return c.value;
  return 0;
}

function readEvent(buf: Uint8Array, start: number, end: number, out: EventSummary): void {
  const c = new Cursor(buf, start, end);
  while (c.next()) {
    if (c.num === 1 && c.wire === LEN) readProcess(buf, c.start, c.end, out);
    else if (c.num === 3 && c.wire === LEN && out.kind === "kprobe") out.fn = utf8.decode(buf.subarray(c.start, c.end));
  }
}

/** Decodes the kind, process pid/binary/arguments and (kprobes) function name. */
export function summarize(buf: Uint8Array): EventSummary {
  const out: EventSummary = { kind: "other", pid: 0, binary: "", args: "", fn: "", bytes: buf.length };
  const c = new Cursor(buf, 0, buf.length);
  while (c.next()) {
    const kind = c.wire === LEN ? KIND_BY_FIELD.get(c.num) : undefined;
    if (kind === undefined) continue;
    out.kind = kind;
    readEvent(buf, c.start, c.end, out);
  }
  return out;
}
