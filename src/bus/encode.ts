/** Wire bytes of an event, built once and shared by every stream. The hot
 * event kinds (exec, exit, kprobe, tracepoint, uprobe, lsm, usdt) and the
 * export's rate_limit_info are written by hand (field numbers: ../shared/facts/wire-numbers.md)
 * with each Process copied from the process cache's bytes; anything else
 * (aggregated, unknown fields, a schema field this writer does not know)
 * goes through protobuf-es. tests/encode.test.ts checks that both decode to
 * the same message. */
import { clone, toBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  GetEventsResponseSchema,
  KprobeArgumentSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessKprobeSchema,
  ProcessSchema,
  ProcessTracepointSchema,
  ProcessUprobeSchema,
  ProcessLsmSchema,
  ProcessUsdtSchema,
  RateLimitInfoSchema,
  type GetEventsResponse,
  type KprobeArgument,
  type Process,
  type ProcessExec,
  type ProcessExit,
  type ProcessKprobe,
  type ProcessTracepoint,
  type ProcessUprobe,
  type ProcessLsm,
  type ProcessUsdt,
  type RateLimitInfo,
} from "../../gen/tetragon/tetragon_pb";
import { encodedProcess } from "../cache/process-message";
import { VARINT, WireWriter } from "../common/wire-writer";

/** Field numbers the hand writer covers, per message. */
export const HAND_WRITTEN: ReadonlyArray<[DescMessage, readonly number[]]> = [
  [GetEventsResponseSchema, [1, 5, 9, 10, 12, 14, 28, 29, 40000, 40001, 1000, 1001, 1002]],
  [ProcessExecSchema, [1, 2, 3]],
  [ProcessExitSchema, [1, 2, 3, 4]],
  [ProcessKprobeSchema, [1, 2, 3, 4, 5, 6, 8, 10, 11]],
  [ProcessTracepointSchema, [1, 2, 4, 5, 6, 7, 8, 9, 10]],
  [ProcessUprobeSchema, [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]],
  [ProcessLsmSchema, [1, 2, 3, 5, 6, 7, 8, 9]],
  [ProcessUsdtSchema, [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]],
  [RateLimitInfoSchema, [1]],
  // 12..30: message-valued kernel-struct arguments, written by protobuf-es (default branch)
  [KprobeArgumentSchema, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 20, 21, 26, 27, 29, 30]],
];

/** A field added to the schema later makes the hand writer step aside. */
function covered(schema: DescMessage, numbers: readonly number[]): boolean {
  return schema.fields.every((f) => numbers.includes(f.number));
}

export const HAND_WRITER_COVERS_SCHEMA = HAND_WRITTEN.every(([s, n]) => covered(s, n));

const w = new WireWriter();

function processAndParent(e: { process?: Process; parent?: Process }): void {
  if (e.process) writeProcess(w, 1, e.process);
  if (e.parent) writeProcess(w, 2, e.parent);
}

function argField(no: number, a: KprobeArgument): void {
  const mark = w.fork(no);
  writeArgValue(a);
  w.join(mark);
}

function writeArgValue(a: KprobeArgument): void {
  const v = a.arg;
  switch (v.case) {
    case undefined:
      break;
    case "stringArg":
      w.string(1, v.value);
      break;
    case "intArg":
      w.tag(2, VARINT);
      w.int32(v.value);
      break;
    case "sizeArg":
      w.tag(4, VARINT);
      w.varint64(v.value);
      break;
    case "bytesArg":
      w.bytes(5, v.value);
      break;
    case "longArg":
      w.tag(11, VARINT);
      w.varint64(v.value);
      break;
    default:
      // Message-valued arguments (file, path, sock, ...): protobuf-es writes the
      // whole argument, label included.
      w.raw(toBinary(KprobeArgumentSchema, a));
      return;
  }
  w.stringIfSet(18, a.label);
}

function strings(no: number, list: readonly string[]): void {
  for (const t of list) w.string(no, t);
}

function kprobe(k: ProcessKprobe): void {
  processAndParent(k);
  w.stringIfSet(3, k.functionName);
  for (const a of k.args) argField(4, a);
  if (k.return) argField(5, k.return);
  w.uintIfSet(6, k.action);
  w.stringIfSet(8, k.policyName);
  w.stringIfSet(10, k.message);
  strings(11, k.tags);
}

function tracepoint(t: ProcessTracepoint): void {
  processAndParent(t);
  w.stringIfSet(4, t.subsys);
  w.stringIfSet(5, t.event);
  for (const a of t.args) argField(6, a);
  w.stringIfSet(7, t.policyName);
  w.uintIfSet(8, t.action);
  w.stringIfSet(9, t.message);
  strings(10, t.tags);
}

function uprobe(u: ProcessUprobe): void {
  processAndParent(u);
  w.stringIfSet(3, u.path);
  w.stringIfSet(4, u.symbol);
  w.stringIfSet(5, u.policyName);
  w.stringIfSet(6, u.message);
  for (const a of u.args) argField(7, a);
  strings(8, u.tags);
  w.uint64IfSet(10, u.offset);
  w.uint64IfSet(11, u.refCtrOffset);
  w.uintIfSet(12, u.action);
}

function lsm(l: ProcessLsm): void {
  processAndParent(l);
  w.stringIfSet(3, l.functionName);
  w.stringIfSet(5, l.policyName);
  w.stringIfSet(6, l.message);
  for (const a of l.args) argField(7, a);
  w.uintIfSet(8, l.action);
  strings(9, l.tags);
}

function usdt(u: ProcessUsdt): void {
  processAndParent(u);
  w.stringIfSet(3, u.path);
  w.stringIfSet(4, u.provider);
  w.stringIfSet(5, u.name);
  w.stringIfSet(6, u.policyName);
  w.stringIfSet(7, u.message);
  for (const a of u.args) argField(8, a);
  strings(9, u.tags);
  w.uintIfSet(11, u.action);
}

function rateLimitInfo(r: RateLimitInfo): void {
  w.uint64IfSet(1, r.numberOfDroppedProcessEvents);
}

function exec(e: ProcessExec): void {
  processAndParent(e);
  for (const a of e.ancestors) writeProcess(w, 3, a);
}

function exit(e: ProcessExit): void {
  processAndParent(e);
  w.stringIfSet(3, e.signal);
  w.uintIfSet(4, e.status);
}

const EVENT_FIELD = { processExec: 1, processExit: 5, processKprobe: 9, processTracepoint: 10, processUprobe: 12, processLsm: 28, processUsdt: 29, rateLimitInfo: 40001 } as const;

function handWritable(ev: GetEventsResponse): boolean {
  const c = ev.event.case;
  return HAND_WRITER_COVERS_SCHEMA && ev.aggregationInfo === undefined && ev.$unknown === undefined && c !== undefined && c in EVENT_FIELD && ev.event.value?.$unknown === undefined;
}

function eventBody(_: WireWriter, ev: GetEventsResponse): void {
  event(ev);
}

function event(ev: GetEventsResponse): void {
  const e = ev.event;
  if (e.case === "processExec") exec(e.value);
  else if (e.case === "processExit") exit(e.value);
  else if (e.case === "processKprobe") kprobe(e.value);
  else if (e.case === "processTracepoint") tracepoint(e.value);
  else if (e.case === "processUprobe") uprobe(e.value);
  else if (e.case === "processLsm") lsm(e.value);
  else if (e.case === "processUsdt") usdt(e.value);
  else if (e.case === "rateLimitInfo") rateLimitInfo(e.value);
}

/** How the encoder hands its bytes over: a copy of their own, or a view of
 * the shared writer that the next encoding overwrites (see encoderGeneration). */
export type Output = "copy" | "view";

/** GetEventsResponse wire bytes. */
export function encodeResponse(ev: GetEventsResponse, output: Output = "copy"): Uint8Array {
  if (!handWritable(ev)) return toBinary(GetEventsResponseSchema, ev);
  return encodeEvent(EVENT_FIELD[ev.event.case as keyof typeof EVENT_FIELD], eventBody, ev, ev.nodeName, ev.time, output);
}

/** Changes with every encoding: a "view" output is valid while this is unchanged. */
export function encoderGeneration(): number {
  return w.generation;
}

/** A GetEventsResponse whose event (field `eventField`) `body(w, of)` writes
 * with the shared writer (src/decode/generic-wire.ts writes policy events from
 * their kernel records this way). body and of are apart so that no closure
 * is made per event. */
export function encodeEvent<T>(
  eventField: number,
  body: (w: WireWriter, of: T) => void,
  of: T,
  nodeName: string,
  time: EventTime | undefined,
  output: Output = "copy",
): Uint8Array {
  w.reset();
  // In field-number order, as protobuf-es writes them: 40001 follows node_name and time.
  const eventFirst = eventField < NODE_NAME_FIELD;
  if (!eventFirst) nodeAndTime(nodeName, time);
  const mark = w.fork(eventField);
  body(w, of);
  w.join(mark);
  if (eventFirst) nodeAndTime(nodeName, time);
  return output === "view" ? w.view() : w.finish();
}

const NODE_NAME_FIELD = 1000;

/** A Timestamp message's fields (seconds as the message has it, or as a
 * Number from the kernel record's clock, which costs no BigInt). */
type EventTime = { seconds: bigint; nanos: number } | { seconds: number; nanos: number };

function nodeAndTime(nodeName: string, time: EventTime | undefined): void {
  w.stringIfSet(NODE_NAME_FIELD, nodeName);
  if (!time) return;
  const t = w.fork(1001);
  const s = time.seconds;
  if (typeof s === "number" && s > 0) {
    w.tag(1, VARINT);
    w.varint(s);
  } else if (s !== 0 && s !== 0n) {
    // A BigInt, or a Number before 1970 (its two's complement).
    w.tag(1, VARINT);
    w.varint64(BigInt(s));
  }
  if (time.nanos !== 0) {
    w.tag(2, VARINT);
    w.int32(time.nanos);
  }
  w.join(t);
}

/** A Process field from the cache's bytes (or encoded here when it has none). */
export function writeProcess(writer: WireWriter, no: number, p: Process): void {
  writer.bytes(no, encodedProcess(p) ?? toBinary(ProcessSchema, p));
}

function argsOf(ev: GetEventsResponse): (KprobeArgument | undefined)[] {
  const e = ev.event;
  if (e.case === "processKprobe") return [...e.value.args, e.value.return];
  if (e.case === "processTracepoint" || e.case === "processUprobe" || e.case === "processLsm" || e.case === "processUsdt") return e.value.args;
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
  } else if (e.case === "processTracepoint" || e.case === "processUprobe" || e.case === "processLsm" || e.case === "processUsdt") {
    e.value.args.forEach(withoutLongArg);
  }
  return ev;
}
