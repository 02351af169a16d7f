/** What the running kernel offers policy hooks, probed from /sys and /proc. */
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { NAMESPACE_PROC_FILE, NAMESPACES, type NamespaceType } from "./names";
import { tracefsRoot } from "./tracefs";

const KPROBE_PMU = "/sys/bus/event_source/devices/kprobe/type";
const ERROR_INJECTION_LIST = "/sys/kernel/debug/error_injection/list";

export interface KernelFeatures {
  /** null when kprobes attach, else what is missing */
  readonly kprobesMissing: string | null;
  readonly btf: boolean;
}

let features: KernelFeatures | undefined;

export function kernelFeatures(): KernelFeatures {
  if (features) return features;
  const tracefs = tracefsRoot();
  const kprobes = existsSync(KPROBE_PMU) || (tracefs !== null && existsSync(`${tracefs}/kprobe_events`));
  features = {
    kprobesMissing: kprobes ? null : "the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is not set)",
    btf: existsSync("/sys/kernel/btf/vmlinux"),
  };
  return features;
}

let symbols: Set<string> | undefined;

/** Text symbols of the kernel (and modules) from /proc/kallsyms. */
export function kernelSymbolExists(name: string): boolean {
  if (!symbols) {
    symbols = new Set();
    for (const line of readFileSync("/proc/kallsyms", "utf8").split("\n")) {
      const parts = line.split(/\s+/);
      if (parts[1] === "T" || parts[1] === "t") symbols.add(parts[2]!);
    }
  }
  return symbols.has(name);
}

let injectable: Set<string> | null | undefined;

function readErrorInjectionList(): Set<string> | null {
  if (!existsSync("/sys/kernel/debug/error_injection")) spawnSync("mount", ["-t", "debugfs", "none", "/sys/kernel/debug"]);
  if (!existsSync(ERROR_INJECTION_LIST)) return null;
  const lines = readFileSync(ERROR_INJECTION_LIST, "utf8").split("\n");
  return new Set(lines.map((l) => l.split(/\s+/)[0]!).filter(Boolean));
}

/** null: the kernel has no error injection list at all (no CONFIG_FUNCTION_ERROR_INJECTION). */
export function errorInjectable(symbol: string): boolean | null {
  if (injectable === undefined) injectable = readErrorInjectionList();
  return injectable === null ? null : injectable.has(symbol);
}

let hostNs: Map<NamespaceType, number> | undefined;

function namespaceInode(pid: number, ns: NamespaceType): number {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${NAMESPACE_PROC_FILE[ns]}`))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Namespace inode numbers of the host ("host_ns"): pid 1's, or where a
 * hardened init hides them, kthreadd's (kernel threads stay in the initial
 * namespaces). */
export function hostNamespaces(): ReadonlyMap<NamespaceType, number> {
  if (hostNs) return hostNs;
  hostNs = new Map(NAMESPACES.map((ns) => [ns, namespaceInode(1, ns) || namespaceInode(2, ns)]));
  return hostNs;
}
