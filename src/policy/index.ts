export { parsePolicies, MAX_YAML_BYTES } from "./parse";
export { PolicyError, type PolicyErrorCode } from "./errors";
export { LIMITS } from "./limits";
export { PolicyManager, type PolicyManagerOptions, type PolicySummary, type SensorRegistry } from "./manager";
export { policyService, toConnectError } from "./service";
export { MECHANISMS, type Mechanism } from "./loader";
export type * from "./model";
export { createPolicyEngine, type PolicyEngine, type PolicyEngineParts } from "./engine";
