import { parseArguments, type FlagSpec, type ParsedArguments } from "./args";
import { DEFAULT_SERVER_ADDRESS, parseServerAddress, type ServerAddress } from "../server/address";
import type { Command } from "./commands/command";
import { getEventsCommand } from "./commands/getevents";
import { sensorsDisableCommand, sensorsEnableCommand, sensorsListCommand } from "./commands/sensors";
import { statusCommand } from "./commands/status";
import { tracingPolicyAddCommand, tracingPolicyDeleteCommand } from "./commands/tracingpolicy";
import { tracingPolicyCheckCommand } from "./commands/tracingpolicy-check";
import { versionCommand } from "./commands/version";
import { CLIENT_SECURITY_FLAGS, clientSecurity, type ClientSecurity, type Environment } from "./client-security";
import { connectToAgent, describeCallFailure, type AgentClient, type AgentConnection } from "./connection";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "../common/errors";
import { commandHelp, groupHelp, topLevelHelp, type CommandGroup } from "./help";
import { writeLine, type ClientIo } from "./io";
import { escapeForTerminal } from "./output";

export type { ClientIo, OutputStream } from "./io";

const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: "server-address",
    valueName: "host:port|unix:/path",
    defaultValue: DEFAULT_SERVER_ADDRESS,
    description: "The agent's gRPC address",
    validate: (text) => {
      const address = parseServerAddress(text);
      return typeof address === "string" ? address : undefined;
    },
  },
  ...CLIENT_SECURITY_FLAGS,
  { name: "help", short: "h", description: "Show this help" },
];

const COMMANDS: readonly Command[] = [
  versionCommand,
  statusCommand,
  getEventsCommand,
  sensorsListCommand,
  sensorsEnableCommand,
  sensorsDisableCommand,
  tracingPolicyAddCommand,
  tracingPolicyDeleteCommand,
  tracingPolicyCheckCommand,
];

const GROUPS: readonly CommandGroup[] = [
  { name: "sensors", summary: "List, enable and disable the agent's sensors" },
  { name: "tracingpolicy", summary: "Add, delete and check tracing policies (TracingPolicy YAML)" },
];

/**
 * Runs one client command. argv is what follows the executable's name
 * (`["sensors", "enable", "test"]`); resolves to the exit code: 0 success,
 * 1 failure (agent unreachable or said no), 2 wrong usage. Never throws.
 * env supplies $FGS_TOKEN_FILE.
 */
export async function runClient(argv: readonly string[], io: ClientIo, env: Environment = process.env): Promise<number> {
  try {
    return await dispatch(argv, io, env);
  } catch (error) {
    return reportFailure(error, io);
  }
}

async function dispatch(argv: readonly string[], io: ClientIo, env: Environment): Promise<number> {
  const words = commandWords(argv);
  if (words[0]?.word === "help") return printHelpFor(argv.slice(words[0].index + 1), io);
  const target = resolveCommand(words.map((entry) => entry.word));
  const rest = argv.filter((_, index) => !words.slice(0, target.wordCount).some((entry) => entry.index === index));
  if (wantsHelp(rest) || target.kind !== "command") return printHelp(target, io, wantsHelp(rest));
  const args = parseCommandArguments(target.command, rest);
  return runCommand(target.command, args, io, env);
}

type Target =
  | { kind: "top"; wordCount: 0 }
  | { kind: "group"; group: CommandGroup; wordCount: 1 }
  | { kind: "command"; command: Command; wordCount: number };

/** The command that the leading words name, or a usage error. */
function resolveCommand(words: readonly string[]): Target {
  const [first, second] = words;
  if (first === undefined) return { kind: "top", wordCount: 0 };
  const group = GROUPS.find((candidate) => candidate.name === first);
  if (group && second === undefined) return { kind: "group", group, wordCount: 1 };
  const path = group ? [first, second] : [first];
  const command = COMMANDS.find((candidate) => candidate.path.join(" ") === path.join(" "));
  if (command) return { kind: "command", command, wordCount: path.length };
  const unknown = group ? `unknown ${group.name} command "${second}"` : `unknown command "${first}"`;
  throw new UsageError(unknown, group ? [group.name] : []);
}

/** Leading non-flag words, skipping the values of global flags given before the command. */
function commandWords(argv: readonly string[]): { word: string; index: number }[] {
  const words: { word: string; index: number }[] = [];
  for (let index = 0; index < argv.length && words.length < 2; index += 1) {
    const token = argv[index] ?? "";
    if (token === "--") break;
    if (GLOBAL_FLAGS.some((flag) => flag.valueName !== undefined && token === `--${flag.name}`)) index += 1;
    else if (!token.startsWith("-")) words.push({ word: token, index });
  }
  const isGroup = GROUPS.some((group) => group.name === words[0]?.word);
  return isGroup ? words : words.slice(0, 1);
}

function wantsHelp(tokens: readonly string[]): boolean {
  const flags = tokens.slice(0, tokens.includes("--") ? tokens.indexOf("--") : tokens.length);
  return flags.some((token) => token === "--help" || token === "-h" || token === "--help=true");
}

function printHelpFor(words: readonly string[], io: ClientIo): Promise<number> {
  return printHelp(resolveCommand(words.filter((word) => !word.startsWith("-"))), io, true);
}

/** Help on stdout when asked for; on stderr with exit 2 when a command is missing. */
async function printHelp(target: Target, io: ClientIo, asked: boolean): Promise<number> {
  const text =
    target.kind === "command"
      ? commandHelp(target.command, GLOBAL_FLAGS)
      : target.kind === "group"
        ? groupHelp(target.group, COMMANDS)
        : topLevelHelp(COMMANDS, GROUPS);
  if (asked) {
    await writeLine(io.stdout, text);
    return EXIT_OK;
  }
  const what = target.kind === "group" ? `missing ${target.group.name} command` : "missing command";
  await writeLine(io.stderr, `fgs: ${what}\n\n${text}`);
  return EXIT_USAGE;
}

function parseCommandArguments(command: Command, tokens: readonly string[]): ParsedArguments {
  try {
    return parseArguments(tokens, [...command.flags, ...GLOBAL_FLAGS], command.positionals);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, command.path);
    throw error;
  }
}

async function runCommand(command: Command, args: ParsedArguments, io: ClientIo, env: Environment): Promise<number> {
  const address = parseServerAddress(args.value("server-address") ?? DEFAULT_SERVER_ADDRESS) as ServerAddress;
  let connection: AgentConnection | undefined;
  let security: ClientSecurity | undefined;
  const agent = (): AgentClient => {
    security ??= securityFor(command, args, address, env);
    connection ??= connectToAgent(address, security);
    return connection.client;
  };
  try {
    return await command.run({ args, io, agent });
  } catch (error) {
    if (error instanceof CliError || error instanceof UsageError) throw error;
    throw new CliError(describeCallFailure(error, address, command.path.join(" "), security?.tls));
  } finally {
    connection?.close();
  }
}

/** TLS and token files are read only when the command contacts the agent. */
function securityFor(command: Command, args: ParsedArguments, address: ServerAddress, env: Environment): ClientSecurity {
  try {
    return clientSecurity(args, address, env);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, command.path);
    throw error;
  }
}

async function reportFailure(error: unknown, io: ClientIo): Promise<number> {
  if (error instanceof UsageError) {
    const command = ["fgs", ...error.commandPath].join(" ");
    await writeLine(io.stderr, `fgs: ${error.message}\nRun "${command} --help" for usage.`);
    return EXIT_USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  // The agent's messages may quote policy text: keep its lines, escape the rest.
  const safe = message.split("\n").map(escapeForTerminal).join("\n");
  await writeLine(io.stderr, `fgs: ${safe}`);
  return EXIT_FAILURE;
}
