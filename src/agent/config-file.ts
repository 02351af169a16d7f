/** `--config FILE`: agent flags from a YAML mapping whose keys are flag names.
 * Precedence: a flag on the command line wins over the file, the file wins
 * over the defaults. A repeatable flag given on the command line replaces the
 * file's list. Values go through the same parser and checks as the flags. */
import { readFileSync, statSync } from "node:fs";
import { parse } from "yaml";
import { parseArguments, type FlagSpec, type ParsedArguments } from "../cli/args";
import { UsageError } from "../common/errors";

const MAX_CONFIG_BYTES = 1 << 20;
const NOT_IN_FILE = new Set(["config", "help"]);

interface ConfigToken {
  readonly flag: string;
  readonly token: string;
}

/** The command line with the config file's flags merged under it. */
export function withConfigFile(cli: ParsedArguments, argv: readonly string[], flags: readonly FlagSpec[]): ParsedArguments {
  const path = cli.value("config");
  if (path === undefined) return cli;
  const fromFile = configTokens(path, flags);
  try {
    parseArguments(fromFile.map((t) => t.token), flags, []);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`config ${path}: ${e.message}`);
    throw e;
  }
  const kept = fromFile.filter((t) => !cli.has(t.flag)).map((t) => t.token);
  return parseArguments([...kept, ...argv], flags, []);
}

function configTokens(path: string, flags: readonly FlagSpec[]): ConfigToken[] {
  const doc = readConfig(path);
  const tokens: ConfigToken[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const flag = flags.find((f) => f.name === key);
    if (!flag || NOT_IN_FILE.has(key)) throw new UsageError(`config ${path}: unknown key "${key.slice(0, 100)}" (keys are agent flag names, see fgs agent --help)`);
    for (const v of valuesOf(flag, value, path)) tokens.push({ flag: key, token: `--${key}=${v}` });
  }
  return tokens;
}

function readConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new UsageError(`config ${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`config ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (e) {
    throw new UsageError(`config ${path}: not valid YAML: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UsageError(`config ${path}: expected a mapping of flag names to values`);
  return doc as Record<string, unknown>;
}

/** Scalars as text; a list for a repeatable flag; a mapping or list for a
 * JSON-valued flag (filters) is passed on as JSON. */
function valuesOf(flag: FlagSpec, value: unknown, path: string): string[] {
  if (flag.valueName === undefined) {
    if (typeof value !== "boolean") throw new UsageError(`config ${path}: ${flag.name} takes true or false`);
    return [String(value)];
  }
  if (flag.repeatable && Array.isArray(value)) return value.map((v) => scalar(flag, v, path));
  if (typeof value === "object" && value !== null) return [JSON.stringify(value)];
  return [scalar(flag, value, path)];
}

function scalar(flag: FlagSpec, value: unknown, path: string): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  throw new UsageError(`config ${path}: ${flag.name} takes a single value`);
}
