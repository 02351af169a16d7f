import { EventType } from "../../gen/tetragon/tetragon_pb.ts";
import type { GetEventsResponse, Process } from "../../gen/tetragon/tetragon_pb.ts";

export type EventCase = NonNullable<GetEventsResponse["event"]["case"]>;

const TYPES: Readonly<Record<EventCase, EventType>> = {
  processExec: EventType.PROCESS_EXEC,
  processExit: EventType.PROCESS_EXIT,
  processKprobe: EventType.PROCESS_KPROBE,
  processTracepoint: EventType.PROCESS_TRACEPOINT,
  processUprobe: EventType.PROCESS_UPROBE,
  processLsm: EventType.PROCESS_LSM,
  processUsdt: EventType.PROCESS_USDT,
  processDns: EventType.PROCESS_DNS,
  test: EventType.TEST,
  rateLimitInfo: EventType.RATE_LIMIT_INFO,
};

/** The EventType of a response (UNDEF when it carries no event). */
export function eventTypeOf(ev: GetEventsResponse): EventType {
  return ev.event.case === undefined ? EventType.UNDEF : TYPES[ev.event.case];
}

/** The process an event is about; undefined for events without one (Test, RateLimitInfo). */
export function processOf(ev: GetEventsResponse): Process | undefined {
  const e = ev.event;
  return e.case === undefined || e.case === "test" || e.case === "rateLimitInfo" ? undefined : e.value.process;
}

/** The parent the event carries, when it carries one (ProcessDns does not). */
export function parentOf(ev: GetEventsResponse): Process | undefined {
  const e = ev.event;
  if (e.case === undefined || e.case === "test" || e.case === "rateLimitInfo" || e.case === "processDns") return undefined;
  return e.value.parent;
}
