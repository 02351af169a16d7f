import { readFile, stat } from "node:fs/promises";
import { CliError, EXIT_OK } from "../../common/errors";
import { writeLine } from "../io";
import { escapeForTerminal } from "../output";
import type { Command } from "./command";

// Compiling and attaching a policy's hooks can take a while on a busy kernel.
const POLICY_CALL_OPTIONS = { timeoutMs: 120_000 } as const;

export const tracingPolicyAddCommand: Command = {
  path: ["tracingpolicy", "add"],
  summary: "Load a TracingPolicy YAML file into the agent; it becomes a sensor named after metadata.name",
  positionals: [{ name: "FILE", description: "TracingPolicy YAML file" }],
  flags: [],
  examples: ["fgs tracingpolicy add openat-etc.yaml"],
  async run({ args, io, agent }) {
    const file = args.positionals[0] ?? "";
    const yaml = await readPolicyFile(file);
    await agent().addTracingPolicy({ yaml }, POLICY_CALL_OPTIONS);
    await writeLine(io.stdout, `tracing policy from ${escapeForTerminal(file)} added`);
    return EXIT_OK;
  },
};

export const tracingPolicyDeleteCommand: Command = {
  path: ["tracingpolicy", "delete"],
  summary: "Remove a tracing policy, given its YAML file or its name",
  positionals: [
    {
      name: "FILE|NAME",
      description: "the policy's YAML file, or its metadata.name (an existing file wins)",
    },
  ],
  flags: [],
  examples: ["fgs tracingpolicy delete openat-etc.yaml", "fgs tracingpolicy delete openat-etc"],
  async run({ args, io, agent }) {
    const target = args.positionals[0] ?? "";
    const yaml = await policyYamlOrName(target);
    await agent().deleteTracingPolicy({ yaml }, POLICY_CALL_OPTIONS);
    await writeLine(io.stdout, `tracing policy ${escapeForTerminal(target)} deleted`);
    return EXIT_OK;
  },
};

async function readPolicyFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${systemReason(error)}`);
  }
}

/**
 * DeleteTracingPolicy takes the policy's YAML or just its name in the same
 * field. An existing file is read; a word that looks like a path but does not
 * exist is an error rather than a name, so a typo in a path is reported as such.
 */
async function policyYamlOrName(target: string): Promise<string> {
  if (await isFile(target)) return readPolicyFile(target);
  if (target.includes("/") || /\.ya?ml$/i.test(target)) return readPolicyFile(target);
  return target;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function systemReason(error: unknown): string {
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  const reasons: Readonly<Record<string, string>> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EISDIR: "is a directory",
  };
  return reasons[code] ?? (error instanceof Error ? error.message : String(error));
}
