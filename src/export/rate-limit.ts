import { create } from "@bufbuild/protobuf";
import { timestampNow, type Timestamp } from "@bufbuild/protobuf/wkt";
import { GetEventsResponseSchema, RateLimitInfoSchema, type GetEventsResponse } from "../../gen/tetragon/tetragon_pb";

/** `--export-rate-limit N`: at most N events per minute, as a token bucket
 * (bursts up to N, refilled continuously). */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perMinute;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((t - this.last) * this.perMinute) / 60_000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** How often the limit reports what it dropped: its own interval, one minute,
 * as the upstream agent does. */
export const RATE_LIMIT_REPORT_MS = 60_000;

/** The export line that says how many events the limit dropped since its
 * previous report (GetEventsResponse.rate_limit_info = 40001). */
export function rateLimitInfoEvent(dropped: number, nodeName: string, time: Timestamp = timestampNow()): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    event: { case: "rateLimitInfo", value: create(RateLimitInfoSchema, { numberOfDroppedProcessEvents: BigInt(dropped) }) },
    nodeName,
    time,
  });
}
