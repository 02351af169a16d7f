import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";

/** The EventType name of each GetEventsResponse event (metrics labels, the console). */
export const EVENT_TYPE_NAMES: Readonly<Record<NonNullable<GetEventsResponse["event"]["case"]>, string>> = {
  processExec: "PROCESS_EXEC",
  processExit: "PROCESS_EXIT",
  processKprobe: "PROCESS_KPROBE",
  processTracepoint: "PROCESS_TRACEPOINT",
  processUprobe: "PROCESS_UPROBE",
  processLsm: "PROCESS_LSM",
  processUsdt: "PROCESS_USDT",
  processDns: "PROCESS_DNS",
  test: "TEST",
  rateLimitInfo: "RATE_LIMIT_INFO",
};

/** UNDEF for an event with no case set. */
export function eventTypeNameOf(eventCase: GetEventsResponse["event"]["case"]): string {
  return eventCase === undefined ? "UNDEF" : EVENT_TYPE_NAMES[eventCase];
}
