import type { GetEventsRequest, GetEventsResponse, HealthStatusResult } from "../../gen/tetragon/tetragon_pb";
import type { SensorManager } from "../sensors/manager";

/** Where GetEvents streams come from (the event bus). */
export interface EventSource {
  /** Throws ConnectError(invalid_argument) for bad filters before the stream starts. */
  subscribe(request: GetEventsRequest, signal: AbortSignal): AsyncIterable<GetEventsResponse>;
}

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
  events: EventSource;
  health(): HealthReport;
  policies?: PolicyService;
}
