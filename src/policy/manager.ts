/** Tracing policies of the agent: add (all documents or none), delete, list,
 * and the hook registry the record decoder reads. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BpfObject } from "../bpf/object";
import { objectImage, type ObjectImages } from "../bpf/objects";
import type { HookDescription } from "../decode/generic";
import type { KernelEnvironment } from "../kernel/environment";
import type { Logger } from "../log/logger";
import { PolicySensor } from "./sensor";
import type { Sensor } from "../sensors/sensor";
import { PolicyError } from "./errors";
import { LIMITS } from "./limits";
import { hookName, loadHook, type LoadedHook, type Mechanism } from "./loader";
import type { Policy } from "./model";
import { parsePolicies } from "./parse";

/** What the manager needs of the sensor manager (src/sensors/manager.ts). */
export interface SensorRegistry {
  has(name: string): boolean;
  add(sensor: Sensor): void;
  remove(name: string): Promise<void>;
}

export interface PolicyManagerOptions {
  readonly images: ObjectImages;
  /** The base object's shared maps (events, execve_map, ...); without them
   * the manager creates its own (tests without the process sensor). */
  readonly sharedMaps?: ReadonlyMap<string, number>;
  readonly sensors: SensorRegistry;
  readonly log: Logger;
  readonly kernel: KernelEnvironment;
  /** restricts kernel-function hooks to these mechanisms (agent flag --hook-mechanisms) */
  readonly allowedMechanisms?: readonly Mechanism[];
}

export interface PolicySummary {
  readonly name: string;
  readonly enabled: boolean;
  /** "call=mechanism target" per hook */
  readonly mechanism: string;
}

const GENERIC_MAPS = "generic_maps";
const SHARED_NAMES = ["events", "execve_map", "lost_events", "fgs_config", "gen_fd_names"] as const;
const FD_SWEEP_MS = 60_000;
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/* process-wide: managers sharing one ring buffer never reuse a hook id */
let nextHookId = 1;

export class PolicyManager {
  private readonly policies = new Map<string, PolicySensor>();
  private readonly hooks = new Map<number, HookDescription>();
  private shared: { object: BpfObject; fds: Map<string, number> } | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PolicyManagerOptions) {}

  /** Validates every document, then loads them all or none. Adds run one at
   * a time (the verifier runs off the event loop, so two could interleave). */
  add(yaml: string): Promise<PolicySensor[]> {
    const run = this.queue.then(() => this.addNow(yaml));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async addNow(yaml: string): Promise<PolicySensor[]> {
    const policies = parsePolicies(yaml);
    for (const p of policies) this.checkNameFree(p.name);
    this.checkBudget(policies);
    const loaded: PolicySensor[] = [];
    try {
      for (const p of policies) loaded.push(await this.load(p));
    } catch (e) {
      for (const s of loaded) await s.remove();
      throw e;
    }
    for (const s of loaded) this.options.sensors.add(s);
    return loaded;
  }

  /** Policies and hooks cost file descriptors and kernel memory (about 17 fds
   * and 1.3 MB per hook): both are capped agent-wide (limits.ts). */
  private checkBudget(policies: readonly Policy[]): void {
    const policyCount = this.policies.size + policies.length;
    if (policyCount > LIMITS.policies) {
      throw new PolicyError("resource_exhausted", [`too many tracing policies (${policyCount}, at most ${LIMITS.policies} loaded at once: limit policies)`]);
    }
    const hookCount = this.hooks.size + policies.reduce((n, p) => n + p.hooks.length, 0);
    if (hookCount > LIMITS.hooksTotal) {
      throw new PolicyError("resource_exhausted", [`too many hooks (${hookCount} with the loaded policies, at most ${LIMITS.hooksTotal}: limit hooksTotal, about ${LIMITS.hooksTotal * 17} fds and ${Math.round(LIMITS.hooksTotal * 1.3)} MB of kernel memory)`]);
    }
  }

  /** Takes the YAML given to add, or a policy name. */
  async delete(yamlOrName: string): Promise<string[]> {
    const names = this.namesToDelete(yamlOrName);
    const unknown = names.filter((n) => !this.policies.has(n));
    if (unknown.length > 0) {
      const known = [...this.policies.keys()].join(", ") || "none";
      throw new PolicyError("not_found", unknown.map((n) => `tracing policy "${n}" not found (policies: ${known})`));
    }
    for (const n of names) await this.options.sensors.remove(n);
    return names;
  }

  /** Every *.yaml / *.yml of the given files and directories (agent start). */
  async addFiles(paths: readonly string[]): Promise<PolicySensor[]> {
    const added: PolicySensor[] = [];
    for (const file of paths.flatMap(expandPolicyPath)) {
      try {
        added.push(...(await this.add(readFileSync(file, "utf8"))));
      } catch (e) {
        throw e instanceof PolicyError ? new PolicyError(e.code, e.issues.map((m) => `${file}: ${m}`)) : e;
      }
    }
    return added;
  }

  list(): PolicySummary[] {
    return [...this.policies.values()].map((s) => ({ name: s.name, enabled: s.enabled, mechanism: s.mechanisms() }));
  }

  get(name: string): PolicySensor | undefined {
    return this.policies.get(name);
  }

  /** For the decoder: which policy hook a record came from. */
  hook(id: number): HookDescription | undefined {
    return this.hooks.get(id);
  }

  /** Map fds hooks share; the events ring buffer among them. */
  sharedMaps(): ReadonlyMap<string, number> {
    return this.ensureShared();
  }

  async close(): Promise<void> {
    for (const s of [...this.policies.values()]) await s.remove();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.shared?.object.close();
    this.shared = undefined;
  }

  private checkNameFree(name: string): void {
    if (this.policies.has(name) || this.options.sensors.has(name)) {
      throw new PolicyError("already_exists", [`metadata.name: a sensor named "${name}" already exists (delete it first)`]);
    }
  }

  private namesToDelete(text: string): string[] {
    const trimmed = text.trim();
    if (NAME_RE.test(trimmed)) return [trimmed];
    return parsePolicies(text).map((p) => p.name);
  }

  private async load(policy: Policy): Promise<PolicySensor> {
    const allowed = this.options.allowedMechanisms ? new Set(this.options.allowedMechanisms) : undefined;
    const log = this.options.log.child({ policy: policy.name });
    const env = { images: this.options.images, sharedMaps: this.ensureShared(), log, kernel: this.options.kernel, allowed };
    const hooks: LoadedHook[] = [];
    try {
      for (const hook of policy.hooks) hooks.push(await loadHook(hook, nextHookId++, env));
    } catch (e) {
      for (const h of hooks) h.close();
      throw e;
    }
    for (const h of hooks) this.hooks.set(h.id, describeHook(h, policy.name));
    const sensor = new PolicySensor(policy, hooks, this.options.log, (s) => this.forget(s));
    this.policies.set(policy.name, sensor);
    this.options.log.info("policy added", { policy: policy.name, mechanism: sensor.mechanisms() });
    return sensor;
  }

  private forget(sensor: PolicySensor): void {
    if (this.policies.get(sensor.name) !== sensor) return;
    this.policies.delete(sensor.name);
    /* records still in flight decode until the hook ids are dropped here */
    for (const h of sensor.hooks) this.hooks.delete(h.id);
  }

  private ensureShared(): Map<string, number> {
    if (this.shared) return this.shared.fds;
    const given = this.options.sharedMaps ?? new Map<string, number>();
    const object = BpfObject.open(GENERIC_MAPS, objectImage(this.options.images, GENERIC_MAPS), { reuseMaps: given });
    try {
      object.load();
    } catch (e) {
      object.close();
      throw e;
    }
    const fds = new Map(SHARED_NAMES.map((n) => [n, object.map(n).fd] as [string, number]));
    this.shared = { object, fds };
    this.sweepTimer = setInterval(() => this.sweepFdNames(), FD_SWEEP_MS);
    this.sweepTimer.unref?.();
    return fds;
  }

  /** Drops FollowFD names of processes that exited. */
  private sweepFdNames(): void {
    const map = this.shared?.object.map("gen_fd_names");
    if (!map) return;
    for (const key of [...map.keys()]) {
      const tgid = new DataView(key.buffer).getUint32(0, true);
      if (!processAlive(tgid)) map.delete(key);
    }
  }
}

function processAlive(tgid: number): boolean {
  try {
    statSync(`/proc/${tgid}`);
    return true;
  } catch {
    return false;
  }
}

function describeHook(h: LoadedHook, policyName: string): HookDescription {
  const hook = h.hook;
  if (hook.kind === "tracepoint") {
    return { kind: "tracepoint", functionName: "", subsystem: hook.subsystem, event: hook.event, policyName };
  }
  return { kind: "kprobe", functionName: hookName(hook), subsystem: "", event: "", policyName };
}

function expandPolicyPath(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(path, f));
}
