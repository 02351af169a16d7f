/** `pid_set`: a pid and all its descendants, including ones forked after the
 * request started and ones whose parent has already exited. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { parentOf, processOf } from "./events.ts";
import { FILTER_LIMITS } from "./limits.ts";

export interface ProcessRef {
  readonly pid: number;
  readonly execId: string;
}

/** Parent lookup provided by the process cache (src/cache). */
export interface AncestryLookup {
  parentOf(execId: string): ProcessRef | undefined;
}

const MAX_DEPTH = 4096;

const REMEMBER = FILTER_LIMITS.pidSetTracked;

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

/** One matcher per filter per stream. observe() must see every published
 * event in order (even ones the stream does not get): it remembers
 * child→parent links, so a descendant still matches after the cache dropped
 * an exited ancestor, and the pids of live members, so a member that is
 * re-parented (its parent exited) and then execs still matches although its
 * exec names the reaper as parent. The cache lookup covers processes that
 * existed before the stream. */
export class PidSetMatcher {
  private readonly pids: ReadonlySet<number>;
  private readonly parents = new BoundedMap<string, ProcessRef>(REMEMBER);
  private readonly members = new BoundedMap<string, true>(REMEMBER);
  /** pid → exec_id of a live member with that pid, until its exit. */
  private readonly livePids = new BoundedMap<number, string>(REMEMBER);
  private readonly exited = new BoundedMap<string, true>(REMEMBER);
  private last: { ev: GetEventsResponse; member: boolean } | undefined;

  constructor(pids: readonly number[], private readonly ancestry?: AncestryLookup) {
    this.pids = new Set(pids);
  }

  /** Learns from the event and returns whether its process is in the set. */
  observe(ev: GetEventsResponse): boolean {
    this.learnParent(ev);
    const member = this.isMember(ev);
    const proc = processOf(ev);
    if (ev.event.case === "processExit" && proc !== undefined) {
      this.exited.set(proc.execId, true);
      if (proc.pid !== undefined && this.livePids.get(proc.pid) === proc.execId) this.livePids.delete(proc.pid);
    }
    this.last = { ev, member };
    return member;
  }

  /** Membership of the event last observed (observes it when it was not). */
  matches(ev: GetEventsResponse): boolean {
    return this.last?.ev === ev ? this.last.member : this.observe(ev);
  }

  private isMember(ev: GetEventsResponse): boolean {
    const proc = processOf(ev);
    if (proc === undefined) return false;
    if (proc.execId === "") return proc.pid !== undefined && this.pids.has(proc.pid);
    if (proc.pid !== undefined && this.livePids.has(proc.pid)) {
      this.remember([{ pid: proc.pid, execId: proc.execId }]);
      return true;
    }
    const path: ProcessRef[] = [];
    let cur: ProcessRef | undefined = { pid: proc.pid ?? -1, execId: proc.execId };
    for (let depth = 0; cur !== undefined && depth < MAX_DEPTH; depth++) {
      if (this.pids.has(cur.pid) || this.members.has(cur.execId)) {
        this.remember(path);
        return true;
      }
      path.push(cur);
      cur = this.parents.get(cur.execId) ?? this.ancestry?.parentOf(cur.execId);
    }
    return false;
  }

  private remember(path: readonly ProcessRef[]): void {
    for (const p of path) {
      this.members.set(p.execId, true);
      // A pid names a member only while it lives: an exited one may be reused.
      if (!this.exited.has(p.execId)) this.livePids.set(p.pid, p.execId);
    }
  }

  private learnParent(ev: GetEventsResponse): void {
    const proc = processOf(ev);
    const parent = parentOf(ev);
    if (proc === undefined || parent === undefined || parent.execId === "" || parent.pid === undefined) return;
    if (proc.parentExecId !== "" && proc.parentExecId !== parent.execId) return;
    this.parents.set(proc.execId, { pid: parent.pid, execId: parent.execId });
  }
}
