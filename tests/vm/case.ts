import type { Agent } from "./harness/agent";
import type { HelperRun, RunningProgram } from "./harness/helper";

/** What a case gets to work with; the runner cleans up after it. */
export interface VmContext {
  /** Path of /bin/vmtest-helper (tests/vm/progs/helper.c). */
  readonly helper: string;
  /** A scratch directory of this case's own. */
  readonly tmp: string;
  /** Starts `fgs agent` with extra flags; the runner stops it after the case. */
  startAgent(args?: readonly string[]): Promise<Agent>;
  /** Runs the helper with arguments, in `tmp`, and waits for it to exit. */
  runHelper(args: readonly string[]): Promise<HelperRun>;
  /** Starts the helper in `tmp` without waiting for it. */
  startHelper(args: readonly string[]): RunningProgram;
  /** A diagnostic line printed only if the case fails. */
  note(line: string): void;
}

export interface VmCase {
  /** Unique, lower-case, dash-separated: what `--test REGEX` matches. */
  readonly name: string;
  readonly timeoutMs?: number;
  run(ctx: VmContext): Promise<void>;
}

/** Thrown by cases for a failed expectation. */
export class Mismatch extends Error {}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new Mismatch(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
  }
}

export function expectTrue(condition: boolean, what: string): void {
  if (!condition) throw new Mismatch(what);
}
