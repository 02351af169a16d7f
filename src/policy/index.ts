export { parsePolicies, MAX_YAML_BYTES } from "./spec/parse";
export { PolicyError, type PolicyErrorCode } from "./model/errors";
export { LIMITS } from "./spec/limits";
export { PolicyManager, type PolicyManagerOptions, type PolicySummary, type SensorRegistry } from "./load/manager";
export { policyService, toConnectError } from "./load/service";
export { MECHANISMS, type Mechanism } from "./load/loader";
export type * from "./model/model";
export { createPolicyEngine, type PolicyEngine, type PolicyEngineParts } from "./load/engine";
