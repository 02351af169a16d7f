/** The `--export-*` flags → ExportConfig. Each function throws an Error whose
 * message says what is wrong with the value (the caller names the flag). */
import { fromJsonString } from "@bufbuild/protobuf";
import { FilterSchema, type Filter } from "../../gen/tetragon/tetragon_pb";
import { compileFilters } from "../filters/index";
import { parseFieldFilters } from "./field-filter";
import { compileRedactions } from "./redact";
import type { ExportConfig } from "./exporter";

export interface ExportFlagValues {
  readonly path: string;
  readonly maxSizeMb?: string;
  readonly rotationInterval?: string;
  readonly maxBackups?: string;
  readonly compress: boolean;
  readonly perm?: string;
  readonly allowList?: string;
  readonly denyList?: string;
  readonly rateLimit?: string;
  readonly fieldFilters?: string;
  readonly redact: readonly string[];
}

/** Same defaults as the upstream agent: 10 MB files, 5 backups, no time rotation. */
export const EXPORT_DEFAULTS = { maxSizeMb: "10", maxBackups: "5", perm: "600", rotationInterval: "0" } as const;

export class ExportFlagError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

function check<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new ExportFlagError(flag, e instanceof Error ? e.message : String(e));
  }
}

export function exportConfig(f: ExportFlagValues): ExportConfig {
  const allowList = check("export-allowlist", () => parseFilterList(f.allowList));
  const denyList = check("export-denylist", () => parseFilterList(f.denyList));
  check("export-allowlist", () => compileFilters({ allowList, denyList: [] }));
  check("export-denylist", () => compileFilters({ allowList: [], denyList }));
  return {
    file: {
      path: f.path,
      perm: check("export-file-perm", () => parsePerm(f.perm ?? EXPORT_DEFAULTS.perm)),
      maxSizeBytes: check("export-file-max-size-mb", () => wholeNumber(f.maxSizeMb ?? EXPORT_DEFAULTS.maxSizeMb)) * 1024 * 1024,
      maxBackups: check("export-file-max-backups", () => wholeNumber(f.maxBackups ?? EXPORT_DEFAULTS.maxBackups)),
      compress: f.compress,
    },
    rotationIntervalMs: check("export-file-rotation-interval", () => parseDuration(f.rotationInterval ?? EXPORT_DEFAULTS.rotationInterval)),
    allowList,
    denyList,
    rateLimitPerMinute: f.rateLimit === undefined ? undefined : check("export-rate-limit", () => positive(f.rateLimit as string)),
    fieldFilters: f.fieldFilters === undefined ? [] : check("export-field-filters", () => parseFieldFilters(f.fieldFilters as string)),
    redact: check("export-redact", () => compileRedactions(f.redact)),
  };
}

/** A JSON list of filters, or one filter object per line (GetEvents' Filter JSON). */
export function parseFilterList(text: string | undefined): Filter[] {
  if (text === undefined || text.trim() === "") return [];
  const t = text.trim();
  const items = t.startsWith("[") ? (JSON.parse(t) as unknown[]).map((x) => JSON.stringify(x)) : t.split("\n").filter((l) => l.trim());
  return items.map((json, i) => {
    try {
      return fromJsonString(FilterSchema, json);
    } catch (e) {
      throw new Error(`filter ${i}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

function parsePerm(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error("expected an octal file mode such as 600 or 0640");
  const mode = parseInt(text, 8);
  if (mode & 0o002) throw new Error("a world-writable export file is refused");
  return mode;
}

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error("expected a whole number");
  return Number(text);
}

function positive(text: string): number {
  const n = wholeNumber(text);
  if (n === 0) throw new Error("must be at least 1 (leave the flag out for no limit)");
  return n;
}

/** "0" (off), or a number with a unit: 500ms, 30s, 10m, 24h. */
function parseDuration(text: string): number {
  if (text === "0") return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error("expected a duration such as 30s, 10m or 24h (0 for none)");
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  if (ms < 1000) throw new Error("must be at least 1s");
  return ms;
}
