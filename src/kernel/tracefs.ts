/** tracefs: where it is mounted, and the tracepoint format files (the fields
 * a tracepoint record carries). */
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const TRACEFS_ROOTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] as const;

export interface TracepointField {
  /** position in the format file, common fields included */
  readonly index: number;
  readonly name: string;
  /** the C type as written, e.g. "const char *", "__data_loc char[]", "__u8[4]" */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  readonly dataLoc: boolean;
  /** element count of an array field (char comm[16]), else 0 */
  readonly arrayLength: number;
  readonly pointer: boolean;
}

const FIELD_RE = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

function parseDeclaration(decl: string): { type: string; name: string; arrayLength: number } {
  const array = /^(.*?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[(\d*)\]$/.exec(decl.trim());
  if (array) return { type: `${array[1]}[${array[3]}]`, name: array[2]!, arrayLength: Number(array[3] || 0) };
  const plain = /^(.*?)\s*([A-Za-z_][A-Za-z0-9_]*)$/.exec(decl.trim());
  return { type: plain?.[1]?.trim() ?? decl, name: plain?.[2] ?? decl, arrayLength: 0 };
}

function parseFormat(text: string): TracepointField[] {
  const fields: TracepointField[] = [];
  for (const line of text.split("\n")) {
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = parseDeclaration(m[1]!);
    fields.push({
      index: fields.length,
      name: decl.name,
      type: decl.type,
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === "1",
      dataLoc: decl.type.startsWith("__data_loc"),
      arrayLength: decl.type.startsWith("__data_loc") ? 0 : decl.arrayLength,
      pointer: decl.type.includes("*"),
    });
  }
  return fields;
}

/** Where tracefs is mounted now, or null. */
export function findTracefs(): string | null {
  return TRACEFS_ROOTS.find((r) => existsSync(`${r}/events`)) ?? null;
}

/** Mounts tracefs at /sys/kernel/tracing (agent start only). */
export function mountTracefs(): { ok: true } | { ok: false; error: string } {
  const r = spawnSync("mount", ["-t", "tracefs", "none", TRACEFS_ROOTS[0]], { encoding: "utf8" });
  if (r.status === 0 && findTracefs() !== null) return { ok: true };
  return { ok: false, error: (r.stderr || String(r.error ?? `exit ${r.status}`)).trim() };
}

export function tracepointExists(root: string | null, subsystem: string, event: string): boolean {
  return root !== null && existsSync(`${root}/events/${subsystem}/${event}/format`);
}

/** The fields of a tracepoint, or null when it does not exist. */
export function tracepointFormat(root: string | null, subsystem: string, event: string): TracepointField[] | null {
  if (root === null || !tracepointExists(root, subsystem, event)) return null;
  return parseFormat(readFileSync(`${root}/events/${subsystem}/${event}/format`, "utf8"));
}
