import type { VmCase } from "../case";
import { enforceCases } from "./enforce";
import { fentryCases, hookCases } from "./hooks";
import { langCases } from "./lang";
import { langArgCases } from "./lang-args";
import { processCases } from "./process";

/**
 * Every kernel-dependent case, in the order they run. Consecutive cases that
 * start the agent with the same flags share it, so keep such cases together.
 */
export const ALL_CASES: readonly VmCase[] = [...processCases, ...hookCases, ...langCases, ...langArgCases, ...enforceCases, ...fentryCases];
