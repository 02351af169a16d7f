import { runAgentCommand } from "./agent/command";
import { runClient } from "./cli/index";

/** `fgs agent …` runs the agent; every other command is a client of it. */
async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "agent") return runAgentCommand(argv.slice(1));
  return runClient([...argv], { stdout: process.stdout, stderr: process.stderr });
}

process.exitCode = await main(process.argv.slice(2));
