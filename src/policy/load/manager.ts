/** Tracing policies of the agent: add (all documents or none), delete, list,
 * and the hook registry the record decoder reads. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BpfObject } from "../../bpf/object";
import { objectImage, type ObjectImages } from "../../bpf/objects";
import type { HookDescription } from "../../decode/generic";
import type { KernelEnvironment } from "../../kernel/environment";
import type { Logger } from "../../log/logger";
import { PolicySensor } from "./sensor";
import type { Sensor } from "../../sensors/sensor";
import { PolicyError } from "../model/errors";
import { LIMITS } from "../spec/limits";
import { loadHook, reportedFunctionName, uprobeFileOffset, type LoadedHook, type Mechanism } from "./loader";
import type { Policy, PolicyAction, RateLimit } from "../model/model";
import type { UserAction } from "./user-actions";
import { parsePolicies } from "../spec/parse";

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
/* process-wide: managers sharing one ring buffer never reuse a hook id */
let nextHookId = 1;

export class PolicyManager {
  private readonly policies = new Map<string, PolicySensor>();
  private readonly hooks = new Map<number, HookDescription>();
  private readonly warned = new Set<string>();
  private readonly limits = new Map<number, readonly (PostRule | undefined)[]>();
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
    /* no pods here: a pod-selecting policy would select nothing */
    for (const s of loaded) if (s.policy.selectsPods) await s.disable();
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

  /** Every *.yaml / *.yml of the given files and directories (agent start).
   * Tries every file; when some fail, unloads the others and reports every
   * failure, one "<file>: <issue>" each. */
  async addFiles(paths: readonly string[]): Promise<PolicySensor[]> {
    const added: PolicySensor[] = [];
    const issues: string[] = [];
    let code: PolicyError["code"] | undefined;
    for (const file of paths.flatMap(expandPolicyPath)) {
      try {
        added.push(...(await this.add(readFileSync(file, "utf8"))));
      } catch (e) {
        const err = e instanceof PolicyError ? e : new PolicyError("invalid_argument", [reasonOf(e)]);
        code ??= err.code;
        issues.push(...err.issues.map((m) => `${file}: ${m}`));
      }
    }
    if (code === undefined) return added;
    for (const s of added) await this.options.sensors.remove(s.name);
    throw new PolicyError(code, issues);
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

  /** What user space does with a record of a hook's selector (1-based, as
   * records carry it): drop it (NoPost), rate limit it, or post it (undefined). */
  postRule(hookId: number, selector: number): PostRule | undefined {
    return this.limits.get(hookId)?.[selector - 1];
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

  /** Refused like the original ("a sensor collection with the name already exists"). */
  private checkNameFree(name: string): void {
    if (!this.policies.has(name) && !this.options.sensors.has(name)) return;
    const what = this.policies.has(name) ? "tracing policy" : "built-in sensor";
    throw new PolicyError("already_exists", [
      `metadata.name: failed to add tracing policy "${name}": a sensor collection with the name already exists (the ${what} "${name}"; delete it first)`,
    ]);
  }

  /** A loaded policy's name (any string, as names are free-form), else YAML;
   * one line that is neither is an unknown name. */
  private namesToDelete(text: string): string[] {
    const trimmed = text.trim();
    for (const name of [text, trimmed]) if (this.policies.has(name) || this.options.sensors.has(name)) return [name];
    try {
      return parsePolicies(text).map((p) => p.name);
    } catch (e) {
      if (!trimmed.includes("\n")) return [trimmed];
      throw e;
    }
  }

  /** Each warning once per policy name and field, for the agent's lifetime. */
  private warnOnce(policy: Policy): void {
    for (const w of policy.warnings) {
      const key = `${policy.name}\0${w}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.options.log.warn("policy field has no effect here", { policy: policy.name, field: w });
    }
  }

  private async load(policy: Policy): Promise<PolicySensor> {
    const allowed = this.options.allowedMechanisms ? new Set(this.options.allowedMechanisms) : undefined;
    const log = this.options.log.child({ policy: policy.name });
    const env = { images: this.options.images, sharedMaps: this.ensureShared(), log, kernel: this.options.kernel, allowed };
    this.warnOnce(policy);
    const hooks: LoadedHook[] = [];
    const failures: PolicyError[] = [];
    for (const hook of policy.hooks) {
      try {
        hooks.push(await loadHook(hook, nextHookId++, env));
      } catch (e) {
        if (!(e instanceof PolicyError)) {
          for (const h of hooks) h.close();
          throw e;
        }
        failures.push(e);
      }
    }
    if (failures.length > 0) {
      for (const h of hooks) h.close();
      throw new PolicyError(failures[0]!.code, failures.flatMap((f) => f.issues));
    }
    for (const h of hooks) {
      this.hooks.set(h.id, describeHook(h, policy.name, this.options.kernel));
      const limits = h.hook.selectors.map((s) => postRule(s.matchActions));
      if (limits.some((l) => l !== undefined)) this.limits.set(h.id, limits);
    }
    const sensor = new PolicySensor(policy, hooks, this.options.log, (s) => this.forget(s));
    this.policies.set(policy.name, sensor);
    this.options.log.info("policy added", { policy: policy.name, mechanism: sensor.mechanisms() });
    return sensor;
  }

  private forget(sensor: PolicySensor): void {
    if (this.policies.get(sensor.name) !== sensor) return;
    this.policies.delete(sensor.name);
    /* records still in flight decode until the hook ids are dropped here */
    for (const h of sensor.hooks) {
      this.hooks.delete(h.id);
      this.limits.delete(h.id);
    }
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

/** What user space does with a selector's records besides decoding them. */
export interface PostRule {
  readonly noPost: boolean;
  readonly rateLimit?: RateLimit;
  readonly userActions: readonly UserAction[];
}

function postRule(actions: readonly PolicyAction[]): PostRule | undefined {
  const userActions = actions.flatMap((a): UserAction[] =>
    a.action === "GetUrl" ? [{ kind: "GetUrl", url: a.url }] : a.action === "DnsLookup" ? [{ kind: "DnsLookup", fqdn: a.fqdn }] : []);
  const noPost = actions.some((a) => a.action === "NoPost");
  let rateLimit: RateLimit | undefined;
  for (const a of actions) if (a.action === "Post" && a.rateLimit) rateLimit = a.rateLimit;
  return noPost || rateLimit || userActions.length > 0 ? { noPost, rateLimit, userActions } : undefined;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function processAlive(tgid: number): boolean {
  try {
    statSync(`/proc/${tgid}`);
    return true;
  } catch {
    return false;
  }
}

function describeHook(h: LoadedHook, policyName: string, kernel: KernelEnvironment): HookDescription {
  const hook = h.hook;
  const report = { policyName, message: hook.message, tags: hook.tags, labels: hook.args.map((a) => a.label) };
  if (hook.kind === "tracepoint") {
    return { kind: "tracepoint", functionName: "", subsystem: hook.subsystem, event: hook.event, ...report };
  }
  if (hook.kind === "uprobe") {
    const offset = hook.symbol === "" ? uprobeFileOffset(hook) : 0n;
    return { kind: "uprobe", functionName: hook.symbol, subsystem: "", event: "", path: hook.binary, offset, refCtrOffset: hook.refCtrOffset, ...report };
  }
  if (hook.kind === "lsm") return { kind: "lsm", functionName: hook.hook, subsystem: "", event: "", ...report };
  if (hook.kind === "usdt") return { kind: "usdt", functionName: hook.name, subsystem: hook.provider, event: "", path: hook.binary, ...report };
  return { kind: "kprobe", functionName: reportedFunctionName(hook, kernel), subsystem: "", event: "", ...report };
}

/** A file as is; a directory's *.yaml and *.yml in name order. */
export function expandPolicyPath(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(path, f));
}
