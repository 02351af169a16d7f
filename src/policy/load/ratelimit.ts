/** Post's rateLimit, applied in user space as records arrive: one event per
 * interval for the same hook, selector, arguments and scope. The kernel still
 * sends every record (documented in src/policy/README.md). */
import { u32 } from "../../decode/bytes";
import { RECORD } from "../../decode/generic-layout";
import type { RateLimit } from "../model/model";

const MAX_KEYS = 65_536;

export interface RecordKey {
  readonly hookId: number;
  readonly selector: number;
  readonly tgid: number;
  readonly tid: number;
  /** the encoded arguments: equal bytes, equal arguments */
  readonly args: Uint8Array;
}

/** The record's hook and matched selector, read without allocating (every
 * record is asked; most have no post rule); null when it is too short. */
export function recordHook(record: Uint8Array): { hookId: number; selector: number } | null {
  if (record.length < RECORD.bytes) return null;
  HOOK.hookId = u32(record, RECORD.hookId);
  HOOK.selector = record[RECORD.selector]!;
  return HOOK;
}

/** recordHook's answer, reused: read it before the next call. */
const HOOK = { hookId: 0, selector: 0 };

export function recordKey(record: Uint8Array): RecordKey | null {
  if (record.length < RECORD.bytes) return null;
  return {
    hookId: u32(record, RECORD.hookId),
    selector: record[RECORD.selector]!,
    tgid: u32(record, RECORD.tgid),
    tid: u32(record, RECORD.tid),
    args: record.subarray(RECORD.bytes),
  };
}

export class RateLimiter {
  /** key → when its window ends (ms) */
  private readonly until = new Map<string, number>();

  /** Whether a record with this key may be posted now. */
  admit(key: RecordKey, limit: RateLimit, nowMs: number): boolean {
    const who = limit.scope === "thread" ? key.tid : limit.scope === "process" ? key.tgid : 0;
    const id = `${key.hookId}:${key.selector}:${who}:${Bun.hash(key.args).toString(36)}`;
    const end = this.until.get(id);
    if (end !== undefined && end > nowMs) return false;
    if (this.until.size >= MAX_KEYS) this.prune(nowMs);
    this.until.set(id, nowMs + limit.intervalMs);
    return true;
  }

  /** Drops windows that ended; when none has, the oldest half. */
  private prune(nowMs: number): void {
    for (const [k, end] of this.until) if (end <= nowMs) this.until.delete(k);
    if (this.until.size < MAX_KEYS) return;
    let n = this.until.size / 2;
    for (const k of this.until.keys()) {
      if (n-- <= 0) break;
      this.until.delete(k);
    }
  }
}
