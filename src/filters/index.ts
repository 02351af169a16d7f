/** Compiles GetEventsRequest allow/deny lists into one predicate.
 * Semantics (../shared/facts/compat.md, docs/filters.md): inside a Filter the
 * set fields are ANDed and the values of one field ORed; an event passes when
 * some allow filter matches (or there is none) and no deny filter matches. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { EventType, Filter, GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";
import { eventTypeOf, processOf } from "./events.ts";
import { PidSetMatcher } from "./pidset.ts";
import type { AncestryLookup } from "./pidset.ts";
import { Re2, Re2SyntaxError } from "./re2/index.ts";

export { eventTypeOf, parentOf, processOf } from "./events.ts";
export { PidSetMatcher } from "./pidset.ts";
export type { AncestryLookup, ProcessRef } from "./pidset.ts";
export { Re2, Re2SyntaxError } from "./re2/index.ts";

export type EventPredicate = (ev: GetEventsResponse) => boolean;

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
  const learners: PidSetMatcher[] = [];
  const allow = lists.allowList.map((f, k) => buildFilter(f, deps, `allow_list[${k}]`, learners));
  const deny = lists.denyList.map((f, k) => buildFilter(f, deps, `deny_list[${k}]`, learners));
  if (allow.length === 0 && deny.length === 0) return () => true;
  return (ev) => {
    for (const m of learners) m.observe(ev);
    return (allow.length === 0 || allow.some((p) => p(ev))) && !deny.some((p) => p(ev));
  };
}

/** One Filter: every set field must match. `where` prefixes error messages. */
export function compileFilter(filter: Filter, deps: FilterDeps = {}, where = "filter"): EventPredicate {
  const learners: PidSetMatcher[] = [];
  const predicate = buildFilter(filter, deps, where, learners);
  return (ev) => {
    for (const m of learners) m.observe(ev);
    return predicate(ev);
  };
}

/** pid_set matchers are returned in `learners`: they must see every event,
 * including ones an earlier field or filter already decided. */
function buildFilter(filter: Filter, deps: FilterDeps, where: string, learners: PidSetMatcher[]): EventPredicate {
  const checks: EventPredicate[] = [];
  if (filter.eventSet.length > 0) checks.push(eventSetCheck(filter.eventSet));
  if (filter.pid.length > 0) checks.push(pidCheck(filter.pid));
  if (filter.namespace.length > 0) checks.push(namespaceCheck(filter.namespace));
  if (filter.healthCheck !== undefined) checks.push(healthCheck(filter.healthCheck));
  if (filter.binaryRegex.length > 0) checks.push(binaryCheck(filter.binaryRegex, where));
  if (filter.pidSet.length > 0) {
    const m = new PidSetMatcher(filter.pidSet, deps.ancestry);
    learners.push(m);
    checks.push((ev) => m.matches(ev));
  }
  return (ev) => checks.every((c) => c(ev));
}

function binaryCheck(patterns: readonly string[], where: string): EventPredicate {
  const regexes = patterns.map((p) => compileRegex(p, where));
  return (ev) => {
    const binary = processOf(ev)?.binary;
    return binary !== undefined && regexes.some((re) => re.test(binary));
  };
}

function compileRegex(pattern: string, where: string): Re2 {
  try {
    return new Re2(pattern);
  } catch (e) {
    if (!(e instanceof Re2SyntaxError)) throw e;
    throw new ConnectError(`${where}: invalid binary_regex ${JSON.stringify(pattern)}: ${e.message}`, Code.InvalidArgument);
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
