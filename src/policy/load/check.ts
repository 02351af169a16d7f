/** `fgs tracingpolicy check`: each policy file validated and, as root, loaded
 * and attached on this kernel then unloaded again, without an agent. */
import { readFileSync } from "node:fs";
import type { ObjectImages } from "../../bpf/objects";
import { createLogger } from "../../log/logger";
import { SensorManager } from "../../sensors/manager";
import { PolicyError } from "../model/errors";
import { probeKernel } from "../../kernel/environment";
import { expandPolicyPath, PolicyManager } from "./manager";
import { parsePolicies } from "../spec/parse";

export interface CheckReport {
  readonly file: string;
  /** every policy of the file loads (or, without root, is valid) */
  readonly ok: boolean;
  /** "loads on this kernel", "refused", or "valid (...)" */
  readonly verdict: string;
  /** per policy its hooks' mechanisms and warnings, or every reason it was refused */
  readonly details: readonly string[];
}

export interface CheckOptions {
  readonly images: () => ObjectImages;
  /** false: validate only (loading BPF needs root) */
  readonly kernel: boolean;
}

export async function checkPolicyPaths(paths: readonly string[], options: CheckOptions): Promise<CheckReport[]> {
  const files = paths.flatMap(expandPolicyPath);
  if (!options.kernel) return files.map(validateOnly);
  const sensors = new SensorManager();
  const log = createLogger({ write() {} });
  const manager = new PolicyManager({ images: options.images(), sensors, log, kernel: probeKernel({ mountTracefs: true, log }) });
  try {
    const reports: CheckReport[] = [];
    for (const file of files) reports.push(await loadAndUnload(file, manager, sensors));
    return reports;
  } finally {
    await manager.close();
  }
}

function refused(file: string, e: unknown): CheckReport {
  const details = e instanceof PolicyError ? e.issues : [e instanceof Error ? e.message : String(e)];
  return { file, ok: false, verdict: "refused", details };
}

function read(file: string): string {
  return readFileSync(file, "utf8");
}

function validateOnly(file: string): CheckReport {
  try {
    const policies = parsePolicies(read(file));
    const details = policies.flatMap((p) => [`policy "${p.name}": ${p.hooks.length} hook(s)`, ...p.warnings.map((w) => `warning: ${w}`)]);
    return { file, ok: true, verdict: "valid (not tried on the kernel: that needs root)", details };
  } catch (e) {
    return refused(file, e);
  }
}

async function loadAndUnload(file: string, manager: PolicyManager, sensors: SensorManager): Promise<CheckReport> {
  try {
    const loaded = await manager.add(read(file));
    const details = loaded.flatMap((s) => [
      `policy "${s.name}": ${s.mechanisms()}`,
      ...s.policy.warnings.map((w) => `warning: ${w}`),
    ]);
    for (const s of loaded) await sensors.remove(s.name);
    return { file, ok: true, verdict: "loads on this kernel", details };
  } catch (e) {
    return refused(file, e);
  }
}
