/** Executes a hook plan: loads each planned mechanism's object in turn, writes
 * the compiled configuration, attaches; the first that attaches wins. */
import { BpfObject, type BpfLink } from "../../bpf/object";
import { objectImage, type ObjectImages } from "../../bpf/objects";
import { u32Key } from "../../bpf/map";
import type { KernelEnvironment } from "../../kernel/environment";
import type { Logger } from "../../log/logger";
import { PolicyError } from "../model/errors";
import type { Hook } from "../model/model";
import type { CompiledHook } from "../plan/compile";
import { trampolineRefusal } from "../plan/diagnose";
import { cannotAttach, type Attachment, type HookPlan, type Mechanism, type MechanismPlan } from "../plan/mechanism";
import type { PolicyPlan } from "../plan/policy";

export interface LoadEnv {
  readonly images: ObjectImages;
  /** map name → fd reused by every hook object (events, execve_map, gen_fd_names, ...) */
  readonly sharedMaps: ReadonlyMap<string, number>;
  readonly log: Logger;
  /** explains a trampoline the kernel refused */
  readonly kernel: KernelEnvironment;
}

/** A hook loaded in the kernel; attach/detach switch it on and off. */
export class LoadedHook {
  private links: BpfLink[] = [];

  constructor(
    readonly id: number,
    readonly hook: Hook,
    readonly mechanism: Mechanism,
    /** where it is attached, e.g. "syscalls/sys_enter_openat" or "__x64_sys_openat" */
    readonly target: string,
    private readonly object: BpfObject,
    private readonly attachments: readonly Attachment[],
  ) {}

  get attached(): boolean {
    return this.links.length > 0;
  }

  attach(): void {
    if (this.attached) return;
    try {
      for (const a of this.attachments) this.links.push(attachOne(this.object, a));
    } catch (e) {
      this.detach();
      throw e;
    }
  }

  detach(): void {
    for (const l of this.links.splice(0)) l.destroy();
  }

  close(): void {
    this.detach();
    this.object.close();
  }

  /** File descriptors of the hook's programs (tests find them in bpftool by id). */
  programFds(): number[] {
    return [...this.object.programs()].map((p) => p.fd).filter((fd) => fd >= 0);
  }
}

function attachOne(object: BpfObject, a: Attachment): BpfLink {
  const program = object.program(a.program);
  switch (a.kind) {
    case "kprobe": return program.attachKprobe(a.symbol, a.retprobe);
    case "trace": return program.attachTrace();
    case "tracepoint": return program.attachTracepoint(a.subsystem, a.event);
    case "raw_tracepoint": return program.attachRawTracepoint(a.event);
    case "uprobe": return program.attachUprobe(a.binary, a.symbol, false, { offset: a.offset, refCtrOffset: a.refCtrOffset });
    case "usdt": return program.attachUsdt(a.binary, a.provider, a.name);
  }
}

function writeConfig(object: BpfObject, compiled: CompiledHook): void {
  object.map("gen_cfg").update(u32Key(0), compiled.config);
  const one = new Uint8Array([1]);
  const fill = (map: string, keys: readonly Uint8Array[]) => {
    for (const k of keys) object.map(map).update(k, one);
  };
  fill("gen_str_eq", compiled.strEq);
  fill("gen_str_prefix", compiled.strPrefix);
  fill("gen_str_postfix", compiled.strPostfix);
  fill("gen_binaries", compiled.binaries);
}

async function openObject(plan: MechanismPlan, env: LoadEnv): Promise<BpfObject> {
  const object = BpfObject.open(plan.object, objectImage(env.images, plan.object), {
    reuseMaps: env.sharedMaps,
    programs: plan.programs,
  });
  try {
    if (plan.btfTarget) for (const p of plan.programs) object.program(p).setAttachTarget(plan.btfTarget);
    // The verifier runs off the event loop: streams keep flowing meanwhile.
    await object.loadAsync();
    return object;
  } catch (e) {
    object.close();
    throw e;
  }
}

async function build(plan: MechanismPlan, hook: HookPlan, env: LoadEnv): Promise<LoadedHook> {
  const object = await openObject(plan, env);
  try {
    writeConfig(object, plan.compiled);
    const loaded = new LoadedHook(hook.id, hook.hook, plan.mechanism, plan.target, object, plan.attachments);
    loaded.attach();
    return loaded;
  } catch (e) {
    object.close();
    throw e;
  }
}

function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0] ?? "";
}

/** Loads and attaches a hook by the first of its planned mechanisms that the
 * kernel takes, or throws a PolicyError naming the hook and why each failed.
 * Nothing stays loaded on failure. */
export async function loadHook(hook: HookPlan, env: LoadEnv): Promise<LoadedHook> {
  const failures = [...hook.refusals];
  for (const plan of hook.candidates) {
    try {
      const loaded = await build(plan, hook, env);
      env.log.info("policy hook attached", { hook: hook.hook.path, mechanism: plan.mechanism, target: plan.target });
      return loaded;
    } catch (e) {
      failures.push(`${plan.mechanism} ${plan.target}: ${explain(plan, reason(e), env.kernel)}`);
      /* the whole error: a verifier log ends with the instruction it refused */
      const full = e instanceof Error ? e.message : String(e);
      env.log.debug("policy hook mechanism failed", { hook: hook.hook.path, mechanism: plan.mechanism, error: full.slice(-4000) });
    }
  }
  throw cannotAttach(hook.hook, failures);
}

/** A trampoline's bare errno gets what the system shows about tracing. */
function explain(plan: MechanismPlan, why: string, kernel: KernelEnvironment): string {
  if (plan.object !== "generic_fentry") return why;
  return `${why}: ${trampolineRefusal(plan.target, why, kernel.tracefs)}`;
}

/** Loads every hook of a policy plan, or none: the errors of every hook that
 * cannot be planned or attached, in hook order, in one PolicyError. */
export async function loadPolicyHooks(plan: PolicyPlan, env: LoadEnv): Promise<LoadedHook[]> {
  const hooks: LoadedHook[] = [];
  const failures: PolicyError[] = [];
  for (const planned of plan.hooks) {
    if (!planned.ok) {
      failures.push(planned.error);
      continue;
    }
    try {
      hooks.push(await loadHook(planned.plan, env));
    } catch (e) {
      if (!(e instanceof PolicyError)) {
        for (const h of hooks) h.close();
        throw e;
      }
      failures.push(e);
    }
  }
  const first = failures[0];
  if (first === undefined) return hooks;
  for (const h of hooks) h.close();
  throw new PolicyError(first.code, failures.flatMap((f) => f.issues));
}
