/** Why the kernel refused a trampoline (fentry / fmod_ret) program: the bare
 * errno says little, so this looks at what the system shows about tracing. */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

function readText(path: string): string | Error {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function errnoOf(e: Error): string {
  return (e as NodeJS.ErrnoException).code ?? e.message;
}

/** Kernel build options from /proc/config.gz, when the kernel exposes them. */
function kernelConfig(): ReadonlyMap<string, string> | null {
  try {
    const text = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
    const entries = text.split("\n").map((l) => /^(CONFIG_\w+)=(.*)$/.exec(l)).filter((m) => m !== null);
    return new Map(entries.map((m) => [m[1]!, m[2]!]));
  } catch {
    return null;
  }
}

const TRAMPOLINE_OPTIONS = ["CONFIG_FUNCTION_TRACER", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_BPF_JIT"];

function missingOptions(): string[] {
  const config = kernelConfig();
  if (!config) return [];
  return TRAMPOLINE_OPTIONS.filter((o) => config.get(o) !== "y");
}

/** What tracefs shows about tracing this function, if anything is wrong. */
function traceability(symbol: string, root: string | null): { denied: string } | { untraceable: string } | null {
  if (!root) return null;
  const file = `${root}/available_filter_functions`;
  const list = readText(file);
  if (list instanceof Error) return { denied: `reading ${file} fails with ${errnoOf(list)} too` };
  const listed = list.split("\n").some((l) => l.split(/\s+/)[0] === symbol);
  return listed ? null : { untraceable: `${symbol} is not traceable (not in ${file}: notrace or inlined)` };
}

function securityModules(): string | null {
  const dir = "/sys/kernel/security";
  const lockdown = readText(`${dir}/lockdown`);
  const lsm = readText(`${dir}/lsm`);
  const mode = lockdown instanceof Error ? null : /\[(\w+)\]/.exec(lockdown)?.[1] ?? null;
  const parts = [];
  if (mode && mode !== "none") parts.push(`kernel lockdown "${mode}"`);
  if (!(lsm instanceof Error)) parts.push(`security modules ${lsm.trim()}`);
  return parts.length > 0 ? parts.join(", ") : null;
}

/** Appended to "load BPF object generic_fentry: EPERM" and the like. */
export function trampolineRefusal(symbol: string, error: string, tracefs: string | null): string {
  const missing = missingOptions();
  if (missing.length > 0) return `the kernel is built without ${missing.join(", ")}`;
  const traced = traceability(symbol, tracefs);
  if (traced && "untraceable" in traced) return traced.untraceable;
  if (!/EPERM|EACCES|not permitted/.test(error)) return "the kernel refused the trampoline program";
  const why = [traced && "denied" in traced ? traced.denied : null, securityModules()].filter((x) => x !== null);
  return `this system does not permit attaching BPF programs to kernel functions, even as root${why.length > 0 ? ` (${why.join("; ")})` : ""}`;
}
