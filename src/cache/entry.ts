import type { Caps, NamespaceInums } from "../decode/process";
import type { ProcessTemplate } from "./process-message";

/** One execution of a program (or a fork that has not exec'd), as the cache
 * keeps it. Entries are reference counted: the process itself while it lives,
 * each child entry pointing at it, and each in-flight event holding it. */
export interface CachedProcess {
  readonly execId: string;
  readonly tgid: number;
  /** identity ktime (exec time, or task start for clone and /proc entries) */
  readonly ktime: bigint;
  /** the task's start on the boot clock (equals ktime for clone and /proc entries) */
  readonly startBoottime: bigint;
  readonly parentExecId: string;
  /** held (refcounted) while this entry exists; undefined when unknown */
  parent: CachedProcess | undefined;
  uid: number;
  auid: number;
  cwd: string;
  binary: string;
  arguments: string;
  flags: number;
  docker: string;
  caps: Caps;
  ns: NamespaceInums;
  refcnt: number;
  /** false after its exit (or after an exec replaced this execution) */
  alive: boolean;
  /** its Process message and bytes, built on first use */
  template?: ProcessTemplate;
}

export type ProcessFields = Omit<CachedProcess, "refcnt" | "alive" | "parent" | "template">;
