/** `--export-redact PATTERN`: RE2 patterns (linear-time, re2js) whose matches in
 * any `arguments` string become `*****`. A pattern with capture groups
 * redacts only the groups (`--password[= ](\S+)` keeps the flag name). */
import { RE2JS } from "re2js";
import type { JsonObject } from "./field-filter";

export const REDACTED = "*****";
const MAX_PATTERN_LENGTH = 1024;

export type Redactor = (text: string) => string;

/** Throws an Error naming the pattern that does not compile. */
export function compileRedactions(patterns: readonly string[]): Redactor | undefined {
  if (patterns.length === 0) return undefined;
  const compiled = patterns.map((p) => {
    if (p.length > MAX_PATTERN_LENGTH) throw new Error(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
    try {
      return RE2JS.compile(p);
    } catch (e) {
      throw new Error(`${JSON.stringify(p)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  return (text) => compiled.reduce((t, re) => redactOne(re, t), text);
}

function redactOne(re: RE2JS, text: string): string {
  const m = re.matcher(text);
  const groups = re.groupCount();
  const spans: [number, number][] = [];
  while (m.find()) {
    if (groups === 0) spans.push([m.start(), m.end()]);
    for (let g = 1; g <= groups; g++) if (m.start(g) >= 0 && m.end(g) > m.start(g)) spans.push([m.start(g), m.end(g)]);
    if (m.end() === m.start() && m.end() >= text.length) break;
  }
  let out = text;
  for (const [s, e] of spans.sort((a, b) => b[0] - a[0])) out = out.slice(0, s) + REDACTED + out.slice(e);
  return out;
}

/** Redacts every `arguments` string in the event (process, parent, ancestors). */
export function redactArguments(node: unknown, redact: Redactor): void {
  if (Array.isArray(node)) {
    for (const x of node) redactArguments(x, redact);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const obj = node as JsonObject;
  for (const [k, val] of Object.entries(obj)) {
    if (k === "arguments" && typeof val === "string") obj[k] = redact(val);
    else if (typeof val === "object") redactArguments(val, redact);
  }
}
