/** The agent's PolicyService (src/api/deps.ts) over a PolicyManager: policy
 * errors become Connect errors with the matching code. */
import { Code, ConnectError } from "@connectrpc/connect";
import { PolicyError, type PolicyErrorCode } from "../model/errors";
import type { PolicyManager } from "./manager";
import type { PolicyService } from "../../api/deps";

const CODES: Readonly<Record<PolicyErrorCode, Code>> = {
  invalid_argument: Code.InvalidArgument,
  already_exists: Code.AlreadyExists,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
};

export function toConnectError(e: unknown): unknown {
  return e instanceof PolicyError ? new ConnectError(e.message, CODES[e.code]) : e;
}

export type { PolicyService };

export function policyService(manager: PolicyManager): PolicyService {
  return {
    async add(yaml) {
      try {
        await manager.add(yaml);
      } catch (e) {
        throw toConnectError(e);
      }
    },
    async delete(yamlOrName) {
      try {
        await manager.delete(yamlOrName);
      } catch (e) {
        throw toConnectError(e);
      }
    },
  };
}
