/** Compiles GetEventsRequest allow/deny lists into one predicate.
 * Semantics (../shared/facts/compat.md, docs/filters.md): inside a Filter the
 * set fields are ANDed and the values of one field ORed; an event passes when
 * some allow filter matches (or there is none) and no deny filter matches. */
import { Code, ConnectError } from "@connectrpc/connect";
import { EventType, type Filter, type GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { FILTER_LIMITS } from "./limits.ts";
import { eventTypeOf, processOf } from "./events.ts";
import { PidSetMatcher } from "./pidset.ts";
import type { AncestryLookup } from "./pidset.ts";
import { Re2, Re2SyntaxError } from "./re2/index.ts";

export { eventTypeOf, parentOf, processOf } from "./events.ts";
export { PidSetMatcher } from "./pidset.ts";
export type { AncestryLookup, ProcessRef } from "./pidset.ts";
export { Re2, Re2SyntaxError } from "./re2/index.ts";
export { FILTER_LIMITS } from "./limits.ts";

export type EventPredicate = (ev: GetEventsResponse) => boolean;

/** The predicate of a request without filters: streams skip calling it (and
 * building an event's message just to pass it). */
export const MATCH_ALL: EventPredicate = () => true;

export interface FilterLists {
  readonly allowList: readonly Filter[];
  readonly denyList: readonly Filter[];
}

export interface FilterDeps {
  /** Parent lookup from the process cache, for `pid_set`. */
  readonly ancestry?: AncestryLookup;
}

/** Throws ConnectError(InvalidArgument) naming the offending pattern.
 * The predicate is stateful (pid_set learns from what it sees): build one
 * per stream and call it on every event in publish order. */
export function compileFilters(lists: FilterLists, deps: FilterDeps = {}): EventPredicate {
  checkRequestBounds(lists);
  const learners: PidSetMatcher[] = [];
  const budget: RegexBudget = { left: FILTER_LIMITS.regexProgramBudget };
  const allow = lists.allowList.map((f, k) => buildFilter(f, deps, `allow_list[${k}]`, learners, budget));
  const deny = lists.denyList.map((f, k) => buildFilter(f, deps, `deny_list[${k}]`, learners, budget));
  if (allow.length === 0 && deny.length === 0) return MATCH_ALL;
  return (ev) => {
    for (const m of learners) m.observe(ev);
    return (allow.length === 0 || allow.some((p) => p(ev))) && !deny.some((p) => p(ev));
  };
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Bounds over the whole request (FILTER_LIMITS): filters, pid_set filters and
 * the RE2 instruction budget that bounds the cost of one event. */
function checkRequestBounds(lists: FilterLists): void {
  const all = [...lists.allowList, ...lists.denyList];
  if (all.length > FILTER_LIMITS.filtersPerRequest) {
    throw invalid(`too many filters: ${all.length} in allow_list and deny_list, at most ${FILTER_LIMITS.filtersPerRequest} (filtersPerRequest)`);
  }
  const pidSets = all.filter((f) => f.pidSet.length > 0).length;
  if (pidSets > FILTER_LIMITS.pidSetFilters) {
    throw invalid(`too many pid_set filters: ${pidSets}, at most ${FILTER_LIMITS.pidSetFilters} (pidSetFilters)`);
  }
}

/** Per-filter bounds, checked before anything is compiled. */
function checkFilterBounds(filter: Filter, where: string): void {
  const bound = (n: number, limit: number, what: string, name: string) => {
    if (n > limit) throw invalid(`${where}: too many ${what}: ${n}, at most ${limit} (${name})`);
  };
  bound(filter.binaryRegex.length, FILTER_LIMITS.patternsPerFilter, "binary_regex patterns", "patternsPerFilter");
  bound(filter.pid.length, FILTER_LIMITS.pidsPerFilter, "pid values", "pidsPerFilter");
  bound(filter.pidSet.length, FILTER_LIMITS.pidsPerFilter, "pid_set values", "pidsPerFilter");
  bound(filter.eventSet.length, FILTER_LIMITS.valuesPerFilter, "event_set values", "valuesPerFilter");
  bound(filter.namespace.length, FILTER_LIMITS.valuesPerFilter, "namespace values", "valuesPerFilter");
  const unknown = filter.eventSet.find((t) => EventType[t] === undefined);
  if (unknown !== undefined) throw invalid(`${where}: unknown event_set value ${unknown}`);
}

/** pid_set matchers are returned in `learners`: they must see every event,
 * including ones an earlier field or filter already decided. */
function buildFilter(filter: Filter, deps: FilterDeps, where: string, learners: PidSetMatcher[], budget: RegexBudget = { left: FILTER_LIMITS.regexProgramBudget }): EventPredicate {
  checkFilterBounds(filter, where);
  const checks: EventPredicate[] = [];
  if (filter.eventSet.length > 0) checks.push(eventSetCheck(filter.eventSet));
  if (filter.pid.length > 0) checks.push(pidCheck(filter.pid));
  if (filter.namespace.length > 0) checks.push(namespaceCheck(filter.namespace));
  if (filter.healthCheck !== undefined) checks.push(healthCheck(filter.healthCheck));
  if (filter.binaryRegex.length > 0) checks.push(binaryCheck(filter.binaryRegex, where, budget));
  if (filter.pidSet.length > 0) {
    const m = new PidSetMatcher(filter.pidSet, deps.ancestry);
    learners.push(m);
    checks.push((ev) => m.matches(ev));
  }
  return (ev) => checks.every((c) => c(ev));
}

/** RE2 instructions still allowed in this request: matching costs at most
 * instructions × path length steps per event (the per-event match budget). */
interface RegexBudget {
  left: number;
}

function binaryCheck(patterns: readonly string[], where: string, budget: RegexBudget): EventPredicate {
  const regexes = patterns.map((p) => compileRegex(p, where));
  for (const re of regexes) {
    budget.left -= re.programSize;
    if (budget.left < 0) {
      throw invalid(`${where}: binary_regex patterns of this request need more than ${FILTER_LIMITS.regexProgramBudget} RE2 instructions together (regexProgramBudget: it bounds the matching cost per event)`);
    }
  }
  return (ev) => {
    const binary = processOf(ev)?.binary;
    return binary !== undefined && regexes.some((re) => re.test(binary));
  };
}

/** At most 200 characters of caller input are quoted back in an error. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function compileRegex(pattern: string, where: string): Re2 {
  try {
    return new Re2(pattern);
  } catch (e) {
    if (!(e instanceof Re2SyntaxError)) throw e;
    throw invalid(`${where}: invalid binary_regex ${quote(pattern)}: ${e.message}`);
  }
}

/** Host processes have no pod: they match the namespace "". */
function namespaceCheck(namespaces: readonly string[]): EventPredicate {
  const set = new Set(namespaces);
  return (ev) => {
    const proc = processOf(ev);
    return proc !== undefined && set.has(proc.pod?.namespace ?? "");
  };
}

function healthCheck(want: boolean): EventPredicate {
  return (ev) => {
    const proc = processOf(ev);
    return proc !== undefined && (proc.pod?.container?.maybeExecProbe ?? false) === want;
  };
}

function pidCheck(pids: readonly number[]): EventPredicate {
  const set = new Set(pids);
  return (ev) => {
    const pid = processOf(ev)?.pid;
    return pid !== undefined && set.has(pid);
  };
}

function eventSetCheck(types: readonly EventType[]): EventPredicate {
  const set = new Set(types);
  return (ev) => set.has(eventTypeOf(ev));
}
