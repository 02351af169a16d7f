import { parseArgs } from "node:util";
import { UsageError } from "../common/errors";

/** One command-line flag. Adding a filter flag to getevents is one more entry. */
export interface FlagSpec {
  /** Long name without dashes: "server-address" for --server-address. */
  readonly name: string;
  /** One letter: "o" for -o. */
  readonly short?: string;
  /** Flags without a value are booleans (--help). */
  readonly valueName?: string;
  readonly choices?: readonly string[];
  readonly defaultValue?: string;
  /** May be given several times; values() returns all of them in order. */
  readonly repeatable?: boolean;
  readonly description: string;
  /** Extra check of one value: returns what is wrong with it, or undefined. */
  readonly validate?: (value: string) => string | undefined;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
}

export interface ParsedArguments {
  readonly positionals: readonly string[];
  /** The last value given, else the default. */
  value(flagName: string): string | undefined;
  /** Every value given, in order (repeatable flags). */
  values(flagName: string): readonly string[];
  /** Whether the flag appeared at all. */
  has(flagName: string): boolean;
  /** A boolean flag: true when given as --name or --name=true. */
  isTrue(flagName: string): boolean;
}

type OptionToken = { kind: "option"; name: string; rawName: string; index: number; value?: string; inlineValue?: boolean };
type ArgToken = OptionToken | { kind: "positional"; index: number; value: string } | { kind: "option-terminator"; index: number };

/**
 * Parses flags anywhere among positionals with node:util's parseArgs:
 * `--name value`, `--name=value`, `-n value`, `-n=value`, and `--` ends the
 * flags. parseArgs runs non-strict so that every mistake gets our message.
 */
export function parseArguments(
  tokens: readonly string[],
  flags: readonly FlagSpec[],
  positionals: readonly PositionalSpec[],
): ParsedArguments {
  const given = new Map<string, string[]>();
  const positionalValues: string[] = [];
  const handledIndex = new Set<number>();
  for (const token of tokenize(tokens, flags)) {
    if (token.kind === "positional") positionalValues.push(token.value);
    else if (token.kind === "option") {
      if (/^-\d/.test(token.rawName)) {
        // A negative number is a positional: take the argument whole, once.
        if (!handledIndex.has(token.index)) positionalValues.push(tokens[token.index] ?? token.rawName);
        handledIndex.add(token.index);
        continue;
      }
      const flag = findFlag(flags, token);
      const value = flag.valueName === undefined ? booleanValue(flag, token) : optionValue(token);
      recordValue(given, flag, checkedValue(flag, value));
    }
  }
  checkPositionalCount(positionalValues, positionals);
  return parsedArguments(given, positionalValues, flags);
}

function tokenize(tokens: readonly string[], flags: readonly FlagSpec[]): ArgToken[] {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple: true }> = {};
  for (const f of flags) options[f.name] = { type: f.valueName === undefined ? "boolean" : "string", multiple: true, ...(f.short ? { short: f.short } : {}) };
  const parsed = parseArgs({ args: [...tokens], options, strict: false, allowPositionals: true, tokens: true });
  return parsed.tokens as ArgToken[];
}

function findFlag(flags: readonly FlagSpec[], token: OptionToken): FlagSpec {
  const isLong = token.rawName.startsWith("--");
  const flag = flags.find((candidate) => (isLong ? `--${candidate.name}` === token.rawName : `-${candidate.short}` === token.rawName));
  if (!flag) throw new UsageError(`unknown flag "${token.rawName}"`);
  return flag;
}

/** `-o=compact` reaches us as "=compact". */
function optionValue(token: OptionToken): string | undefined {
  if (token.value !== undefined && token.inlineValue && !token.rawName.startsWith("--") && token.value.startsWith("=")) return token.value.slice(1);
  return token.value;
}

function booleanValue(flag: FlagSpec, token: OptionToken): string {
  const inline = token.inlineValue ? optionValue(token) : undefined;
  if (inline === undefined || inline === "true") return "true";
  if (inline === "false") return "false";
  throw new UsageError(`--${flag.name} takes no value (got "${inline}")`);
}

function checkedValue(flag: FlagSpec, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`--${flag.name} needs a value (${flag.valueName})`);
  if (flag.choices && !flag.choices.includes(value)) {
    throw new UsageError(`--${flag.name} must be one of ${flag.choices.join(", ")} (got "${value}")`);
  }
  const problem = flag.validate?.(value);
  if (problem !== undefined) throw new UsageError(`--${flag.name} ${JSON.stringify(value)}: ${problem}`);
  return value;
}

function recordValue(given: Map<string, string[]>, flag: FlagSpec, value: string): void {
  const previous = given.get(flag.name);
  if (previous && !flag.repeatable && flag.valueName !== undefined) {
    throw new UsageError(`--${flag.name} given more than once`);
  }
  given.set(flag.name, [...(previous ?? []), value]);
}

function checkPositionalCount(values: readonly string[], specs: readonly PositionalSpec[]): void {
  if (values.length > specs.length) {
    throw new UsageError(`unexpected argument "${values[specs.length]}"`);
  }
  const missing = specs[values.length];
  if (missing) throw new UsageError(`missing ${missing.name}`);
}

function parsedArguments(
  given: ReadonlyMap<string, readonly string[]>,
  positionals: readonly string[],
  flags: readonly FlagSpec[],
): ParsedArguments {
  const defaultOf = (name: string): string | undefined => flags.find((flag) => flag.name === name)?.defaultValue;
  return {
    positionals,
    value: (name) => given.get(name)?.at(-1) ?? defaultOf(name),
    values: (name) => given.get(name) ?? [],
    has: (name) => given.has(name),
    isTrue: (name) => given.get(name)?.at(-1) === "true",
  };
}
