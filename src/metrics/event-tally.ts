import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import type { EventTallySnapshot } from "./sources";

const TYPE_NAMES: Readonly<Record<NonNullable<GetEventsResponse["event"]["case"]>, string>> = {
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

/** Counts published events by type and by (policy, hook). */
export class EventTally {
  private readonly byType = new Map<string, number>();
  private readonly byPolicyHook = new Map<string, number>();

  /** An event of this kind (GetEventsResponse's event case) was published. */
  observe(eventCase: GetEventsResponse["event"]["case"]): void {
    const type = eventCase === undefined ? "UNDEF" : TYPE_NAMES[eventCase];
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
  }

  /** Events don't carry their policy; the record handler reports it. */
  policy(name: string, hook: string): void {
    const key = `${name}\0${hook}`;
    this.byPolicyHook.set(key, (this.byPolicyHook.get(key) ?? 0) + 1);
  }

  snapshot(): EventTallySnapshot {
    return { byType: new Map(this.byType), byPolicyHook: new Map(this.byPolicyHook) };
  }
}
