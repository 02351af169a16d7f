/** The mechanism plan of one hook: which mechanisms the running kernel offers
 * for it, best first (kprobe, then fentry, then for syscalls the syscall
 * tracepoints), each with its compiled configuration and what to attach.
 * Probes the kernel but loads nothing: load/hooks.ts executes the plan. */
import { compileHook, type ArgPlacement, type CompiledHook } from "./compile";
import { PolicyError } from "../model/errors";
import type { KernelEnvironment } from "../../kernel/environment";
import type { Hook, KprobeHook, LsmHook, TracepointHook, UprobeHook, UsdtHook } from "../model/model";
import { elfAddressToOffset } from "./elf";
import { existsSync, readFileSync } from "node:fs";
import { namespacesByType } from "../model/names";
import { syscallBaseName, syscallSymbols } from "../model/syscalls";
import { fieldPlacement, placeTracepointArg, syscallArgFields } from "./placement";

export const MECHANISMS = ["kprobe", "fentry", "fmod_ret", "tracepoint", "uprobe", "raw_tracepoint", "lsm", "usdt"] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export type HookObject = "generic_tp" | "generic_kprobe" | "generic_fentry" | "generic_usdt";

/** One program attachment, in the order the loader makes them. */
export type Attachment =
  | { readonly kind: "kprobe"; readonly program: string; readonly symbol: string; readonly retprobe: boolean }
  /* fentry, fexit, fmod_ret, lsm: the BTF target set before load */
  | { readonly kind: "trace"; readonly program: string }
  | { readonly kind: "tracepoint"; readonly program: string; readonly subsystem: string; readonly event: string }
  | { readonly kind: "raw_tracepoint"; readonly program: string; readonly event: string }
  | { readonly kind: "uprobe"; readonly program: string; readonly binary: string; readonly symbol: string; readonly offset: bigint; readonly refCtrOffset: bigint }
  | { readonly kind: "usdt"; readonly program: string; readonly binary: string; readonly provider: string; readonly name: string };

/** One way to load a hook: the object, its programs, their configuration. */
export interface MechanismPlan {
  readonly mechanism: Mechanism;
  readonly object: HookObject;
  /** where it attaches, e.g. "syscalls/sys_enter_openat" or "__x64_sys_openat" */
  readonly target: string;
  readonly programs: readonly string[];
  /** fentry, fmod_ret, lsm: programs get this attach target before load */
  readonly btfTarget?: string;
  readonly attachments: readonly Attachment[];
  readonly compiled: CompiledHook;
}

/** A hook ready to load: its mechanisms to try in order, the first that loads
 * and attaches wins; at least one. */
export interface HookPlan {
  readonly id: number;
  readonly hook: Hook;
  readonly candidates: readonly MechanismPlan[];
  /** why the other mechanisms were left out, for the error when none attaches */
  readonly refusals: readonly string[];
}

export interface PlanContext {
  readonly kernel: KernelEnvironment;
  /** kernel-function mechanisms the operator allows (all when absent); tracepoints always are */
  readonly allowed?: ReadonlySet<Mechanism>;
}

/** A mechanism the kernel offers for a hook, before compiling. */
interface Plan {
  readonly mechanism: Mechanism;
  readonly object: HookObject;
  readonly target: string;
  readonly programs: readonly string[];
  readonly btfTarget?: string;
  readonly syscallWrapper: boolean;
  readonly userPointers: boolean;
  place(index: number): ArgPlacement;
  readonly attachments: readonly Attachment[];
}

const slotPlacement = (index: number): ArgPlacement => ({ slot: index, off: 0, fsize: 0, flags: 0 });

/** Chooses and probes the mechanisms of a hook and compiles each; a
 * PolicyError when the hook is wrong for this kernel or none applies. */
export function planHook(hook: Hook, id: number, ctx: PlanContext): HookPlan {
  const { plans, refusals } =
    hook.kind === "tracepoint" ? tracepointPlans(hook, ctx.kernel)
      : hook.kind === "uprobe" ? uprobePlans(hook, ctx.kernel)
      : hook.kind === "lsm" ? lsmPlans(hook, ctx.kernel)
      : hook.kind === "usdt" ? usdtPlans(hook, ctx.kernel)
      : kprobePlans(hook, ctx.allowed, ctx.kernel);
  if (plans.length === 0) throw cannotAttach(hook, refusals);
  const candidates = plans.map((p) => compilePlan(p, hook, id, ctx.kernel));
  return { id, hook, candidates, refusals };
}

/** The error of a hook no mechanism attached: each refusal and failure. */
export function cannotAttach(hook: Hook, failures: readonly string[]): PolicyError {
  return new PolicyError("failed_precondition", [`${hook.path} (${hookName(hook)}): cannot attach: ${failures.join("; ")}`]);
}

function compilePlan(plan: Plan, hook: Hook, id: number, kernel: KernelEnvironment): MechanismPlan {
  const compiled = compileHook(hook, {
    hookId: id,
    syscallWrapper: plan.syscallWrapper,
    userPointers: plan.userPointers,
    hostUserNs: kernel.hostNamespaces.user,
    hostNamespaces: namespacesByType(kernel.hostNamespaces),
    place: (i) => plan.place(i),
  });
  const { mechanism, object, target, programs, btfTarget, attachments } = plan;
  return { mechanism, object, target, programs, ...(btfTarget === undefined ? {} : { btfTarget }), attachments, compiled };
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
    attachments: [{ kind: "usdt", program: "gen_usdt_enter", binary: hook.binary, provider: hook.provider, name: hook.name }],
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
    attachments: [{ kind: "trace", program: "gen_lsm_enter" }],
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
    attachments: [{ kind: "uprobe", program: "gen_kprobe_enter", binary: hook.binary, symbol: hook.symbol, ...at }],
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
    attachments: [{ kind: "raw_tracepoint", program: "gen_raw_tp_enter", event: hook.event }],
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
    attachments: [{ kind: "tracepoint", program: "gen_tp_enter", subsystem: hook.subsystem, event: hook.event }],
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
    attachments: [
      { kind: "kprobe", program: enter, symbol, retprobe: false },
      ...(exit ? [{ kind: "kprobe", program: "gen_kretprobe_exit", symbol, retprobe: true } as const] : []),
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
    attachments: programs.map((program) => ({ kind: "trace", program }) as const),
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
    attachments: [
      { kind: "tracepoint", program: "gen_tp_enter", subsystem: "syscalls", event: enter },
      ...(exit ? [{ kind: "tracepoint", program: "gen_tp_exit", subsystem: "syscalls", event: `sys_exit_${syscall}` } as const] : []),
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
