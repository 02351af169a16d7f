/** Loads one hook of a policy into the kernel: picks the mechanism by trying
 * what the running kernel offers (kprobe, then fentry, then for syscalls the
 * syscall tracepoints), writes its configuration, attaches. */
import { BpfObject, type BpfLink } from "../../bpf/object";
import { objectImage, type ObjectImages } from "../../bpf/objects";
import { u32Key } from "../../bpf/map";
import type { Logger } from "../../log/logger";
import { compileHook, type ArgPlacement, type CompiledHook, type CompileTarget } from "../plan/compile";
import { PolicyError } from "../model/errors";
import type { KernelEnvironment } from "../../kernel/environment";
import type { Hook, KprobeHook, LsmHook, TracepointHook, UprobeHook, UsdtHook } from "../model/model";
import { elfAddressToOffset } from "./elf";
import { existsSync, readFileSync } from "node:fs";
import { namespacesByType } from "../model/names";
import { syscallBaseName, syscallSymbols } from "../model/syscalls";
import { fieldPlacement, placeTracepointArg, syscallArgFields } from "../plan/placement";
import { trampolineRefusal } from "../plan/diagnose";

export const MECHANISMS = ["kprobe", "fentry", "fmod_ret", "tracepoint", "uprobe", "raw_tracepoint", "lsm", "usdt"] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export interface HookEnv {
  readonly images: ObjectImages;
  /** map name → fd reused by every hook object (events, execve_map, gen_fd_names, ...) */
  readonly sharedMaps: ReadonlyMap<string, number>;
  readonly log: Logger;
  readonly kernel: KernelEnvironment;
  /** kernel-function mechanisms the operator allows (all when absent); tracepoints always are */
  readonly allowed?: ReadonlySet<Mechanism>;
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
    private readonly attachers: readonly (() => BpfLink)[],
  ) {}

  get attached(): boolean {
    return this.links.length > 0;
  }

  attach(): void {
    if (this.attached) return;
    try {
      for (const a of this.attachers) this.links.push(a());
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

interface Plan {
  readonly mechanism: Mechanism;
  readonly object: "generic_tp" | "generic_kprobe" | "generic_fentry" | "generic_usdt";
  readonly target: string;
  readonly programs: readonly string[];
  /** fentry: programs get this attach target before load */
  readonly btfTarget?: string;
  readonly syscallWrapper: boolean;
  readonly userPointers: boolean;
  place(index: number): ArgPlacement;
  attachers(object: BpfObject): (() => BpfLink)[];
}

const slotPlacement = (index: number): ArgPlacement => ({ slot: index, off: 0, fsize: 0, flags: 0 });

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

async function openObject(plan: Plan, env: HookEnv): Promise<BpfObject> {
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

async function build(plan: Plan, hook: Hook, id: number, env: HookEnv): Promise<LoadedHook> {
  const target: CompileTarget = {
    hookId: id,
    syscallWrapper: plan.syscallWrapper,
    userPointers: plan.userPointers,
    hostUserNs: env.kernel.hostNamespaces.user,
    hostNamespaces: namespacesByType(env.kernel.hostNamespaces),
    place: (i) => plan.place(i),
  };
  const compiled = compileHook(hook, target);
  const object = await openObject(plan, env);
  try {
    writeConfig(object, compiled);
    const loaded = new LoadedHook(id, hook, plan.mechanism, plan.target, object, plan.attachers(object));
    loaded.attach();
    return loaded;
  } catch (e) {
    object.close();
    throw e;
  }
}

function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0]!;
}

/** Loads and attaches a hook, or throws a PolicyError naming the hook and why
 * no mechanism could attach. Nothing stays loaded on failure. */
export async function loadHook(hook: Hook, id: number, env: HookEnv): Promise<LoadedHook> {
  const { plans, refusals } =
    hook.kind === "tracepoint" ? tracepointPlans(hook, env.kernel)
      : hook.kind === "uprobe" ? uprobePlans(hook, env.kernel)
      : hook.kind === "lsm" ? lsmPlans(hook, env.kernel)
      : hook.kind === "usdt" ? usdtPlans(hook, env.kernel)
      : kprobePlans(hook, env.allowed, env.kernel);
  const failures = [...refusals];
  for (const plan of plans) {
    try {
      const loaded = await build(plan, hook, id, env);
      env.log.info("policy hook attached", { hook: hook.path, mechanism: plan.mechanism, target: plan.target });
      return loaded;
    } catch (e) {
      if (e instanceof PolicyError) throw e;
      failures.push(`${plan.mechanism} ${plan.target}: ${explain(plan, reason(e), env.kernel)}`);
      /* the whole error: a verifier log ends with the instruction it refused */
      const full = e instanceof Error ? e.message : String(e);
      env.log.debug("policy hook mechanism failed", { hook: hook.path, mechanism: plan.mechanism, error: full.slice(-4000) });
    }
  }
  throw new PolicyError("failed_precondition", [`${hook.path} (${hookName(hook)}): cannot attach: ${failures.join("; ")}`]);
}

/** A trampoline's bare errno gets what the system shows about tracing. */
function explain(plan: Plan, why: string, kernel: KernelEnvironment): string {
  if (plan.object !== "generic_fentry") return why;
  return `${why}: ${trampolineRefusal(plan.target, why, kernel.tracefs)}`;
}

export function hookName(hook: Hook): string {
  if (hook.kind === "uprobe") return `${hook.binary}:${uprobeWhere(hook)}`;
  if (hook.kind === "lsm") return `lsm/${hook.hook}`;
  if (hook.kind === "usdt") return `${hook.binary}:${hook.provider}:${hook.name}`;
  return hook.kind === "tracepoint" ? `${hook.subsystem}/${hook.event}` : hook.call;
}

const ACTIVE_LSMS = "/sys/kernel/security/lsm";

/** Why BPF LSM programs cannot run here, or null when they can. */
function bpfLsmMissing(kernel: KernelEnvironment): string | null {
  if (!kernel.btf) return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
  let active: string;
  try {
    active = readFileSync(ACTIVE_LSMS, "utf8").trim();
  } catch {
    return `${ACTIVE_LSMS} cannot be read (securityfs not mounted, or no CONFIG_SECURITY)`;
  }
  if (!active.split(",").includes("bpf")) return `BPF LSM is not active (${ACTIVE_LSMS}: ${active}; boot with lsm=${active},bpf and CONFIG_BPF_LSM=y)`;
  return null;
}

/** spec.usdts: libbpf finds the probe in the ELF notes and attaches a uprobe
 * in every process (setting the probe's semaphore); arguments by position. */
function usdtPlans(hook: UsdtHook, kernel: KernelEnvironment): { plans: Plan[]; refusals: string[] } {
  if (!existsSync(hook.binary)) throw new PolicyError("invalid_argument", [`${hook.path}.path: ${hook.binary} does not exist`]);
  if (!kernel.uprobes) return { plans: [], refusals: ["usdt: the kernel has no uprobes (CONFIG_UPROBES; no uprobe PMU)"] };
  const plan: Plan = {
    mechanism: "usdt",
    object: "generic_usdt",
    target: `${hook.binary}:${hook.provider}:${hook.name}`,
    programs: ["gen_usdt_enter"],
    syscallWrapper: false,
    userPointers: true,
    place: slotPlacement,
    attachers: (o) => [() => o.program("gen_usdt_enter").attachUsdt(hook.binary, hook.provider, hook.name)],
  };
  return { plans: [plan], refusals: [] };
}

/** spec.lsmhooks: a BPF LSM program on the hook; arguments are the hook's. */
function lsmPlans(hook: LsmHook, kernel: KernelEnvironment): { plans: Plan[]; refusals: string[] } {
  const missing = bpfLsmMissing(kernel);
  if (missing) return { plans: [], refusals: [`lsm: ${missing}`] };
  const plan: Plan = {
    mechanism: "lsm",
    object: "generic_fentry",
    target: hook.hook,
    programs: ["gen_lsm_enter"],
    btfTarget: hook.hook,
    syscallWrapper: false,
    userPointers: false,
    place: slotPlacement,
    attachers: (o) => [() => o.program("gen_lsm_enter").attachTrace()],
  };
  return { plans: [plan], refusals: [] };
}

/** Where a uprobe goes in its file, as hookName and targets show it. */
function uprobeWhere(hook: UprobeHook): string {
  if (hook.symbol !== "") return hook.symbol;
  return hook.address !== null ? `address 0x${hook.address.toString(16)}` : `offset 0x${hook.offset.toString(16)}`;
}

/** The file offset a uprobe attaches at: 0 for a symbol (libbpf resolves
 * it), the offset given, or the address mapped through the ELF program
 * headers as upstream does for `addrs`. */
export function uprobeFileOffset(hook: UprobeHook): bigint {
  if (hook.address === null) return hook.offset;
  try {
    return elfAddressToOffset(hook.binary, hook.address);
  } catch (e) {
    throw new PolicyError("invalid_argument", [`${hook.path}.addrs: ${hook.binary}: ${e instanceof Error ? e.message : String(e)}`]);
  }
}

/** A uprobe runs the kprobe program on the user's registers; pointers are user memory. */
function uprobePlans(hook: UprobeHook, kernel: KernelEnvironment): { plans: Plan[]; refusals: string[] } {
  if (!existsSync(hook.binary)) {
    throw new PolicyError("invalid_argument", [`${hook.path}.path: ${hook.binary} does not exist`]);
  }
  if (!kernel.uprobes) return { plans: [], refusals: ["uprobe: the kernel has no uprobes (CONFIG_UPROBES; no uprobe PMU)"] };
  const at = { offset: uprobeFileOffset(hook), refCtrOffset: hook.refCtrOffset };
  const plan: Plan = {
    mechanism: "uprobe",
    object: "generic_kprobe",
    target: `${hook.binary}:${uprobeWhere(hook)}`,
    programs: ["gen_kprobe_enter"],
    syscallWrapper: false,
    userPointers: true,
    place: slotPlacement,
    attachers: (o) => [() => o.program("gen_kprobe_enter").attachUprobe(hook.binary, hook.symbol, false, at)],
  };
  return { plans: [plan], refusals: [] };
}

/** ProcessKprobe.function_name as the original reported it: for a syscall the
 * kernel's wrapper symbol ("__x64_sys_write", whichever spelling the policy
 * used and whichever mechanism attached), else the call as written. */
export function reportedFunctionName(hook: KprobeHook, kernel: KernelEnvironment): string {
  const base = syscallBaseName(hook.call, hook.syscall);
  if (base === null) return hook.call;
  const t = resolveKprobeTarget(hook, kernel);
  return t.syscall === null ? hook.call : syscallSymbols(t.syscall)[0]!.symbol;
}

/** raw: true: the raw tracepoint of that name; arguments by TP_PROTO position. */
function rawTracepointPlans(hook: TracepointHook): { plans: Plan[]; refusals: string[] } {
  const plan: Plan = {
    mechanism: "raw_tracepoint",
    object: "generic_tp",
    target: hook.event,
    programs: ["gen_raw_tp_enter"],
    syscallWrapper: false,
    userPointers: false,
    place: slotPlacement,
    attachers: (o) => [() => o.program("gen_raw_tp_enter").attachRawTracepoint(hook.event)],
  };
  return { plans: [plan], refusals: [] };
}

function tracepointPlans(hook: TracepointHook, kernel: KernelEnvironment): { plans: Plan[]; refusals: string[] } {
  if (hook.raw) return rawTracepointPlans(hook);
  const fields = kernel.tracepointFormat(hook.subsystem, hook.event);
  if (!fields) {
    throw new PolicyError("invalid_argument", [`${hook.path}: tracepoint ${hook.subsystem}/${hook.event} does not exist (no events/${hook.subsystem}/${hook.event} in tracefs)`]);
  }
  hook.args.forEach((a, i) => placeTracepointArg(a, fields, `${hook.path}.args[${i}]`));
  const plan: Plan = {
    mechanism: "tracepoint",
    object: "generic_tp",
    target: `${hook.subsystem}/${hook.event}`,
    programs: ["gen_tp_enter"],
    syscallWrapper: false,
    userPointers: hook.subsystem === "syscalls",
    /* declared args were checked above; a size argument may name any field */
    place: (index) => (fields[index] ? fieldPlacement(fields[index]!, index) : slotPlacement(index)),
    attachers: (o) => [() => o.program("gen_tp_enter").attachTracepoint(hook.subsystem, hook.event)],
  };
  return { plans: [plan], refusals: [] };
}

interface KprobeTarget {
  readonly syscall: string | null;
  readonly symbol: string | null;
  readonly wrapper: boolean;
}

function resolveKprobeTarget(hook: KprobeHook, kernel: KernelEnvironment): KprobeTarget {
  const base = syscallBaseName(hook.call, hook.syscall);
  const isSyscall = base !== null && (hook.syscall || syscallSymbols(base).some((s) => kernel.symbolExists(s.symbol)) || kernel.tracepointExists("syscalls", `sys_enter_${base}`));
  if (!isSyscall || base === null) {
    return { syscall: null, symbol: kernel.symbolExists(hook.call) ? hook.call : null, wrapper: false };
  }
  const sym = syscallSymbols(base).find((s) => kernel.symbolExists(s.symbol));
  return { syscall: base, symbol: sym?.symbol ?? null, wrapper: sym?.wrapper ?? false };
}

function kprobePlans(hook: KprobeHook, allowed: ReadonlySet<Mechanism> | undefined, kernel: KernelEnvironment): { plans: Plan[]; refusals: string[] } {
  const t = resolveKprobeTarget(hook, kernel);
  const override = hook.selectors.some((s) => s.matchActions.some((a) => a.action === "Override"));
  const exit = hook.return || hook.args.some((a) => a.returnCopy);
  const plans: Plan[] = [];
  const refusals: string[] = [];
  /* null: the mechanism does not apply to this hook (not worth a refusal line) */
  const candidates: Array<[Mechanism, () => Plan | string | null]> = [
    ["kprobe", () => kprobePlan(hook, t, override, exit, kernel)],
    ["fentry", () => fentryPlan(t, override, exit, kernel)],
    ["fmod_ret", () => fmodRetPlan(hook, t, override, exit, kernel)],
    ["tracepoint", () => syscallTracepointPlan(hook, t, override, exit, kernel)],
  ];
  for (const [mechanism, plan] of candidates) {
    const p = plan();
    if (p === null) continue;
    if (allowed && !allowed.has(mechanism)) refusals.push(`${mechanism}: not among the allowed hook mechanisms`);
    else if (typeof p === "string") refusals.push(p);
    else plans.push(p);
  }
  if (override && plans.length === 0) {
    throw new PolicyError("failed_precondition", [`${overridePath(hook)}: Override on ${hook.call} is not possible: ${refusals.join("; ")}`]);
  }
  return { plans, refusals };
}

function overridePath(hook: KprobeHook): string {
  const si = hook.selectors.findIndex((s) => s.matchActions.some((a) => a.action === "Override"));
  const ai = hook.selectors[si]!.matchActions.findIndex((a) => a.action === "Override");
  return `${hook.path}.selectors[${si}].matchActions[${ai}]`;
}

function kprobePlan(hook: KprobeHook, t: KprobeTarget, override: boolean, exit: boolean, kernel: KernelEnvironment): Plan | string {
  const missing = kernel.kprobesMissing;
  if (missing) return `kprobe: ${missing}`;
  if (!t.symbol) return `kprobe: no kernel function ${hook.call} in /proc/kallsyms`;
  if (override) {
    const ok = kernel.errorInjectable(t.symbol);
    if (ok === null) return "kprobe: no error injection list (CONFIG_FUNCTION_ERROR_INJECTION unset, or debugfs not mounted at /sys/kernel/debug), needed by Override";
    if (!ok) return `kprobe: ${t.symbol} does not allow error injection (not in /sys/kernel/debug/error_injection/list), needed by Override`;
  }
  const symbol = t.symbol;
  const enter = override ? "gen_kprobe_override" : "gen_kprobe_enter";
  return {
    mechanism: "kprobe",
    object: "generic_kprobe",
    target: symbol,
    programs: exit ? [enter, "gen_kretprobe_exit"] : [enter],
    syscallWrapper: t.wrapper,
    userPointers: t.syscall !== null,
    place: slotPlacement,
    attachers: (o) => [
      () => o.program(enter).attachKprobe(symbol, false),
      ...(exit ? [() => o.program("gen_kretprobe_exit").attachKprobe(symbol, true)] : []),
    ],
  };
}

function fentryPlan(t: KprobeTarget, override: boolean, exit: boolean, kernel: KernelEnvironment): Plan | string {
  if (override) return "fentry: cannot override a return value";
  if (!kernel.btf) return "fentry: the kernel has no BTF (/sys/kernel/btf/vmlinux)";
  if (!t.symbol) return "fentry: no such kernel function";
  return trampolinePlan("fentry", "gen_fentry_enter", t.symbol, t, exit);
}

/** Override on a trampoline: security_* hooks and error-injectable functions only. */
function fmodRetPlan(hook: KprobeHook, t: KprobeTarget, override: boolean, exit: boolean, kernel: KernelEnvironment): Plan | string | null {
  if (!override) return null;
  if (!kernel.btf) return "fmod_ret: the kernel has no BTF (/sys/kernel/btf/vmlinux)";
  if (!t.symbol) return `fmod_ret: no kernel function ${hook.call}`;
  if (!t.symbol.startsWith("security_") && kernel.errorInjectable(t.symbol) !== true) {
    return `fmod_ret: ${t.symbol} is neither a security_ hook nor error-injectable`;
  }
  if (hook.selectors.some((s) => s.matchActions.some((a) => a.action === "Override" && a.argError === 0))) {
    return "fmod_ret: cannot make a call return 0 (fmod_ret treats 0 as \"run the function\"; argError 0 needs a kprobe)";
  }
  return trampolinePlan("fmod_ret", "gen_fmodret_enter", t.symbol, t, exit);
}

function trampolinePlan(mechanism: Mechanism, enter: string, symbol: string, t: KprobeTarget, exit: boolean): Plan {
  const programs = exit ? [enter, "gen_fexit_exit"] : [enter];
  return {
    mechanism,
    object: "generic_fentry",
    target: symbol,
    programs,
    btfTarget: symbol,
    syscallWrapper: t.wrapper,
    userPointers: t.syscall !== null,
    place: slotPlacement,
    attachers: (o) => programs.map((p) => () => o.program(p).attachTrace()),
  };
}

function syscallTracepointPlan(hook: KprobeHook, t: KprobeTarget, override: boolean, exit: boolean, kernel: KernelEnvironment): Plan | string {
  if (t.syscall === null) return "syscall tracepoints: not a syscall";
  if (override) return "syscall tracepoints: cannot override a return value";
  const enter = `sys_enter_${t.syscall}`;
  const fields = kernel.tracepointFormat("syscalls", enter);
  if (!fields) return `syscall tracepoints: no syscalls/${enter} in tracefs`;
  const args = syscallArgFields(fields);
  checkSyscallArgs(hook, t.syscall, args.length);
  const syscall = t.syscall;
  return {
    mechanism: "tracepoint",
    object: "generic_tp",
    target: exit ? `syscalls/${enter}+sys_exit_${syscall}` : `syscalls/${enter}`,
    programs: exit ? ["gen_tp_enter", "gen_tp_exit"] : ["gen_tp_enter"],
    syscallWrapper: false,
    userPointers: true,
    place: (index) => args[index] ?? slotPlacement(index),
    attachers: (o) => [
      () => o.program("gen_tp_enter").attachTracepoint("syscalls", enter),
      ...(exit ? [() => o.program("gen_tp_exit").attachTracepoint("syscalls", `sys_exit_${syscall}`)] : []),
    ],
  };
}

function checkSyscallArgs(hook: KprobeHook, syscall: string, count: number): void {
  const bad = (n: number) => n >= count;
  const takes = `${syscall} takes ${count} argument${count === 1 ? "" : "s"}`;
  hook.args.forEach((a, i) => {
    if (bad(a.index)) {
      throw new PolicyError("invalid_argument", [`${hook.path}.args[${i}].index: ${takes} (index 0 to ${count - 1})`]);
    }
    if (a.sizeArgIndex > 0 && bad(a.sizeArgIndex - 1)) {
      throw new PolicyError("invalid_argument", [`${hook.path}.args[${i}].sizeArgIndex: ${takes} (sizeArgIndex 1 to ${count})`]);
    }
  });
}
