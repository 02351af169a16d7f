/** `--export-field-filters`: keep (INCLUDE) or drop (EXCLUDE) fields of the
 * event object, per event type. Same shape as the upstream agent's field
 * filters: {"event_set": ["PROCESS_EXEC"], "fields": "process.binary,process.pid",
 * "action": "INCLUDE", "invert_event_set": false}; a JSON list, or one object per line.
 * Field paths are relative to the event (process_exec, process_kprobe, ...);
 * node_name and time are kept. */
import * as v from "valibot";
import { EventType } from "../../gen/tetragon/tetragon_pb";

const EVENT_KEYS: Readonly<Record<string, string>> = {
  PROCESS_EXEC: "process_exec",
  PROCESS_EXIT: "process_exit",
  PROCESS_KPROBE: "process_kprobe",
  PROCESS_TRACEPOINT: "process_tracepoint",
  PROCESS_UPROBE: "process_uprobe",
  PROCESS_LSM: "process_lsm",
  PROCESS_USDT: "process_usdt",
  PROCESS_DNS: "process_dns",
  TEST: "test",
};

const FilterSchema = v.strictObject({
  event_set: v.optional(v.array(v.picklist(Object.keys(EventType).filter((k) => isNaN(Number(k)) && k !== "UNDEF")))),
  fields: v.pipe(v.string(), v.minLength(1, "fields must name at least one field")),
  action: v.picklist(["INCLUDE", "EXCLUDE"]),
  invert_event_set: v.optional(v.boolean()),
});
type FilterDoc = v.InferOutput<typeof FilterSchema>;

export type JsonObject = { [k: string]: unknown };

export interface FieldFilter {
  /** Event keys (process_exec, ...) the filter applies to. */
  readonly eventKeys: ReadonlySet<string>;
  readonly paths: readonly (readonly string[])[];
  readonly include: boolean;
}

/** Throws an Error saying what is wrong with the JSON. */
export function parseFieldFilters(text: string): FieldFilter[] {
  const trimmed = text.trim();
  let docs: unknown[];
  try {
    docs = trimmed.startsWith("[") ? (JSON.parse(trimmed) as unknown[]) : trimmed.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (e) {
    throw new Error(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return docs.map((d, i) => {
    const r = v.safeParse(FilterSchema, d);
    if (!r.success) throw new Error(`filter ${i}: ${r.issues.map((x) => `${v.getDotPath(x) ?? ""} ${x.message}`.trim()).join("; ")}`);
    return toFilter(r.output);
  });
}

function toFilter(doc: FilterDoc): FieldFilter {
  const named = new Set((doc.event_set ?? Object.keys(EVENT_KEYS)).map((t) => EVENT_KEYS[t] ?? t));
  const eventKeys = doc.invert_event_set ? new Set(Object.values(EVENT_KEYS).filter((k) => !named.has(k))) : named;
  const paths = doc.fields.split(",").map((f) => f.trim()).filter(Boolean).map((f) => f.split("."));
  return { eventKeys, paths, include: doc.action === "INCLUDE" };
}

/** Applies every filter whose event set names this event, in order. */
export function applyFieldFilters(line: JsonObject, filters: readonly FieldFilter[]): void {
  for (const key of Object.keys(line)) {
    const event = line[key];
    if (!isObject(event)) continue;
    for (const f of filters) {
      if (!f.eventKeys.has(key)) continue;
      line[key] = f.include ? keepOnly(event, f.paths) : dropPaths(event, f.paths);
    }
  }
}

function keepOnly(obj: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  const out: JsonObject = {};
  for (const path of paths) copyPath(obj, out, path);
  return out;
}

function copyPath(from: JsonObject, to: JsonObject, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !(head in from)) return;
  const value = from[head];
  if (rest.length === 0 || !isObject(value)) {
    if (rest.length === 0) to[head] = value;
    return;
  }
  const child = isObject(to[head]) ? (to[head] as JsonObject) : {};
  copyPath(value, child, rest);
  if (Object.keys(child).length > 0) to[head] = child;
}

function dropPaths(obj: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  for (const path of paths) {
    let node: unknown = obj;
    for (const part of path.slice(0, -1)) node = isObject(node) ? node[part] : undefined;
    const last = path.at(-1);
    if (isObject(node) && last !== undefined) delete node[last];
  }
  return obj;
}

function isObject(x: unknown): x is JsonObject {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
