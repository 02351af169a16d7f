// The TracingPolicy documents of the benchmarks (format:
// ../shared/facts/tracing-policy.md), written to a temporary directory.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The fd write_loop writes every EVERY-th call to (bench/c/write_loop.c). */
export const MARK_FD = 100;

function writePolicyYaml(name: string, selector: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - {index: 0, type: int}
    - {index: 2, type: size_t}
    selectors:
${selector}`;
}

/** Posts every write() made by binary. */
export function writeAllPolicy(dir: string, binary: string): string {
  const yaml = writePolicyYaml(
    "bench-write-all",
    `    - matchBinaries: [{operator: In, values: ["${binary}"]}]\n`,
  );
  const path = join(dir, "write-all.yaml");
  writeFileSync(path, yaml);
  return path;
}

/** Posts only the write() calls of binary on MARK_FD (0.1% of write_loop's with EVERY=1000). */
export function writeMarkedPolicy(dir: string, binary: string): string {
  const yaml = writePolicyYaml(
    "bench-write-marked",
    `    - matchBinaries: [{operator: In, values: ["${binary}"]}]\n` +
      `      matchArgs: [{index: 0, operator: Equal, values: ["${MARK_FD}"]}]\n`,
  );
  const path = join(dir, "write-marked.yaml");
  writeFileSync(path, yaml);
  return path;
}
