/** Policy events written straight from their kernel record to GetEventsResponse
 * wire bytes, without building the protobuf-es message (most events of a
 * storm go only to gRPC streams, which need the bytes). Mirrors eventOf and
 * toKprobeArgument in generic.ts field for field; tests/unit/generic-wire.test.ts
 * checks both decode to the same message. Message-valued arguments (files,
 * sockets, ...) are built and encoded by protobuf-es. */
import { toBinary } from "@bufbuild/protobuf";
import { KprobeArgumentSchema, type Process } from "../../gen/tetragon/tetragon_pb";
import { encodeEvent, writeProcess, type Output } from "../bus/encode";
import { VARINT, type WireWriter } from "../common/wire-writer";
import type { WallTime } from "../bpf/clock";
import { ArgHdrFlag, GenType } from "./generic-layout";
import { toKprobeArgument, type GenericRecord, type HookDescription, type RawArg } from "./generic";

const text = new TextDecoder();

/** GetEventsResponse oneof field numbers of the policy events. */
const EVENT_FIELD = { kprobe: 9, tracepoint: 10, uprobe: 12, lsm: 28, usdt: 29 } as const;

export interface GenericWireParts {
  readonly rec: GenericRecord;
  readonly hook: HookDescription;
  readonly process: Process;
  readonly parent: Process | undefined;
  readonly nodeName: string;
  readonly time: WallTime;
}

/** Whether an argument becomes long_arg (the fgs edition then differs). */
export function hasLongArgType(rec: GenericRecord): boolean {
  for (const a of rec.args) if (isLong(a)) return true;
  return isLong(rec.returnArg);
}

function isLong(a: RawArg | null): boolean {
  return a !== null && (a.type === GenType.sint64 || a.type === GenType.long);
}

/** A scalar argument written in place; false when it is message-valued. */
function writeScalarArg(w: WireWriter, a: RawArg | null): boolean {
  if (a === null) return true;
  switch (a.type) {
    case GenType.int:
      w.tag(2, VARINT);
      w.int32(a.lo | 0);
      return true;
    case GenType.uint32:
    case GenType.uint64:
    case GenType.size:
      w.tag(4, VARINT);
      w.varintHiLo(a.hi, a.lo);
      return true;
    case GenType.sint64:
    case GenType.long:
      // A negative value's varint is its 64-bit two's complement: the raw bits.
      w.tag(11, VARINT);
      w.varintHiLo(a.hi, a.lo);
      return true;
    case GenType.string:
    case GenType.filename:
      w.string(1, text.decode(a.payload));
      return true;
    case GenType.charBuf:
    case GenType.charIovec:
    case GenType.iovIter:
      if (a.flags & ArgHdrFlag.truncated) return false;
      w.bytes(5, a.payload);
      return true;
    case GenType.fd:
      if (a.payload.byteLength !== 0) return false;
      w.tag(2, VARINT);
      w.int32(a.lo | 0);
      return true;
    default:
      return false;
  }
}

function writeArg(w: WireWriter, no: number, a: RawArg | null, label: string): void {
  const mark = w.fork(no);
  if (writeScalarArg(w, a)) w.stringIfSet(18, label);
  else {
    const message = toKprobeArgument(a);
    message.label = label;
    w.raw(toBinary(KprobeArgumentSchema, message));
  }
  w.join(mark);
}

function writeStrings(w: WireWriter, no: number, list: readonly string[]): void {
  for (const s of list) w.string(no, s);
}

function writeProcesses(w: WireWriter, p: GenericWireParts): void {
  writeProcess(w, 1, p.process);
  if (p.parent) writeProcess(w, 2, p.parent);
}

function writeArgs(w: WireWriter, no: number, p: GenericWireParts): void {
  const { args } = p.rec;
  for (let i = 0; i < args.length; i++) writeArg(w, no, args[i] ?? null, p.hook.labels[i] ?? "");
}

function writeKprobe(w: WireWriter, p: GenericWireParts): void {
  const { rec, hook } = p;
  writeProcesses(w, p);
  w.stringIfSet(3, hook.functionName);
  writeArgs(w, 4, p);
  if (rec.returnArg) writeArg(w, 5, rec.returnArg, "");
  w.uintIfSet(6, rec.action);
  w.stringIfSet(8, hook.policyName);
  w.stringIfSet(10, hook.message);
  writeStrings(w, 11, hook.tags);
}

function writeTracepoint(w: WireWriter, p: GenericWireParts): void {
  const { hook } = p;
  writeProcesses(w, p);
  w.stringIfSet(4, hook.subsystem);
  w.stringIfSet(5, hook.event);
  writeArgs(w, 6, p);
  w.stringIfSet(7, hook.policyName);
  w.uintIfSet(8, p.rec.action);
  w.stringIfSet(9, hook.message);
  writeStrings(w, 10, hook.tags);
}

function writeUprobe(w: WireWriter, p: GenericWireParts): void {
  const { hook } = p;
  writeProcesses(w, p);
  w.stringIfSet(3, hook.path ?? "");
  w.stringIfSet(4, hook.functionName);
  w.stringIfSet(5, hook.policyName);
  w.stringIfSet(6, hook.message);
  writeArgs(w, 7, p);
  writeStrings(w, 8, hook.tags);
  w.uint64IfSet(10, hook.offset ?? 0n);
  w.uint64IfSet(11, hook.refCtrOffset ?? 0n);
  w.uintIfSet(12, p.rec.action);
}

function writeLsm(w: WireWriter, p: GenericWireParts): void {
  const { hook } = p;
  writeProcesses(w, p);
  w.stringIfSet(3, hook.functionName);
  w.stringIfSet(5, hook.policyName);
  w.stringIfSet(6, hook.message);
  writeArgs(w, 7, p);
  w.uintIfSet(8, p.rec.action);
  writeStrings(w, 9, hook.tags);
}

function writeUsdt(w: WireWriter, p: GenericWireParts): void {
  const { hook } = p;
  writeProcesses(w, p);
  w.stringIfSet(3, hook.path ?? "");
  w.stringIfSet(4, hook.subsystem);
  w.stringIfSet(5, hook.functionName);
  w.stringIfSet(6, hook.policyName);
  w.stringIfSet(7, hook.message);
  writeArgs(w, 8, p);
  writeStrings(w, 9, hook.tags);
  w.uintIfSet(11, p.rec.action);
}

const WRITERS = { kprobe: writeKprobe, tracepoint: writeTracepoint, uprobe: writeUprobe, lsm: writeLsm, usdt: writeUsdt } as const;

/** The event's GetEventsResponse wire bytes. */
export function encodeGenericRecord(p: GenericWireParts, output: Output = "copy"): Uint8Array {
  return encodeEvent(EVENT_FIELD[p.hook.kind], WRITERS[p.hook.kind], p, p.nodeName, p.time, output);
}

