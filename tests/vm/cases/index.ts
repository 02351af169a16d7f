import type { VmCase } from "../case";
import { enforceCases } from "./enforce";
import { hookCases } from "./hooks";
import { processCases } from "./process";

/** Every kernel-dependent case, in the order they run. */
export const ALL_CASES: readonly VmCase[] = [...processCases, ...hookCases, ...enforceCases];
