/** Process messages with their wire bytes attached. Most of an event's bytes
 * are its Process (and parent): encoded once per cache entry and refcnt, the
 * event encoder copies them instead of encoding them for every event. Only
 * refcnt changes during a process's life: the message for the current
 * refcnt is kept and shared by every event until it changes (published
 * messages are never modified). */
import { toBinary } from "@bufbuild/protobuf";
import { ProcessSchema, type Process } from "../../gen/tetragon/tetragon_pb";

const ENCODED = Symbol("fgs.encodedProcess");

type Tagged = Process & { [ENCODED]?: Uint8Array };

/** Built once per cache entry. */
export interface ProcessTemplate {
  /** refcnt 0 */
  readonly message: Process;
  /** wire bytes of message (refcnt 0 is not on the wire) */
  readonly bytes: Uint8Array;
  current?: Process;
}

export function processTemplate(message: Process): ProcessTemplate {
  const t = { ...message, refcnt: 0 };
  return { message: t, bytes: toBinary(ProcessSchema, t) };
}

/** Process.refcnt = 13, varint: tag byte (13 << 3) | 0. */
const REFCNT_TAG = 0x68;

function withRefcntBytes(bytes: Uint8Array, refcnt: number): Uint8Array {
  if (refcnt === 0) return bytes;
  const tail: number[] = [REFCNT_TAG];
  for (let n = refcnt; ; n >>>= 7) {
    if (n < 0x80) {
      tail.push(n);
      break;
    }
    tail.push((n & 0x7f) | 0x80);
  }
  const out = new Uint8Array(bytes.byteLength + tail.length);
  out.set(bytes);
  out.set(tail, bytes.byteLength);
  return out;
}

/** The message for this moment's refcnt, with its bytes as a non-enumerable
 * property (invisible to JSON and to equality checks). */
export function processWithRefcnt(t: ProcessTemplate, refcnt: number): Process {
  if (t.current?.refcnt === refcnt) return t.current;
  const p: Tagged = { ...t.message, refcnt };
  Object.defineProperty(p, ENCODED, { value: withRefcntBytes(t.bytes, refcnt) });
  t.current = p;
  return p;
}

/** The Process's wire bytes, when it was built by processWithRefcnt. */
export function encodedProcess(p: Process): Uint8Array | undefined {
  return (p as Tagged)[ENCODED];
}
