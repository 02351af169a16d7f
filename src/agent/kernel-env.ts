import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import type { Logger } from "../log/logger";

const TRACEFS = "/sys/kernel/tracing";

function mounted(path: string, fstype: string): boolean {
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  return mounts.split("\n").some((l) => {
    const [, mnt, type] = l.split(" ");
    return mnt === path && type === fstype;
  });
}

function ensureMounted(path: string, fstype: string, log: Logger): boolean {
  if (mounted(path, fstype)) return true;
  const r = spawnSync("mount", ["-t", fstype, fstype === "bpf" ? "bpf" : "none", path], { encoding: "utf8" });
  if (r.status === 0) {
    log.info("mounted filesystem", { fstype, path });
    return true;
  }
  log.warn("cannot mount filesystem", { fstype, path, error: (r.stderr || String(r.error)).trim() });
  return false;
}

export interface KernelEnvironment {
  release: string;
  btf: boolean;
  tracefs: boolean;
  kprobes: boolean;
  /** What the kernel lacks, for the start-up log and GetHealth. */
  missing: string[];
}

/** Prepares tracefs (tracepoint ids live there) and reports what the kernel offers. */
export function prepareKernelEnvironment(log: Logger): KernelEnvironment {
  const release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  const btf = existsSync("/sys/kernel/btf/vmlinux");
  const tracefs = ensureMounted(TRACEFS, "tracefs", log);
  const kprobes = existsSync(`${TRACEFS}/kprobe_events`);
  const missing: string[] = [];
  if (!btf) missing.push("BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load");
  if (!tracefs) missing.push("tracefs: tracepoint hooks cannot attach");
  if (!kprobes) missing.push("kprobes (no kprobe_events in tracefs): kernel-function hooks fall back to fentry or syscall tracepoints");
  return { release, btf, tracefs, kprobes, missing };
}
