import { loadEmbeddedObjects } from "../../bpf/objects";
import { checkPolicyPaths } from "../../policy/load/check";
import { CliError, EXIT_FAILURE, EXIT_OK } from "../../common/errors";
import { writeLine } from "../io";
import { escapeForTerminal } from "../output";
import type { Command } from "./command";

export const tracingPolicyCheckCommand: Command = {
  path: ["tracingpolicy", "check"],
  summary: "Check policy files without an agent: valid, and (as root) whether each loads on this kernel and how",
  positionals: [{ name: "FILE|DIR", description: "a TracingPolicy YAML file, or a directory of *.yaml / *.yml" }],
  flags: [],
  examples: ["fgs tracingpolicy check openat-etc.yaml", "fgs tracingpolicy check /etc/fgs/policies"],
  async run({ args, io }) {
    const target = args.positionals[0] ?? "";
    const reports = await checkPolicyPaths([target], {
      images: loadEmbeddedObjects,
      kernel: process.getuid?.() === 0,
    }).catch((e: unknown) => {
      throw new CliError(`cannot check ${target}: ${e instanceof Error ? e.message : String(e)}`);
    });
    for (const r of reports) {
      await writeLine(io.stdout, `${escapeForTerminal(r.file)}: ${r.verdict}`);
      for (const d of r.details) await writeLine(io.stdout, `  ${escapeForTerminal(d)}`);
    }
    return reports.every((r) => r.ok) ? EXIT_OK : EXIT_FAILURE;
  },
};
