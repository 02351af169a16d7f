/** Wire bytes of an event, built once and shared by every stream (and the
 * fgs edition when the bytes are the same). The Process sub-messages are
 * spliced in from the process cache's bytes (src/cache/process-message.ts)
 * as pre-encoded fields; the result decodes to the same message. */
import { clone, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { GetEventsResponseSchema, ProcessSchema, type GetEventsResponse, type KprobeArgument, type Process } from "../../gen/tetragon/tetragon_pb";
import { encodedWithoutRefcnt } from "../cache/process-message";

const PROCESS_FIELD = 1;
const PARENT_FIELD = 2;
/** Process.refcnt = 13, varint: tag byte (13 << 3) | 0. */
const REFCNT_TAG = 0x68;

type UnknownField = { no: number; wireType: WireType; data: Uint8Array };

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

/** A length-delimited Process field: [length][bytes without refcnt][refcnt]. */
function processField(no: number, p: Process): UnknownField {
  const bytes = encodedWithoutRefcnt(p) ?? toBinary(ProcessSchema, { ...p, refcnt: 0 });
  const tail = p.refcnt > 0 ? 1 + varintSize(p.refcnt) : 0;
  const len = bytes.byteLength + tail;
  const data = new Uint8Array(varintSize(len) + len);
  let at = writeVarint(data, 0, len);
  data.set(bytes, at);
  at += bytes.byteLength;
  if (tail > 0) {
    data[at++] = REFCNT_TAG;
    writeVarint(data, at, p.refcnt);
  }
  return { no, wireType: WireType.LengthDelimited, data };
}

/** GetEventsResponse wire bytes, splicing the process and parent. */
export function encodeResponse(ev: GetEventsResponse): Uint8Array {
  const e = ev.event;
  if (e.case === undefined || e.case === "test" || e.case === "processDns" || !e.value.process) return toBinary(GetEventsResponseSchema, ev);
  const inner = e.value;
  const spliced = [processField(PROCESS_FIELD, inner.process as Process)];
  if (inner.parent) spliced.push(processField(PARENT_FIELD, inner.parent));
  const shell = { ...inner, process: undefined, parent: undefined, $unknown: [...(inner.$unknown ?? []), ...spliced] };
  return toBinary(GetEventsResponseSchema, { ...ev, event: { case: e.case, value: shell } } as GetEventsResponse);
}

function argsOf(ev: GetEventsResponse): (KprobeArgument | undefined)[] {
  const e = ev.event;
  if (e.case === "processKprobe") return [...e.value.args, e.value.return];
  if (e.case === "processTracepoint") return e.value.args;
  return [];
}

export function hasLongArg(ev: GetEventsResponse): boolean {
  return argsOf(ev).some((a) => a?.arg.case === "longArg");
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The fgs edition has no long_arg: a value that fits int32 becomes int_arg,
 * any other becomes size_arg (its two's-complement uint64). */
function withoutLongArg(arg: KprobeArgument | undefined): void {
  if (arg?.arg.case !== "longArg") return;
  const v = arg.arg.value;
  arg.arg = v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX) ? { case: "intArg", value: Number(v) } : { case: "sizeArg", value: BigInt.asUintN(64, v) };
}

/** The event as the fgs edition carries it. Events are shared by every
 * stream: this copies before changing anything. */
export function downgradeEvent(shared: GetEventsResponse): GetEventsResponse {
  if (!hasLongArg(shared)) return shared;
  const ev = clone(GetEventsResponseSchema, shared);
  const e = ev.event;
  if (e.case === "processKprobe") {
    e.value.args.forEach(withoutLongArg);
    withoutLongArg(e.value.return);
  } else if (e.case === "processTracepoint") {
    e.value.args.forEach(withoutLongArg);
  }
  return ev;
}
