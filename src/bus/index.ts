export { DEFAULT_QUEUE_CAPACITY, EventBus } from "./bus.ts";
export type { BusStats, EventBusOptions, EventsRequest, SubscribeOptions } from "./bus.ts";
export type { StreamState, StreamStats } from "./subscription.ts";
export {
  aggregationKey,
  aggregationSettings,
  DEFAULT_MAX_BUCKETS,
  DEFAULT_WINDOW_MS,
  MAX_BUCKETS_LIMIT,
} from "./aggregate.ts";
export type { AggregationSettings } from "./aggregate.ts";
