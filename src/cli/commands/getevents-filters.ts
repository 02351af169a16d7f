/** Filter and aggregation flags of `fgs getevents` (semantics: docs/filters.md).
 * All allow flags together make one allow filter, all --deny-* flags one deny
 * filter: different flags must all match (AND); repeating a flag or giving a
 * comma-separated list accepts any of its values (OR). */
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import {
  AggregationOptionsSchema,
  EventType,
  FilterSchema,
} from "../../../gen/tetragon/tetragon_pb";
import type { AggregationOptions, Filter } from "../../../gen/tetragon/tetragon_pb";
import { Re2, Re2SyntaxError } from "../../filters/re2/index";
import type { FlagSpec, ParsedArguments } from "../args";

/** Lower-case event names as printed in JSON output (process_exec …). */
export const EVENT_TYPE_NAMES: ReadonlyMap<string, EventType> = new Map([
  ["process_exec", EventType.PROCESS_EXEC],
  ["process_exit", EventType.PROCESS_EXIT],
  ["process_kprobe", EventType.PROCESS_KPROBE],
  ["process_tracepoint", EventType.PROCESS_TRACEPOINT],
  ["process_uprobe", EventType.PROCESS_UPROBE],
  ["process_lsm", EventType.PROCESS_LSM],
  ["process_usdt", EventType.PROCESS_USDT],
  ["process_dns", EventType.PROCESS_DNS],
  ["test", EventType.TEST],
  ["rate_limit_info", EventType.RATE_LIMIT_INFO],
]);

const MAX_U32 = 2 ** 32 - 1;

const list = (value: string): string[] => value.split(",").map((v) => v.trim());

function checkRegex(value: string): string | undefined {
  try {
    new Re2(value);
    return undefined;
  } catch (e) {
    if (e instanceof Re2SyntaxError) return `not an RE2 expression: ${e.message}`;
    throw e;
  }
}

function checkPids(value: string): string | undefined {
  const bad = list(value).find((v) => !/^\d+$/.test(v) || Number(v) > MAX_U32);
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not a pid`;
}

function checkEventTypes(value: string): string | undefined {
  const bad = list(value).find((v) => !EVENT_TYPE_NAMES.has(v.toLowerCase()));
  return bad === undefined ? undefined : `unknown event type ${JSON.stringify(bad)} (known: ${[...EVENT_TYPE_NAMES.keys()].join(", ")})`;
}

function checkDuration(value: string): string | undefined {
  return parseDurationMs(value) === undefined ? "not a duration like 500ms, 15s or 2m" : undefined;
}

/** "500ms", "15s", "2m", "1.5s"; undefined when malformed or not positive. */
export function parseDurationMs(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : undefined;
}

interface FieldFlag {
  readonly name: string;
  readonly valueName: string;
  readonly description: string;
  readonly validate?: (value: string) => string | undefined;
  readonly choices?: readonly string[];
  readonly repeatable: boolean;
}

const EVENT_NAMES = [...EVENT_TYPE_NAMES.keys()].join(", ");

const FIELDS: readonly FieldFlag[] = [
  { name: "binary", valueName: "REGEX", repeatable: true, validate: checkRegex, description: "binary matches REGEX (RE2, unanchored: ^...$ for a whole path)" },
  { name: "namespace", valueName: "NS", repeatable: true, description: 'pod namespace is one of NS ("" = host processes)' },
  { name: "health-check", valueName: "true|false", repeatable: false, choices: ["true", "false"], description: "process is (true) or is not (false) a Kubernetes exec probe" },
  { name: "pid", valueName: "N", repeatable: true, validate: checkPids, description: "process pid is one of N" },
  { name: "pid-set", valueName: "N", repeatable: true, validate: checkPids, description: "process is N or a descendant of N (also ones started later)" },
  { name: "event-types", valueName: "TYPES", repeatable: true, validate: checkEventTypes, description: `type is one of TYPES: ${EVENT_NAMES}` },
];

export const FILTER_FLAGS: readonly FlagSpec[] = [
  ...FIELDS.map((f) => ({ ...f, description: `Only events whose ${f.description}` })),
  ...FIELDS.map((f) => ({ ...f, name: `deny-${f.name}`, description: `Drop events whose ${f.description}` })),
  { name: "aggregate", description: "Send identical kprobe/tracepoint/dns events once per window, with a count" },
  { name: "aggregate-window", valueName: "DURATION", validate: checkDuration, description: "Aggregation window, e.g. 500ms, 15s (implies --aggregate; default 15s)" },
];

export const FILTER_EXAMPLES: readonly string[] = [
  "fgs getevents --pid 10,11 --event-types process_exit   # exits of pid 10 or 11: flags AND, values OR",
  "fgs getevents --binary '^/usr/bin/curl$'",
  "fgs getevents --pid-set 1234                 # pid 1234 and everything it starts",
  "fgs getevents --event-types process_exec,process_exit --namespace default",
  "fgs getevents --deny-binary '(?i)/(ba|z)?sh$' --deny-event-types process_exit",
  "fgs getevents --event-types process_kprobe --aggregate-window 5s",
];

/** One Filter from the flags with this prefix ("" or "deny-"), or undefined when none was given. */
function filterFrom(args: ParsedArguments, prefix: string): Filter | undefined {
  const all = (name: string): string[] => args.values(prefix + name).flatMap(list);
  const filter = create(FilterSchema, {
    binaryRegex: [...args.values(`${prefix}binary`)],
    namespace: all("namespace"),
    pid: all("pid").map(Number),
    pidSet: all("pid-set").map(Number),
    eventSet: all("event-types").map((t) => EVENT_TYPE_NAMES.get(t.toLowerCase()) ?? EventType.UNDEF),
  });
  const health = args.value(`${prefix}health-check`);
  if (health !== undefined) filter.healthCheck = health === "true";
  const any = FIELDS.some((f) => args.has(prefix + f.name));
  return any ? filter : undefined;
}

export function filtersFromFlags(args: ParsedArguments): { allowList: Filter[]; denyList: Filter[] } {
  const allow = filterFrom(args, "");
  const deny = filterFrom(args, "deny-");
  return { allowList: allow ? [allow] : [], denyList: deny ? [deny] : [] };
}

export function aggregationFromFlags(args: ParsedArguments): AggregationOptions | undefined {
  if (!args.isTrue("aggregate") && !args.has("aggregate-window")) return undefined;
  const window = args.value("aggregate-window");
  const ms = window === undefined ? undefined : parseDurationMs(window);
  if (ms === undefined) return create(AggregationOptionsSchema, {});
  const seconds = Math.floor(ms / 1000);
  const windowSize = create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
  return create(AggregationOptionsSchema, { windowSize });
}
