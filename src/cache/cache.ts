import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  GetEventsResponseSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessSchema,
  type GetEventsResponse,
  type Process,
} from "../../gen/tetragon/tetragon_pb";
import type { Clock } from "../bpf/clock";
import {
  OP_CLONE,
  OP_EXEC,
  OP_EXIT,
  ProcFlag,
  type CloneRecord,
  type ExecRecord,
  type ExitRecord,
  type NamespaceInums,
  type ProcessRecord,
} from "../decode/process";
import { dockerId } from "./docker";
import type { CachedProcess, ProcessFields } from "./entry";
import { execId } from "./exec-id";
import { flagWords } from "./flags";
import { readNamespaceInums } from "../kernel/namespaces";
import { SharedProcessParts } from "./shared-parts";
import { splitWaitStatus } from "./signals";
import { NS_PER_CLOCK_TICK, procStartKtime } from "./procfs";
import { processTemplate, processWithRefcnt } from "./process-message";
import { walkProcFs, type ExecveMapWriter, type ProcFsWalkResult } from "./procfs-walk";

export type CacheClock = Pick<Clock, "bootNsToTimestamp">;

export interface ProcessCacheOptions {
  nodeName: string;
  clock: CacheClock;
  /** fill ProcessExec.ancestors (sensor option) */
  ancestors?: boolean;
  /** pid 1's namespaces, for is_host (KernelEnvironment.hostNamespaces) */
  hostNamespaces: NamespaceInums;
  procRoot?: string;
}

export interface ProcessCacheStats {
  /** entries held: live processes plus exited ones still referenced */
  entries: number;
  live: number;
  execs: number;
  clones: number;
  exits: number;
  /** exits of processes the cache never saw */
  misses: number;
  /** execs and clones whose parent the cache did not know */
  parentMisses: number;
  procfs: number;
  reclaimed: number;
}

const MAX_ANCESTORS = 256;

/** Process cache: turns exec/clone/exit records into ProcessExec/ProcessExit
 * events with exec ids, parents and reference counts, and answers lookups for
 * other sensors' events. Not thread-safe; one instance per agent. */
export class ProcessCache {
  private readonly byExecId = new Map<string, CachedProcess>();
  private readonly byTgid = new Map<number, CachedProcess>();
  private readonly host: NamespaceInums;
  private readonly shared: SharedProcessParts;
  private readonly procRoot: string;
  private readonly counters = { execs: 0, clones: 0, exits: 0, misses: 0, parentMisses: 0, procfs: 0, reclaimed: 0 };

  constructor(private readonly options: ProcessCacheOptions) {
    this.procRoot = options.procRoot ?? "/proc";
    this.host = options.hostNamespaces;
    this.shared = new SharedProcessParts(this.host);
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  /** Dispatches any process record; exec and exit give an event. */
  handle(rec: ProcessRecord): GetEventsResponse | undefined {
    switch (rec.op) {
      case OP_EXEC:
        return this.onExec(rec);
      case OP_CLONE:
        this.onClone(rec);
        return undefined;
      case OP_EXIT:
        return this.onExit(rec);
    }
  }

  onExec(rec: ExecRecord): GetEventsResponse {
    this.counters.execs++;
    const parent = this.lineageParent(rec) ?? this.findParent(rec.parentTgid, rec.parentKtime);
    const entry = this.insert(
      {
        execId: this.id(rec.ktime, rec.tgid),
        tgid: rec.tgid,
        ktime: rec.ktime,
        startBoottime: rec.startBoottime,
        parentExecId: parent?.execId ?? this.parentId(rec.parentTgid, rec.parentKtime),
        uid: rec.uid,
        auid: rec.auid,
        cwd: rec.flags & ProcFlag.nocwd ? "" : rec.cwd,
        binary: rec.binary,
        arguments: rec.argv.slice(1).join(" "),
        flags: rec.flags,
        docker: dockerId(rec.cgroup),
        caps: rec.caps,
        ns: rec.ns,
      },
      parent,
    );
    const exec = create(ProcessExecSchema, {
      process: this.toProcess(entry),
      parent: parent ? this.toProcess(parent) : undefined,
      ancestors: this.options.ancestors ? this.ancestorsOf(parent) : [],
    });
    return this.response(rec.ktime, { case: "processExec", value: exec });
  }

  /** A fork: the child inherits its parent's binary, arguments and the rest. */
  onClone(rec: CloneRecord): void {
    this.counters.clones++;
    const parent = this.findParent(rec.parentTgid, rec.parentKtime);
    const from = parent ?? this.unknownParent(rec);
    this.insert(
      {
        ...from,
        execId: this.id(rec.ktime, rec.tgid),
        tgid: rec.tgid,
        ktime: rec.ktime,
        startBoottime: rec.ktime,
        parentExecId: parent?.execId ?? this.parentId(rec.parentTgid, rec.parentKtime),
        flags: ProcFlag.clone | (parent ? 0 : ProcFlag.miss),
      },
      parent,
    );
  }

  onExit(rec: ExitRecord): GetEventsResponse {
    this.counters.exits++;
    const entry = this.findExiting(rec);
    const { status, signal } = splitWaitStatus(rec.exitCode);
    const process = entry ? this.toProcess(entry) : this.missProcess(rec);
    const exit = create(ProcessExitSchema, {
      process,
      parent: entry?.parent ? this.toProcess(entry.parent) : undefined,
      signal,
      status,
    });
    if (entry) this.retire(entry);
    return this.response(rec.time, { case: "processExit", value: exit });
  }

  /** Learns the processes already running (flag procFS) and seeds execve_map
   * so their exits carry full information. Call once, after the hooks attach. */
  walkProcFs(execveMap?: ExecveMapWriter): ProcFsWalkResult {
    const result = walkProcFs(this.procRoot, execveMap, {
      known: (tgid) => this.byTgid.has(tgid),
      add: (fields, ppid) => this.insert(fields, this.byTgid.get(ppid)),
      parentKtime: (ppid) => this.byTgid.get(ppid)?.ktime,
      id: (ktime, tgid) => this.id(ktime, tgid),
    });
    this.counters.procfs += result.added;
    return result;
  }

  /** The live execution of a thread group, if known. */
  lookup(tgid: number): CachedProcess | undefined {
    return this.byTgid.get(tgid);
  }

  lookupExecId(id: string): CachedProcess | undefined {
    return this.byExecId.get(id);
  }

  /** Every entry held, live or exited but still referenced (read-only view). */
  entries(): IterableIterator<Readonly<CachedProcess>> {
    return this.byExecId.values();
  }

  /** Process and parent messages for another sensor's event on tgid. */
  describe(tgid: number, ktime?: bigint): { process: Process; parent: Process | undefined } | undefined {
    const e = (ktime !== undefined ? this.byIdentity(ktime, tgid) : undefined) ?? this.byTgid.get(tgid);
    if (!e) return undefined;
    return { process: this.toProcess(e), parent: e.parent ? this.toProcess(e.parent) : undefined };
  }

  /** Holds an entry while an event referencing it is in flight. */
  ref(entry: CachedProcess): void {
    entry.refcnt++;
  }

  /** Releases a hold taken with ref(); the entry may be reclaimed. */
  unref(entry: CachedProcess): void {
    this.release(entry);
  }

  /** Retires live entries whose process no longer exists (its exit was lost,
   * e.g. to a full ring buffer). Returns how many. */
  reconcile(): number {
    let gone = 0;
    for (const e of [...this.byTgid.values()]) {
      const start = procStartKtime(this.procRoot, e.tgid);
      if (start !== undefined && start === (e.startBoottime / NS_PER_CLOCK_TICK) * NS_PER_CLOCK_TICK) continue;
      gone++;
      this.retire(e);
    }
    return gone;
  }

  stats(): ProcessCacheStats {
    return { entries: this.byExecId.size, live: this.byTgid.size, ...this.counters };
  }

  /** The entry's Process as of now; its bytes are encoded once per entry. */
  toProcess(e: CachedProcess): Process {
    e.template ??= processTemplate(this.buildProcess(e));
    return processWithRefcnt(e.template, e.refcnt);
  }

  private buildProcess(e: CachedProcess): Process {
    return create(ProcessSchema, {
      execId: e.execId,
      pid: e.tgid,
      uid: e.uid,
      cwd: e.cwd,
      binary: e.binary,
      arguments: e.arguments,
      flags: flagWords(e.flags),
      startTime: this.timestamp(e.ktime),
      auid: e.auid,
      docker: e.docker,
      parentExecId: e.parentExecId,
      cap: this.shared.capabilities(e.caps),
      ns: this.shared.namespacesOf(e.ns),
    });
  }

  private id(ktime: bigint, tgid: number): string {
    return execId(this.options.nodeName, ktime, tgid);
  }

  private parentId(tgid: number, ktime: bigint): string {
    return ktime !== 0n ? this.id(ktime, tgid) : "";
  }

  private timestamp(ns: bigint): Timestamp {
    return create(TimestampSchema, this.options.clock.bootNsToTimestamp(ns));
  }

  private response(ktime: bigint, event: GetEventsResponse["event"]): GetEventsResponse {
    return create(GetEventsResponseSchema, { event, nodeName: this.options.nodeName, time: this.timestamp(ktime) });
  }

  /** The parent this thread group had when it was forked. After its parent
   * exits, the kernel re-parents it to a reaper; lineage (and pid_set) follows
   * the fork instead, as long as the cache still holds the same process. */
  private lineageParent(rec: ExecRecord): CachedProcess | undefined {
    const previous = this.byTgid.get(rec.tgid);
    if (!previous?.parent || previous.startBoottime / NS_PER_CLOCK_TICK !== rec.startBoottime / NS_PER_CLOCK_TICK) return undefined;
    return previous.parent;
  }

  /** By exec id; when the kernel had no ktime for the parent (or /proc's
   * coarser clock made it differ), the parent's live execution. */
  private findParent(tgid: number, ktime: bigint): CachedProcess | undefined {
    const p = (ktime !== 0n ? this.byIdentity(ktime, tgid) : undefined) ?? this.byTgid.get(tgid);
    if (!p) this.counters.parentMisses++;
    return p;
  }

  private findExiting(rec: ExitRecord): CachedProcess | undefined {
    const exact = this.byIdentity(rec.ktime, rec.tgid);
    if (exact) return exact;
    const live = this.byTgid.get(rec.tgid);
    if (live && live.startBoottime / NS_PER_CLOCK_TICK === rec.startBoottime / NS_PER_CLOCK_TICK) return live;
    this.counters.misses++;
    return undefined;
  }

  /** The execution (tgid, ktime): usually the live one, found without
   * building its exec_id (a base64 string per lookup is the exec path's
   * largest single cost); else an exited one still referenced. */
  private byIdentity(ktime: bigint, tgid: number): CachedProcess | undefined {
    const live = this.byTgid.get(tgid);
    if (live?.ktime === ktime) return live;
    return this.byExecId.get(this.id(ktime, tgid));
  }

  private insert(fields: ProcessFields, parent: CachedProcess | undefined): CachedProcess {
    // fields may be another entry (a clone copies its parent): never its template.
    const entry: CachedProcess = { ...fields, parent, refcnt: 1, alive: true, template: undefined };
    if (parent) parent.refcnt++;
    const previous = this.byTgid.get(entry.tgid);
    this.byExecId.set(entry.execId, entry);
    this.byTgid.set(entry.tgid, entry);
    // An exec replaces the clone (or earlier exec) of the same thread group.
    if (previous && previous !== entry) this.retire(previous);
    return entry;
  }

  /** The process is gone (exit, or replaced by an exec): drop its own reference. */
  private retire(e: CachedProcess): void {
    if (!e.alive) return;
    e.alive = false;
    if (this.byTgid.get(e.tgid) === e) this.byTgid.delete(e.tgid);
    this.release(e);
  }

  /** Drops one reference; at zero the entry goes and releases its parent
   * (iteratively: chains of exited ancestors can be long). */
  private release(start: CachedProcess): void {
    let e: CachedProcess | undefined = start;
    while (e && --e.refcnt <= 0) {
      if (this.byExecId.get(e.execId) === e) this.byExecId.delete(e.execId);
      if (this.byTgid.get(e.tgid) === e) this.byTgid.delete(e.tgid);
      this.counters.reclaimed++;
      const parent: CachedProcess | undefined = e.parent;
      e.parent = undefined;
      e = parent;
    }
  }

  private ancestorsOf(parent: CachedProcess | undefined): Process[] {
    const out: Process[] = [];
    for (let a = parent?.parent; a && out.length < MAX_ANCESTORS; a = a.parent) out.push(this.toProcess(a));
    return out;
  }

  private unknownParent(rec: CloneRecord): ProcessFields {
    return {
      execId: "",
      tgid: rec.parentTgid,
      ktime: rec.parentKtime,
      startBoottime: rec.parentKtime,
      parentExecId: "",
      uid: 0,
      auid: 4294967295,
      cwd: "",
      binary: "",
      arguments: "",
      flags: 0,
      docker: "",
      caps: { effective: 0n, permitted: 0n, inheritable: 0n },
      ns: readNamespaceInums(this.procRoot, rec.tgid),
    };
  }

  private missProcess(rec: ExitRecord): Process {
    return create(ProcessSchema, {
      execId: this.id(rec.ktime, rec.tgid),
      pid: rec.tgid,
      flags: flagWords((rec.flags & ~ProcFlag.execve) | ProcFlag.miss),
      startTime: this.timestamp(rec.ktime),
    });
  }
}
