import { parseArguments, type FlagSpec } from "../cli/args";
import { UsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../common/errors";
import { parseServerAddress, DEFAULT_SERVER_ADDRESS } from "../server/address";
import { createLogger, isLogLevel, stderrSink } from "../log/logger";
import { startAgent, type AgentOptions } from "./bootstrap";
import { MECHANISMS, type Mechanism } from "../policy/index";
import { FLAG_GROUPS, OPS_FLAGS, opsOptions } from "./ops-flags";
import { DEFAULT_LINGER_MAX_MS } from "../reader/ring-reader";
import { withConfigFile } from "./config-file";
import { positiveSeconds, type SecurityOptions } from "../server/security";

const FLAGS: readonly FlagSpec[] = [
  { name: "server-address", valueName: "ADDR", defaultValue: DEFAULT_SERVER_ADDRESS, description: "where to serve the API: host:port (port 0 picks one) or unix:/path/to/socket" },
  { name: "policy", valueName: "FILE|DIR", repeatable: true, description: "tracing policy YAML to load at start (a directory loads every *.yaml/*.yml in it); repeatable" },
  { name: "log-level", valueName: "LEVEL", defaultValue: "info", choices: ["debug", "info", "warn", "error"], description: "least severe log level written to stderr" },
  { name: "node-name", valueName: "NAME", description: "node name in events and exec_ids (default: the hostname)" },
  { name: "export-file", valueName: "PATH", description: "also append every event as a JSON line to PATH" },
  { name: "ring-buffer-size", valueName: "BYTES", description: "kernel ring buffer size, a power of two (default 8388608)", validate: (v) => (/^\d+$/.test(v) && (Number(v) & (Number(v) - 1)) === 0 && Number(v) >= 4096 ? undefined : "must be a power of two of at least 4096") },
  {
    name: "event-batch-max-delay",
    valueName: "MS",
    description: `while events arrive steadily (1 per ms or more), how long the reader may wait to batch them: fewer wake-ups and writes (CPU) against latency; 0 reads each wake-up at once (default ${DEFAULT_LINGER_MAX_MS})`,
    validate: (v) => (/^\d{1,4}$/.test(v) && Number(v) <= 1000 ? undefined : "must be a whole number of milliseconds from 0 to 1000"),
  },
  { name: "hook-mechanisms", valueName: "LIST", description: `comma-separated mechanisms kernel-function hooks may use, best first among ${MECHANISMS.join(", ")} (default: all, chosen by probing the kernel)`, validate: (v) => (v.split(",").every((m) => (MECHANISMS as readonly string[]).includes(m)) ? undefined : `expected a comma-separated list of ${MECHANISMS.join(", ")}`) },
  ...OPS_FLAGS,
  // ---- API access (sec): README "Threat model" ----
  { name: "api-group", valueName: "NAME", description: "members of this Unix group may call the API besides root (the unix socket becomes 0660, owned by the group)" },
  { name: "api-token-file", valueName: "PATH", description: "a bearer token (first line, 16+ characters); `Authorization: Bearer <token>` authorises a caller" },
  { name: "api-unsafe-allow-all", description: "WARNING: lets every caller that reaches the API use it, whatever its uid or address (the API can kill any process and read syscall data)" },
  { name: "console-token-file", valueName: "PATH", description: "where the console login token is written, mode 0600 (default /run/fgs/console-token-PORT for the bound TCP port, or console-token next to a unix socket); removed when the agent stops" },
  { name: "cors-allow-origin", valueName: "ORIGIN", repeatable: true, description: "a web origin (e.g. https://ops.example) whose pages may call the API with a console session; repeatable (default: none)" },
  { name: "tls-cert-file", valueName: "PATH", description: "TLS certificate (PEM): required to serve on a non-loopback address" },
  { name: "tls-key-file", valueName: "PATH", description: "TLS private key (PEM) for --tls-cert-file" },
  { name: "tls-client-ca-file", valueName: "PATH", description: "CA (PEM) whose client certificates authorise remote callers" },
  { name: "api-header-timeout", valueName: "SECONDS", defaultValue: "10", description: "a connection must complete its first request's headers within this time (slowloris)", validate: positiveSeconds },
  { name: "api-idle-timeout", valueName: "SECONDS", defaultValue: "120", description: "a connection with no request in flight is closed after this time (GetEvents streams are in flight)", validate: positiveSeconds },
  // ---- end API access ----
  { name: "help", short: "h", description: "show this help" },
];

const flagHelp = (f: FlagSpec): string =>
  `  --${f.name}${f.valueName ? ` ${f.valueName}` : ""}\n      ${f.description}${f.defaultValue ? ` (default ${f.defaultValue})` : ""}`;

/** Flags by topic; a flag no group names is listed under "Other". */
function groupedFlagHelp(): string {
  const grouped = new Set(FLAG_GROUPS.flatMap(([, names]) => names));
  const sections = FLAG_GROUPS.map(([title, names]) => [title, FLAGS.filter((f) => names.includes(f.name))] as const);
  const other = FLAGS.filter((f) => !grouped.has(f.name));
  return [...sections, ["Other", other] as const]
    .filter(([, flags]) => flags.length > 0)
    .map(([title, flags]) => `${title}:\n${flags.map(flagHelp).join("\n")}`)
    .join("\n\n");
}

export const AGENT_HELP = `Usage: fgs agent [flags]

Runs the agent (as root): loads the process sensor, serves the
FineGuidanceSensors API over gRPC, gRPC-web and Connect on one address.

${groupedFlagHelp()}

Every flag can also be set in the --config YAML file (key: flag name, value:
its value; a list for repeatable flags, true/false for switches). A flag given
on the command line wins over the file; the file wins over the defaults.

Examples:
  fgs agent
  fgs agent --server-address unix:/run/fgs/fgs.sock --policy /etc/fgs/policies
  fgs agent --config /etc/fgs/agent.yaml --metrics-address :2112
`;

function securityOptions(args: ReturnType<typeof parseArguments>): SecurityOptions {
  return {
    apiGroup: args.value("api-group"),
    tokenFile: args.value("api-token-file"),
    allowAll: args.has("api-unsafe-allow-all"),
    consoleTokenFile: args.value("console-token-file"),
    corsOrigins: args.values("cors-allow-origin"),
    tlsCertFile: args.value("tls-cert-file"),
    tlsKeyFile: args.value("tls-key-file"),
    tlsClientCaFile: args.value("tls-client-ca-file"),
    limits: {
      headerTimeoutMs: Number(args.value("api-header-timeout") ?? "10") * 1000,
      idleTimeoutMs: Number(args.value("api-idle-timeout") ?? "120") * 1000,
    },
  };
}

function parseOptions(argv: readonly string[]): AgentOptions | "help" {
  const cli = parseArguments(argv, FLAGS, []);
  if (cli.has("help")) return "help";
  const args = withConfigFile(cli, argv, FLAGS);
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
    ringBufferBytes: ring ? Number(ring) : undefined,
    eventBatchMaxDelayMs: optionalNumber(args.value("event-batch-max-delay")),
    hookMechanisms: args.value("hook-mechanisms")?.split(",") as Mechanism[] | undefined,
    ...opsOptions(args),
    security: securityOptions(args),
  };
}

function optionalNumber(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
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
