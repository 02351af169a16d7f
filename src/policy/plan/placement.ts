/** Where tracepoint arguments live: offsets from the format file, and which
 * declared types fit which fields. */
import type { ArgPlacement } from "./compile";
import { PolicyError } from "../model/errors";
import { ArgFlag } from "./layout";
import type { PolicyArg } from "../model/model";
import { INT_TYPES, type ArgType } from "../model/names";
import type { TracepointField } from "../../kernel/tracefs";

const POINTER_TYPES: ReadonlySet<ArgType> = new Set(["file", "path", "filename", "skb", "sock", "cred"]);

export function fieldPlacement(f: TracepointField, position: number): ArgPlacement {
  let flags = f.signed ? ArgFlag.signed : 0;
  if (f.dataLoc) flags |= ArgFlag.dataLoc;
  if (f.arrayLength > 0) flags |= ArgFlag.inline;
  return { slot: position, off: f.offset, fsize: f.size, flags };
}

/** The arguments of a syscall tracepoint: the fields after __syscall_nr. */
export function syscallArgFields(fields: readonly TracepointField[]): ArgPlacement[] {
  const nr = fields.findIndex((f) => f.name === "__syscall_nr");
  return fields.slice(nr + 1).map((f, i) => fieldPlacement(f, i));
}

function fits(type: ArgType, f: TracepointField): boolean {
  const bytes = f.dataLoc || f.arrayLength > 0;
  if (type === "nop") return true;
  if (type === "string" || type === "char_buf") return bytes || f.pointer;
  if (INT_TYPES.has(type) || type === "fd") return !bytes && [1, 2, 4, 8].includes(f.size);
  if (POINTER_TYPES.has(type)) return !bytes && f.size === 8;
  return false; /* char_iovec: not in tracepoint records */
}

/** The placement of a declared tracepoint argument, or a PolicyError. */
export function placeTracepointArg(arg: PolicyArg, fields: readonly TracepointField[], path: string): ArgPlacement {
  const f = fields[arg.index];
  if (!f) {
    throw new PolicyError("invalid_argument", [`${path}.index: the tracepoint has ${fields.length} fields (0 to ${fields.length - 1})`]);
  }
  if (arg.type === "char_buf" && f.pointer && arg.sizeArgIndex === 0) {
    throw new PolicyError("invalid_argument", [`${path}: char_buf on pointer field ${arg.index} "${f.name}" needs sizeArgIndex (the field holding its size, plus one)`]);
  }
  if (!fits(arg.type, f)) {
    throw new PolicyError("invalid_argument", [`${path}.type: ${arg.type} does not fit field ${arg.index} "${f.name}" (${f.type}, ${f.size} bytes)`]);
  }
  return fieldPlacement(f, arg.index);
}
