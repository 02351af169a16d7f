/** What the running kernel offers, probed once at agent start and passed to
 * whatever needs it (like the clock): features, tracefs, kallsyms, error
 * injection, the host's namespaces. Tests pass one describing another kernel. */
import { existsSync, readFileSync } from "node:fs";
import type { NamespaceInums } from "../decode/process";
import type { Logger } from "../log/logger";
import { Kallsyms } from "./kallsyms";
import { readHostNamespaces } from "./namespaces";
import { findTracefs, mountTracefs, tracepointExists, tracepointFormat, type TracepointField } from "./tracefs";

const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";
const KPROBE_PMU = "/sys/bus/event_source/devices/kprobe/type";
const UPROBE_PMU = "/sys/bus/event_source/devices/uprobe/type";
/* Read only where debugfs is mounted already: fgs never mounts it. */
const ERROR_INJECTION_LIST = "/sys/kernel/debug/error_injection/list";
export const NO_KPROBES = "the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is not set)";

export interface KernelEnvironment {
  readonly release: string;
  /** vmlinux BTF: CO-RE programs and fentry/fmod_ret need it. */
  readonly btf: boolean;
  /** Where tracefs is mounted, or null. */
  readonly tracefs: string | null;
  /** null when kprobes attach, else what is missing. */
  readonly kprobesMissing: string | null;
  /** The uprobe PMU exists (CONFIG_UPROBES). */
  readonly uprobes: boolean;
  /** pid 1's namespace inodes (kthreadd's where pid 1's are hidden). */
  readonly hostNamespaces: NamespaceInums;
  /** What the kernel lacks, one line each, for the start-up log. */
  readonly missing: readonly string[];
  /** A text symbol of the kernel or a module (a module loaded later is seen). */
  symbolExists(name: string): boolean;
  /** null: unknown (no error injection list: CONFIG_FUNCTION_ERROR_INJECTION
   * unset, or debugfs not mounted). */
  errorInjectable(symbol: string): boolean | null;
  tracepointExists(subsystem: string, event: string): boolean;
  /** The fields of a tracepoint, or null when it does not exist. */
  tracepointFormat(subsystem: string, event: string): TracepointField[] | null;
}

export interface ProbeOptions {
  /** Mount tracefs when nothing is mounted (the agent at start; never a request). */
  readonly mountTracefs?: boolean;
  readonly log?: Logger;
  readonly procRoot?: string;
}

function readErrorInjectionList(): Set<string> | null {
  if (!existsSync(ERROR_INJECTION_LIST)) return null;
  const lines = readFileSync(ERROR_INJECTION_LIST, "utf8").split("\n");
  return new Set(lines.map((l) => l.split(/\s+/)[0] ?? "").filter(Boolean));
}

function probeTracefs(options: ProbeOptions): string | null {
  const found = findTracefs();
  if (found !== null || !options.mountTracefs) return found;
  const mounted = mountTracefs();
  if (mounted.ok) options.log?.info("mounted filesystem", { fstype: "tracefs", path: findTracefs() });
  else options.log?.warn("cannot mount filesystem", { fstype: "tracefs", error: mounted.error });
  return findTracefs();
}

function missingFeatures(btf: boolean, tracefs: string | null, kprobesMissing: string | null): string[] {
  const missing: string[] = [];
  if (!btf) missing.push(`BTF (${VMLINUX_BTF}): CO-RE programs cannot load`);
  if (tracefs === null) missing.push("tracefs: tracepoint hooks cannot attach");
  if (kprobesMissing) missing.push(`kprobes: ${kprobesMissing}; kernel-function hooks fall back to fentry or syscall tracepoints`);
  return missing;
}

/** Probes the running kernel. The answers that can change (kallsyms, error
 * injection) are read when asked; the rest is fixed for the agent's life. */
export function probeKernel(options: ProbeOptions = {}): KernelEnvironment {
  const tracefs = probeTracefs(options);
  const btf = existsSync(VMLINUX_BTF);
  const kprobes = existsSync(KPROBE_PMU) || (tracefs !== null && existsSync(`${tracefs}/kprobe_events`));
  const kprobesMissing = kprobes ? null : NO_KPROBES;
  const kallsyms = new Kallsyms();
  return {
    release: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    btf,
    tracefs,
    kprobesMissing,
    uprobes: existsSync(UPROBE_PMU),
    hostNamespaces: readHostNamespaces(options.procRoot ?? "/proc"),
    missing: missingFeatures(btf, tracefs, kprobesMissing),
    symbolExists: (name) => kallsyms.has(name),
    errorInjectable: (symbol) => readErrorInjectionList()?.has(symbol) ?? null,
    tracepointExists: (subsystem, event) => tracepointExists(tracefs, subsystem, event),
    tracepointFormat: (subsystem, event) => tracepointFormat(tracefs, subsystem, event),
  };
}
