/** A validated policy → its kernel plan: for each hook the mechanisms to try,
 * each compiled, and what its records decode to. Nothing is loaded here. */
import type { HookDescription } from "../../decode/generic";
import type { KernelEnvironment } from "../../kernel/environment";
import { PolicyError } from "../model/errors";
import type { Hook, Policy } from "../model/model";
import { planHook, reportedFunctionName, uprobeFileOffset, type HookPlan, type PlanContext } from "./mechanism";

/** A hook's plan, or why it cannot load on this kernel. */
export type PlannedHook =
  | { readonly ok: true; readonly plan: HookPlan; readonly description: HookDescription }
  | { readonly ok: false; readonly error: PolicyError };

export interface PolicyPlan {
  readonly policy: Policy;
  /** in the policy's hook order */
  readonly hooks: readonly PlannedHook[];
}

/** Plans every hook; `nextId` gives each hook its record id (ids of hooks that
 * fail are spent too). Errors other than PolicyError are thrown. */
export function planPolicy(policy: Policy, nextId: () => number, ctx: PlanContext): PolicyPlan {
  const hooks = policy.hooks.map((hook): PlannedHook => {
    const id = nextId();
    try {
      return { ok: true, plan: planHook(hook, id, ctx), description: describeHook(hook, policy.name, ctx.kernel) };
    } catch (e) {
      if (e instanceof PolicyError) return { ok: false, error: e };
      throw e;
    }
  });
  return { policy, hooks };
}

function describeHook(hook: Hook, policyName: string, kernel: KernelEnvironment): HookDescription {
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
