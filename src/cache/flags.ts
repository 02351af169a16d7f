import { ProcFlag } from "../decode/process";

/** Flags users see in Process.flags, in the order they are printed. Kernel-only
 * bits (parentMiss, script, truncCgroup, unlinked) are not shown. */
const SHOWN: readonly (keyof typeof ProcFlag)[] = [
  "execve",
  "execveat",
  "procFS",
  "clone",
  "truncFilename",
  "truncArgs",
  "errorFilename",
  "errorArgs",
  "nocwd",
  "rootcwd",
  "errorCWD",
  "miss",
  "auid",
];

export function flagWords(bits: number): string {
  return SHOWN.filter((w) => (bits & ProcFlag[w]) !== 0).join(" ");
}
