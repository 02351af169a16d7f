import { parseArguments, type FlagSpec } from "../cli/args";
import { UsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../common/errors";
import { parseServerAddress, DEFAULT_SERVER_ADDRESS } from "../server/address";
import { createLogger, isLogLevel, stderrSink } from "../log/logger";
import { startAgent, type AgentOptions } from "./bootstrap";
import { MECHANISMS, type Mechanism } from "../policy/index";

const FLAGS: readonly FlagSpec[] = [
  { name: "server-address", valueName: "ADDR", defaultValue: DEFAULT_SERVER_ADDRESS, description: "where to serve the API: host:port (port 0 picks one) or unix:/path/to/socket" },
  { name: "policy", valueName: "FILE|DIR", repeatable: true, description: "tracing policy YAML to load at start (a directory loads every *.yaml/*.yml in it); repeatable" },
  { name: "log-level", valueName: "LEVEL", defaultValue: "info", choices: ["debug", "info", "warn", "error"], description: "least severe log level written to stderr" },
  { name: "node-name", valueName: "NAME", description: "node name in events and exec_ids (default: the hostname)" },
  { name: "export-file", valueName: "PATH", description: "also append every event as a JSON line to PATH" },
  { name: "ring-buffer-size", valueName: "BYTES", description: "kernel ring buffer size, a power of two (default 8388608)", validate: (v) => (/^\d+$/.test(v) && (Number(v) & (Number(v) - 1)) === 0 && Number(v) >= 4096 ? undefined : "must be a power of two of at least 4096") },
  { name: "hook-mechanisms", valueName: "LIST", description: `comma-separated mechanisms kernel-function hooks may use, best first among ${MECHANISMS.join(", ")} (default: all, chosen by probing the kernel)`, validate: (v) => (v.split(",").every((m) => (MECHANISMS as readonly string[]).includes(m)) ? undefined : `expected a comma-separated list of ${MECHANISMS.join(", ")}`) },
  { name: "help", short: "h", description: "show this help" },
];

export const AGENT_HELP = `Usage: fgs agent [flags]

Runs the agent (as root): loads the process sensor, serves the
FineGuidanceSensors API over gRPC, gRPC-web and Connect on one address.

Flags:
${FLAGS.map((f) => `  --${f.name}${f.valueName ? ` ${f.valueName}` : ""}\n      ${f.description}${f.defaultValue ? ` (default ${f.defaultValue})` : ""}`).join("\n")}

Examples:
  fgs agent
  fgs agent --server-address unix:/run/fgs/fgs.sock --policy /etc/fgs/policies
`;

function parseOptions(argv: readonly string[]): AgentOptions | "help" {
  const args = parseArguments(argv, FLAGS, []);
  if (args.has("help")) return "help";
  const level = args.value("log-level") ?? "info";
  if (!isLogLevel(level)) throw new UsageError(`bad --log-level ${level}`);
  const addressText = args.value("server-address") ?? DEFAULT_SERVER_ADDRESS;
  const address = parseServerAddress(addressText, { allowPortZero: true });
  if (typeof address === "string") throw new UsageError(`--server-address "${addressText}": ${address}`);
  const ring = args.value("ring-buffer-size");
  return {
    address,
    logLevel: level,
    policyPaths: args.values("policy"),
    nodeName: args.value("node-name"),
    exportFile: args.value("export-file"),
    ringBufferBytes: ring ? Number(ring) : undefined,
    hookMechanisms: args.value("hook-mechanisms")?.split(",") as Mechanism[] | undefined,
  };
}

/** `fgs agent`: runs until SIGINT/SIGTERM, then detaches everything and exits 0. */
export async function runAgentCommand(argv: readonly string[]): Promise<number> {
  let options: AgentOptions | "help";
  try {
    options = parseOptions(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`fgs agent: ${e.message}\nRun 'fgs agent --help' for usage.\n`);
    return EXIT_USAGE;
  }
  if (options === "help") {
    process.stdout.write(AGENT_HELP);
    return EXIT_OK;
  }
  const log = createLogger(stderrSink(), options.logLevel);
  let agent;
  try {
    agent = await startAgent(options, log);
  } catch (e) {
    log.error("agent failed to start", { error: e instanceof Error ? e.message : String(e) });
    process.stderr.write(`fgs agent: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`);
    return EXIT_FAILURE;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("signal received", { signal });
      void agent.stop().then(resolve);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await stopped;
  return EXIT_OK;
}
