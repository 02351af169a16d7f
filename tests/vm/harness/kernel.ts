import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

// Kernel ground truth, read from tracefs/debugfs, independent of the agent.

function readLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
}

/** Functions with a registered kprobe or kretprobe (perf or tracefs). */
export function kprobedFunctions(): Set<string> {
  // "ffffffff9df4a350  k  do_sys_openat2+0x0    [FTRACE]"
  const names = readLines("/sys/kernel/debug/kprobes/list").map((l) => l.split(/\s+/)[2] ?? "");
  return new Set(names.map((n) => n.replace(/\+0x[0-9a-f]+$/, "")));
}

/** Functions whose ftrace site calls a direct trampoline (fentry/fexit/fmod_ret). */
export function directCallFunctions(): Set<string> {
  // "fd_install (1) R   D	tramp: ftrace_regs_caller+0x0/0x58 (call_direct_funcs+0x0/0x30)"
  const lines = readLines("/sys/kernel/tracing/enabled_functions");
  return new Set(lines.filter((l) => /\)\s.*\bD\b/.test(l.split("\t")[0] ?? "")).map((l) => l.split(" ")[0] ?? ""));
}

/** Functions bpf_override_return may target, or null when the kernel has no list. */
export function errorInjectableFunctions(): Set<string> | null {
  const path = "/sys/kernel/debug/error_injection/list";
  if (!existsSync(path)) return null;
  return new Set(readLines(path).map((l) => l.split(/\s+/)[0] ?? ""));
}

/** Seconds since boot (the kernel log's clock). */
export function uptimeSeconds(): number {
  return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
}

/** Kernel log lines stamped at or after `uptime` seconds, for failure reports. */
export function kernelLogSince(uptime: number): string[] {
  const result = spawnSync("dmesg", [], { encoding: "utf8", timeout: 5000 });
  if (result.status !== 0) return [];
  return result.stdout.split("\n").filter((line) => {
    const stamp = /^\[\s*(\d+\.\d+)\]/.exec(line);
    return stamp !== null && Number(stamp[1]) >= uptime;
  });
}
