import { reexecWithRuntimeEnv } from "./agent/runtime-env";

/** `fgs agent …` runs the agent; every other command is a client of it. Each
 * side is imported only when used, so a client never loads BPF code. */
async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "agent") {
    // Before the agent's modules load: what precedes the exec is start-up time spent twice.
    if (!argv.includes("--help") && !argv.includes("-h")) reexecWithRuntimeEnv();
    const { runAgentCommand } = await import("./agent/command");
    return runAgentCommand(argv.slice(1));
  }
  const { runClient } = await import("./cli/index");
  return runClient([...argv], { stdout: process.stdout, stderr: process.stderr });
}

export {};

const code = await main(process.argv.slice(2));
process.exit(code);
