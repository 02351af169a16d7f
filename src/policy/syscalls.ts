/** Syscall names in the spellings users write. */

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
