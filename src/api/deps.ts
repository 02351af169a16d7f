import type { HealthStatusResult } from "../../gen/tetragon/tetragon_pb";
import type { EventBus } from "../bus/bus";
import type { SensorManager } from "../sensors/manager";
import type { ProcessSource } from "../console/processes";
import type { ConsoleAssets } from "../console/assets";

export interface HealthReport {
  status: HealthStatusResult;
  /** the first status entry's details: "running" as the original's clients expect */
  details: string;
  /** sensors, streams, lost events...: a second status entry */
  diagnostics?: string;
}

/** Tracing-policy lifecycle (src/policy); absent until the policy engine is wired. */
export interface PolicyService {
  add(yaml: string): Promise<void>;
  /** Takes the same YAML given to add, or just the policy name. */
  delete(yamlOrName: string): Promise<void>;
}

export interface ApiDeps {
  version: string;
  sensors: SensorManager;
  /** Where GetEvents streams come from; subscribe throws ConnectError(invalid_argument) for bad filters. */
  events: EventBus;
  health(): HealthReport;
  policies?: PolicyService;
  /** the process cache, for fgs.console.v1.ProcessInspector */
  processes?: ProcessSource;
  /** the web console's files, served at GET / */
  console?: ConsoleAssets;
}
