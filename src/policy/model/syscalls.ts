/** Syscall names in the spellings users write, and their numbers. */
import { readFileSync } from "node:fs";

const PREFIXES = [
  "__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__s390x_sys_", "__riscv_sys_",
  "__se_sys_", "__do_sys_", "sys_",
] as const;

/** The syscall's base name ("write") if `call` names a syscall, else null.
 * With syscall: true a bare name ("write") is a syscall too. */
export function syscallBaseName(call: string, syscall: boolean): string | null {
  for (const p of PREFIXES) if (call.startsWith(p) && call.length > p.length) return call.slice(p.length);
  return syscall ? call : null;
}

/** Kernel symbols that implement a syscall, best first. Wrappers receive a
 * pointer to the user's pt_regs instead of the arguments. */
export function syscallSymbols(base: string): { symbol: string; wrapper: boolean }[] {
  const arch = process.arch === "arm64" ? "__arm64_sys_" : "__x64_sys_";
  return [
    { symbol: `${arch}${base}`, wrapper: true },
    { symbol: `sys_${base}`, wrapper: false },
  ];
}

const UNISTD: Readonly<Record<string, string>> = {
  x64: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
  arm64: "/usr/include/aarch64-linux-gnu/asm/unistd.h",
};

/** Syscall numbers of this architecture ("openat" → 257), from the kernel
 * headers of the system (Debian: linux-libc-dev), or why they are missing. */
export function syscallNumbers(): Map<string, number> | Error {
  const file = UNISTD[process.arch];
  if (!file) return new Error(`syscall numbers of ${process.arch} are not known here`);
  try {
    const text = readFileSync(file, "utf8");
    const entries = [...text.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    return new Map(entries);
  } catch {
    return new Error(`"list:" values need syscall numbers from ${file} (package linux-libc-dev), which is missing`);
  }
}
