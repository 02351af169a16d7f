/** Process messages with their wire bytes attached. Most of an event's bytes
 * are its Process (and parent): encoded once per cache entry, the event
 * encoder splices them in instead of encoding them again for every event.
 * Only refcnt changes during a process's life, so it is left out of the
 * bytes and written per event. */
import { toBinary } from "@bufbuild/protobuf";
import { ProcessSchema, type Process } from "../../gen/tetragon/tetragon_pb";

const ENCODED = Symbol("fgs.encodedProcess");

type Tagged = Process & { [ENCODED]?: Uint8Array };

/** A template (refcnt 0) and its bytes, built once per cache entry. */
export interface ProcessTemplate {
  readonly message: Process;
  readonly bytes: Uint8Array;
}

export function processTemplate(message: Process): ProcessTemplate {
  const t = { ...message, refcnt: 0 };
  return { message: t, bytes: toBinary(ProcessSchema, t) };
}

/** The per-event message: the template with this moment's refcnt. The bytes
 * ride along as a non-enumerable property, invisible to JSON and equality. */
export function processWithRefcnt(t: ProcessTemplate, refcnt: number): Process {
  const p: Tagged = { ...t.message, refcnt };
  Object.defineProperty(p, ENCODED, { value: t.bytes });
  return p;
}

/** The Process's bytes without refcnt, when built by processWithRefcnt. */
export function encodedWithoutRefcnt(p: Process): Uint8Array | undefined {
  return (p as Tagged)[ENCODED];
}
