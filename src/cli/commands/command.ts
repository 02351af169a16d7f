import type { FlagSpec, ParsedArguments, PositionalSpec } from "../args";
import type { AgentClient } from "../connection";
import type { ClientIo } from "../io";

/** Bounds every unary call, so an address that swallows packets cannot hang the client. */
export const UNARY_CALL_OPTIONS = { timeoutMs: 30_000 } as const;

export interface CommandContext {
  readonly args: ParsedArguments;
  readonly io: ClientIo;
  /** Connects on first use; the runner closes the connection afterwards. */
  agent(): AgentClient;
}

export interface Command {
  /** Words that select the command: ["sensors", "enable"]. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly positionals: readonly PositionalSpec[];
  /** Command-specific flags; the global ones (--server-address, TLS and token, --help) are added to every command. */
  readonly flags: readonly FlagSpec[];
  readonly examples?: readonly string[];
  /** Resolves to the exit code. Agent errors are thrown and reported by the runner. */
  run(context: CommandContext): Promise<number>;
}
