/** `pid_set`: a pid and all its descendants, including ones forked after the
 * request started and ones whose parent has already exited. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { parentOf, processOf } from "./events.ts";

export interface ProcessRef {
  readonly pid: number;
  readonly execId: string;
}

/** Parent lookup provided by the process cache (src/cache). */
export interface AncestryLookup {
  parentOf(execId: string): ProcessRef | undefined;
}

const MAX_DEPTH = 4096;
const REMEMBER = 65_536;

/** A Map that forgets its oldest entries beyond `limit` (insertion order). */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.limit) {
      const oldest = this.keys().next();
      if (oldest.done !== true) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/** One matcher per filter per stream: it sees every published event in
 * order through learn() (even ones the stream does not get), remembering child→parent links
 * from them, so a descendant still matches after the cache dropped an exited
 * ancestor. The cache lookup covers processes that existed before the stream. */
export class PidSetMatcher {
  private readonly pids: ReadonlySet<number>;
  private readonly parents = new BoundedMap<string, ProcessRef>(REMEMBER);
  private readonly members = new BoundedMap<string, true>(REMEMBER);

  constructor(pids: readonly number[], private readonly ancestry?: AncestryLookup) {
    this.pids = new Set(pids);
  }

  matches(ev: GetEventsResponse): boolean {
    const proc = processOf(ev);
    if (proc === undefined || proc.execId === "") return proc?.pid !== undefined && this.pids.has(proc.pid);
    const path: string[] = [];
    let cur: ProcessRef | undefined = { pid: proc.pid ?? -1, execId: proc.execId };
    for (let depth = 0; cur !== undefined && depth < MAX_DEPTH; depth++) {
      if (this.pids.has(cur.pid) || this.members.has(cur.execId)) {
        for (const id of path) this.members.set(id, true);
        return true;
      }
      path.push(cur.execId);
      cur = this.parents.get(cur.execId) ?? this.ancestry?.parentOf(cur.execId);
    }
    return false;
  }

  /** Remember the child→parent link an event carries. Call for every event. */
  learn(ev: GetEventsResponse): void {
    const proc = processOf(ev);
    const parent = parentOf(ev);
    if (proc === undefined || parent === undefined || parent.execId === "" || parent.pid === undefined) return;
    if (proc.parentExecId !== "" && proc.parentExecId !== parent.execId) return;
    this.parents.set(proc.execId, { pid: parent.pid, execId: parent.execId });
  }
}
