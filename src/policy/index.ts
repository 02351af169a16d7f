export { parsePolicies, MAX_YAML_BYTES } from "./parse";
export { PolicyError, type PolicyErrorCode } from "./errors";
export { LIMITS } from "./limits";
export type * from "./model";
