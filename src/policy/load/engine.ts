/** Everything the agent needs of tracing policies, built from its parts:
 * the manager, the API service, and the record handler for the pipeline. */
import type { GetEventsResponse, Process } from "../../../gen/tetragon/tetragon_pb";
import type { WallTime } from "../../bpf/clock";
import type { ObjectImages } from "../../bpf/objects";
import type { AgentEvent } from "../../bus/event";
import { genericAgentEvent, genericEvent, OP_KPROBE, OP_TRACEPOINT } from "../../decode/generic";
import type { KernelEnvironment } from "../../kernel/environment";
import type { Logger } from "../../log/logger";
import type { Mechanism } from "../plan/mechanism";
import { PolicyManager, type SensorRegistry } from "./manager";
import { policyService, type PolicyService } from "./service";
import { RateLimiter, recordHook, recordKey } from "./ratelimit";
import { UserActions, type UserAction } from "./user-actions";
import { KprobeAction } from "../../../gen/tetragon/tetragon_pb";

/** A Post-only record of a selector with GetUrl/DnsLookup reports that action. */
function withUserAction(ev: GetEventsResponse | undefined, actions: readonly UserAction[]): GetEventsResponse | undefined {
  const first = actions[0];
  if (!ev || !first || ev.event.case !== "processKprobe" || ev.event.value.action !== KprobeAction.POST) return ev;
  ev.event.value.action = first.kind === "GetUrl" ? KprobeAction.GETURL : KprobeAction.DNSLOOKUP;
  return ev;
}

export interface PolicyEngineParts {
  readonly images: ObjectImages;
  /** ProcessSensor.sharedMapFds(): events, execve_map, lost_events, fgs_config */
  readonly sharedMaps: ReadonlyMap<string, number>;
  readonly sensors: SensorRegistry;
  readonly log: Logger;
  readonly kernel: KernelEnvironment;
  readonly nodeName: string;
  bootNsToWallTime(ns: bigint): WallTime;
  /** ProcessCache.describe */
  describe(tgid: number): { process: Process; parent: Process | undefined } | undefined;
  readonly allowedMechanisms?: readonly Mechanism[];
}

export interface PolicyEngine {
  readonly manager: PolicyManager;
  readonly service: PolicyService;
  /** Record ops the handler decodes (pipeline.on(op, handle)). */
  readonly ops: readonly number[];
  handle(record: Uint8Array): AgentEvent | GetEventsResponse | undefined;
  close(): Promise<void>;
}

export function createPolicyEngine(parts: PolicyEngineParts): PolicyEngine {
  const manager = new PolicyManager({
    images: parts.images,
    sharedMaps: parts.sharedMaps,
    sensors: parts.sensors,
    log: parts.log,
    kernel: parts.kernel,
    allowedMechanisms: parts.allowedMechanisms,
  });
  const ctx = {
    nodeName: parts.nodeName,
    bootNsToWallTime: parts.bootNsToWallTime,
    hook: (id: number) => manager.hook(id),
    describe: parts.describe,
  };
  const limiter = new RateLimiter();
  const userActions = new UserActions(parts.log);
  /* NoPost, rateLimit, GetUrl and DnsLookup happen here, before decoding */
  const handle = (record: Uint8Array): AgentEvent | GetEventsResponse | undefined => {
    const hook = recordHook(record);
    const rule = hook && manager.postRule(hook.hookId, hook.selector);
    const key = rule && recordKey(record);
    if (!key || !rule) return genericAgentEvent(record, ctx);
    const policy = manager.hook(key.hookId)?.policyName ?? "";
    userActions.run(`${key.hookId}:${key.selector}`, policy, rule.userActions);
    if (rule.noPost || (rule.rateLimit && !limiter.admit(key, rule.rateLimit, performance.now()))) return undefined;
    return withUserAction(genericEvent(record, ctx), rule.userActions);
  };
  return {
    manager,
    service: policyService(manager),
    ops: [OP_KPROBE, OP_TRACEPOINT],
    handle,
    close: () => manager.close(),
  };
}
