import { ProcFlag } from "../decode/process";

/** Flags users see in Process.flags, in the order the original agent printed
 * them (its DecodeCommonFlags: "execve rootcwd clone", "procFS auid rootcwd").
 * Kernel-only bits (parentMiss, script, truncCgroup, unlinked) are not shown. */
const SHOWN: readonly (keyof typeof ProcFlag)[] = [
  "execve",
  "execveat",
  "procFS",
  "truncFilename",
  "truncArgs",
  "miss",
  "auid",
  "errorFilename",
  "errorArgs",
  "nocwd",
  "rootcwd",
  "errorCWD",
  "clone",
];

export function flagWords(bits: number): string {
  return SHOWN.filter((w) => (bits & ProcFlag[w]) !== 0).join(" ");
}
