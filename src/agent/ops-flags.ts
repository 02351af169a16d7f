/** The agent flags for operating it (metrics, export file, persistence, config):
 * their specs, help groups, and the AgentOptions they produce. */
import type { FlagSpec, ParsedArguments } from "../cli/args";
import { UsageError } from "../common/errors";
import { parseMetricsAddress } from "../metrics/server";
import { EXPORT_DEFAULTS, exportConfig, ExportFlagError } from "../export/options";
import type { AgentOptions } from "./bootstrap";

const metricsAddressProblem = (v: string): string | undefined => {
  const a = parseMetricsAddress(v);
  return typeof a === "string" ? a : undefined;
};

export const OPS_FLAGS: readonly FlagSpec[] = [
  { name: "metrics-address", valueName: "ADDR", description: "serve Prometheus metrics at http://ADDR/metrics: host:port, or :port for loopback (default: off)", validate: metricsAddressProblem },
  { name: "metrics-bpf-stats", description: "turn kernel BPF run-time statistics on while the agent runs (per-program run counts and time); costs a little on every BPF program run" },
  { name: "export-file-max-size-mb", valueName: "MB", defaultValue: EXPORT_DEFAULTS.maxSizeMb, description: "rotate the export file before it passes this size; 0 never" },
  { name: "export-file-rotation-interval", valueName: "DURATION", defaultValue: EXPORT_DEFAULTS.rotationInterval, description: "also rotate the export file this often (30s, 10m, 24h); 0 never" },
  { name: "export-file-max-backups", valueName: "N", defaultValue: EXPORT_DEFAULTS.maxBackups, description: "rotated export files to keep; 0 keeps all" },
  { name: "export-file-compress", description: "gzip rotated export files" },
  { name: "export-file-perm", valueName: "MODE", defaultValue: EXPORT_DEFAULTS.perm, description: "octal file mode of the export file and its backups" },
  { name: "export-allowlist", valueName: "JSON", description: "export only events matching one of these filters (GetEvents filter JSON: a list, or one object per line)" },
  { name: "export-denylist", valueName: "JSON", description: "do not export events matching any of these filters" },
  { name: "export-rate-limit", valueName: "N", description: "export at most N events per minute; the rest are dropped and counted (default: no limit)" },
  { name: "export-field-filters", valueName: "JSON", description: 'keep or drop fields per event type: [{"event_set":["PROCESS_EXEC"],"fields":"process.binary,process.arguments","action":"INCLUDE"}]' },
  { name: "export-redact", valueName: "RE2", repeatable: true, description: "replace matches (or their capture groups) in exported `arguments` by *****; repeatable" },
  { name: "policy-dir", valueName: "DIR", description: "keep policies added over the API as files in DIR (0700) and load them at start" },
  { name: "config", valueName: "FILE", description: "read flags from a YAML file (keys are flag names); flags given on the command line win" },
];

/** Help sections, in order: every agent flag is listed under its topic. */
export const FLAG_GROUPS: readonly (readonly [string, readonly string[]])[] = [
  ["API server", ["server-address", "node-name"]],
  ["API access and security (README: Threat model)", ["api-group", "api-token-file", "api-unsafe-allow-all", "console-token-file", "cors-allow-origin", "tls-cert-file", "tls-key-file", "tls-client-ca-file", "api-header-timeout", "api-idle-timeout"]],
  ["Kernel and sensors", ["ring-buffer-size", "event-batch-max-delay", "hook-mechanisms"]],
  ["Tracing policies", ["policy", "policy-dir"]],
  ["Export file", ["export-file", "export-file-max-size-mb", "export-file-rotation-interval", "export-file-max-backups", "export-file-compress", "export-file-perm", "export-allowlist", "export-denylist", "export-rate-limit", "export-field-filters", "export-redact"]],
  ["Metrics", ["metrics-address", "metrics-bpf-stats"]],
  ["Logging and configuration", ["log-level", "config", "help"]],
];

export function opsOptions(args: ParsedArguments): Partial<AgentOptions> {
  const metrics = args.value("metrics-address");
  const metricsAddress = metrics === undefined ? undefined : parseMetricsAddress(metrics);
  return {
    metricsAddress: typeof metricsAddress === "string" ? undefined : metricsAddress,
    metricsBpfStats: args.isTrue("metrics-bpf-stats"),
    export: exportOptions(args),
    policyDir: args.value("policy-dir"),
  };
}

function exportOptions(args: ParsedArguments): AgentOptions["export"] {
  const path = args.value("export-file");
  if (path === undefined) {
    const stray = OPS_FLAGS.find((f) => f.name.startsWith("export-") && args.has(f.name));
    if (stray) throw new UsageError(`--${stray.name} needs --export-file`);
    return undefined;
  }
  try {
    return exportConfig({
      path,
      maxSizeMb: args.value("export-file-max-size-mb"),
      rotationInterval: args.value("export-file-rotation-interval"),
      maxBackups: args.value("export-file-max-backups"),
      compress: args.isTrue("export-file-compress"),
      perm: args.value("export-file-perm"),
      allowList: args.value("export-allowlist"),
      denyList: args.value("export-denylist"),
      rateLimit: args.value("export-rate-limit"),
      fieldFilters: args.value("export-field-filters"),
      redact: args.values("export-redact"),
    });
  } catch (e) {
    if (e instanceof ExportFlagError) throw new UsageError(`--${e.flag}: ${e.message}`);
    throw e;
  }
}
