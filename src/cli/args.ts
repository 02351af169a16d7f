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

const SHORT_FLAG = /^-([a-zA-Z])(?:=(.*))?$/s;
const LONG_FLAG = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s;

/**
 * Parses flags anywhere among positionals: `--name value`, `--name=value`,
 * `-n value`, `-n=value`, and `--` ends the flags.
 */
export function parseArguments(
  tokens: readonly string[],
  flags: readonly FlagSpec[],
  positionals: readonly PositionalSpec[],
): ParsedArguments {
  const given = new Map<string, string[]>();
  const positionalValues: string[] = [];
  let index = 0;
  while (index < tokens.length) {
    const token = tokens[index] ?? "";
    index += 1;
    if (token === "--") {
      positionalValues.push(...tokens.slice(index));
      break;
    }
    const flagToken = splitFlagToken(token);
    if (!flagToken) {
      positionalValues.push(token);
      continue;
    }
    const flag = findFlag(flags, flagToken.key, token);
    const value = flag.valueName === undefined ? booleanValue(flag, flagToken.inlineValue) : flagToken.inlineValue ?? tokens[index++];
    recordValue(given, flag, checkedValue(flag, value));
  }
  checkPositionalCount(positionalValues, positionals);
  return parsedArguments(given, positionalValues, flags);
}

function splitFlagToken(token: string): { key: string; inlineValue: string | undefined } | undefined {
  const match = LONG_FLAG.exec(token) ?? SHORT_FLAG.exec(token);
  if (!match) {
    if (token.startsWith("-") && token !== "-" && !/^-\d/.test(token)) {
      throw new UsageError(`unknown flag "${token}"`);
    }
    return undefined;
  }
  return { key: token.startsWith("--") ? `--${match[1]}` : `-${match[1]}`, inlineValue: match[2] };
}

function findFlag(flags: readonly FlagSpec[], key: string, token: string): FlagSpec {
  const flag = flags.find((candidate) =>
    key.startsWith("--") ? `--${candidate.name}` === key : `-${candidate.short}` === key,
  );
  if (!flag) throw new UsageError(`unknown flag "${token.split("=")[0]}"`);
  return flag;
}

function booleanValue(flag: FlagSpec, inlineValue: string | undefined): string {
  if (inlineValue === undefined || inlineValue === "true") return "true";
  if (inlineValue === "false") return "false";
  throw new UsageError(`--${flag.name} takes no value (got "${inlineValue}")`);
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
