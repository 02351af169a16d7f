import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import type { EventTallySnapshot } from "./sources";
import { eventTypeNameOf } from "../common/event-types";

/** Counts published events by type and by (policy, hook). */
export class EventTally {
  private readonly byType = new Map<string, number>();
  private readonly byHookId = new Map<number, { key: string; n: number }>();

  /** An event of this kind (GetEventsResponse's event case) was published. */
  observe(eventCase: GetEventsResponse["event"]["case"]): void {
    const type = eventTypeNameOf(eventCase);
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
  }

  /** Events don't carry their policy: the record handler reports a record of
   * hook id (ids are never reused): counted by number, so a
   * storm of records allocates nothing; named once, at the hook's first record. */
  hookRecord(id: number, name: (id: number) => { policy: string; hook: string } | undefined): void {
    const seen = this.byHookId.get(id);
    if (seen) {
      seen.n++;
      return;
    }
    const n = name(id);
    if (n) this.byHookId.set(id, { key: policyHookKey(n.policy, n.hook), n: 1 });
  }

  snapshot(): EventTallySnapshot {
    const byPolicyHook = new Map<string, number>();
    for (const { key, n } of this.byHookId.values()) byPolicyHook.set(key, (byPolicyHook.get(key) ?? 0) + n);
    return { byType: new Map(this.byType), byPolicyHook };
  }
}

function policyHookKey(policy: string, hook: string): string {
  return `${policy}\0${hook}`;
}
