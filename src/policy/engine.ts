/** Everything the agent needs of tracing policies, built from its parts:
 * the manager, the API service, and the record handler for the pipeline. */
import type { GetEventsResponse, Process } from "../../gen/tetragon/tetragon_pb";
import type { ObjectImages } from "../bpf/objects";
import { genericEvent, OP_KPROBE, OP_TRACEPOINT } from "../decode/generic";
import type { Logger } from "../log/logger";
import type { Mechanism } from "./loader";
import { PolicyManager, type SensorRegistry } from "./manager";
import { policyService, type PolicyService } from "./service";
import { RateLimiter, recordKey } from "./ratelimit";

export interface PolicyEngineParts {
  readonly images: ObjectImages;
  /** ProcessSensor.sharedMapFds(): events, execve_map, lost_events, fgs_config */
  readonly sharedMaps: ReadonlyMap<string, number>;
  readonly sensors: SensorRegistry;
  readonly log: Logger;
  readonly nodeName: string;
  bootNsToTimestamp(ns: bigint): { seconds: bigint; nanos: number };
  /** ProcessCache.describe */
  describe(tgid: number): { process: Process; parent: Process | undefined } | undefined;
  readonly allowedMechanisms?: readonly Mechanism[];
}

export interface PolicyEngine {
  readonly manager: PolicyManager;
  readonly service: PolicyService;
  /** Record ops the handler decodes (pipeline.on(op, handle)). */
  readonly ops: readonly number[];
  handle(record: Uint8Array): GetEventsResponse | undefined;
  close(): Promise<void>;
}

export function createPolicyEngine(parts: PolicyEngineParts): PolicyEngine {
  const manager = new PolicyManager({
    images: parts.images,
    sharedMaps: parts.sharedMaps,
    sensors: parts.sensors,
    log: parts.log,
    allowedMechanisms: parts.allowedMechanisms,
  });
  const ctx = {
    nodeName: parts.nodeName,
    bootNsToTimestamp: parts.bootNsToTimestamp,
    hook: (id: number) => manager.hook(id),
    describe: parts.describe,
  };
  const limiter = new RateLimiter();
  const admitted = (record: Uint8Array): boolean => {
    const key = recordKey(record);
    const rule = key && manager.postRule(key.hookId, key.selector);
    if (!key || !rule) return true;
    return !rule.noPost && limiter.admit(key, rule.rateLimit, performance.now());
  };
  return {
    manager,
    service: policyService(manager),
    ops: [OP_KPROBE, OP_TRACEPOINT],
    handle: (record) => (admitted(record) ? genericEvent(record, ctx) : undefined),
    close: () => manager.close(),
  };
}
