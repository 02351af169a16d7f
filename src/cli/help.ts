import type { FlagSpec } from "./args";
import type { Command } from "./commands/command";

export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
}

/** `fgs <command> --help`. */
export function commandHelp(command: Command, globalFlags: readonly FlagSpec[]): string {
  const positionals = command.positionals.map((positional) => ` ${positional.name}`).join("");
  const lines = [`Usage: fgs ${command.path.join(" ")}${positionals} [flags]`, "", command.summary];
  if (command.positionals.length > 0) {
    lines.push("", "Arguments:", ...table(command.positionals.map((p) => [p.name, p.description])));
  }
  lines.push("", "Flags:", ...table([...command.flags, ...globalFlags].map(flagRow)));
  if (command.examples && command.examples.length > 0) {
    lines.push("", "Examples:", ...command.examples.map((example) => `  ${example}`));
  }
  return lines.join("\n");
}

/** `fgs sensors --help`: the subcommands of a group. */
export function groupHelp(group: CommandGroup, commands: readonly Command[]): string {
  const members = commands.filter((command) => command.path[0] === group.name && command.path.length > 1);
  return [
    `Usage: fgs ${group.name} <command> [flags]`,
    "",
    group.summary,
    "",
    "Commands:",
    ...table(members.map((command) => [command.path.slice(1).join(" "), command.summary])),
    "",
    `Run "fgs ${group.name} <command> --help" for a command's arguments and flags.`,
  ].join("\n");
}

/** `fgs --help`. */
export function topLevelHelp(commands: readonly Command[], groups: readonly CommandGroup[]): string {
  const rows: [string, string][] = [["agent", "Run the agent (as root); see fgs agent --help"]];
  for (const command of commands) {
    const group = groups.find((candidate) => candidate.name === command.path[0]);
    if (!group) rows.push([command.path.join(" "), command.summary]);
  }
  for (const group of groups) rows.push([`${group.name} <command>`, group.summary]);
  return [
    "fgs: eBPF security observability, serving the FineGuidanceSensors API",
    "",
    "Usage: fgs <command> [flags]",
    "",
    "Commands:",
    ...table(rows),
    "",
    'Every client command takes --server-address host:port|unix:/path (default localhost:54321),',
    "and for a remote agent --tls-ca-file, --tls-cert-file/--tls-key-file, --tls-server-name and --token-file.",
    'Run "fgs <command> --help" for more.',
  ].join("\n");
}

function flagRow(flag: FlagSpec): [string, string] {
  const names = `${flag.short ? `-${flag.short}, ` : "    "}--${flag.name}${flag.valueName ? ` ${flag.valueName}` : ""}`;
  const notes = [
    flag.defaultValue !== undefined ? `default ${flag.defaultValue}` : "",
    flag.repeatable ? "may be repeated" : "",
  ].filter((note) => note !== "");
  return [names, notes.length > 0 ? `${flag.description} (${notes.join("; ")})` : flag.description];
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}
