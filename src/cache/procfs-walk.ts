import { u32Key } from "../bpf/map";
import { encodeProcessState, ProcFlag, STATE } from "../decode/process";
import { dockerId } from "./docker";
import type { CachedProcess, ProcessFields } from "./entry";
import { AUID_UNSET, listPids, procStartKtime, readProc, type ProcSnapshot } from "./procfs";

/** What the walk needs of execve_map (a BpfMap fits). */
export interface ExecveMapWriter {
  /** BPF_NOEXIST insert; false when the key exists. */
  insertIfAbsent(key: Uint8Array, value: Uint8Array): boolean;
  lookup(key: Uint8Array): Uint8Array | undefined;
  delete(key: Uint8Array): boolean;
}

export interface ProcFsWalkResult {
  added: number;
  /** already known from kernel events (or execve_map) */
  skipped: number;
  /** exited while being read (their exit records follow) */
  vanished: number;
  seeded: number;
}

/** The cache's side of the walk. */
export interface WalkTarget {
  known(tgid: number): boolean;
  add(fields: ProcessFields, ppid: number): CachedProcess;
  parentKtime(ppid: number): bigint | undefined;
  id(ktime: bigint, tgid: number): string;
}


function flagsOf(s: ProcSnapshot): number {
  let f = ProcFlag.procFS;
  if (s.auid !== undefined) f |= ProcFlag.auid;
  if (s.cwd === undefined) f |= ProcFlag.nocwd;
  else if (s.cwd === "/") f |= ProcFlag.rootcwd;
  return f;
}

function fieldsOf(s: ProcSnapshot, t: WalkTarget, parentKtime: bigint | undefined): ProcessFields {
  return {
    execId: t.id(s.startKtime, s.tgid),
    tgid: s.tgid,
    ktime: s.startKtime,
    startBoottime: s.startKtime,
    parentExecId: parentKtime !== undefined ? t.id(parentKtime, s.ppid) : "",
    uid: s.uid,
    auid: s.auid ?? AUID_UNSET,
    cwd: s.cwd ?? "",
    binary: s.binary,
    arguments: s.argv.slice(1).join(" "),
    flags: flagsOf(s),
    docker: dockerId(s.cgroup),
    caps: s.caps,
    ns: s.ns,
  };
}

function seed(map: ExecveMapWriter, s: ProcSnapshot, f: ProcessFields, parentKtime: bigint | undefined): boolean {
  const value = encodeProcessState({
    ktime: f.ktime,
    parentKtime: parentKtime ?? 0n,
    parentTgid: s.ppid,
    flags: f.flags,
    uid: s.uid,
    euid: s.euid,
    auid: f.auid,
    binary: f.binary,
    caps: f.caps,
    ns: f.ns,
  });
  return map.insertIfAbsent(u32Key(s.tgid), value);
}

/** If the process exited before its entry was seeded, the kernel will never
 * delete that entry: remove it (only if it is still ours). The cache entry
 * stays: the exit record, still queued behind this walk, retires it. */
function unseedIfGone(procRoot: string, map: ExecveMapWriter, s: ProcSnapshot): boolean {
  if (procStartKtime(procRoot, s.tgid) === s.startKtime) return false;
  const key = u32Key(s.tgid);
  const v = map.lookup(key);
  if (v && new DataView(v.buffer, v.byteOffset).getBigUint64(STATE.ktime, true) === s.startKtime) map.delete(key);
  return true;
}

/** Parents first, so each entry can hold its parent; pids are not ordered by age. */
function parentsFirst(snaps: ProcSnapshot[]): ProcSnapshot[] {
  const byPid = new Map(snaps.map((s) => [s.tgid, s]));
  const out: ProcSnapshot[] = [];
  const placed = new Set<number>();
  const place = (s: ProcSnapshot) => {
    const chain: ProcSnapshot[] = [];
    for (let c: ProcSnapshot | undefined = s; c && !placed.has(c.tgid); c = byPid.get(c.ppid)) {
      placed.add(c.tgid);
      chain.push(c);
    }
    out.push(...chain.reverse());
  };
  snaps.forEach(place);
  return out;
}

export function walkProcFs(procRoot: string, map: ExecveMapWriter | undefined, t: WalkTarget): ProcFsWalkResult {
  const result: ProcFsWalkResult = { added: 0, skipped: 0, vanished: 0, seeded: 0 };
  const snaps = listPids(procRoot)
    .map((pid) => readProc(procRoot, pid))
    .filter((s): s is ProcSnapshot => s !== undefined);
  for (const s of parentsFirst(snaps)) {
    if (t.known(s.tgid)) {
      result.skipped++;
      continue;
    }
    const parentKtime = t.parentKtime(s.ppid);
    const fields = fieldsOf(s, t, parentKtime);
    // Already in execve_map: the kernel saw an exec or fork after attach and
    // its record is still on its way; that record will create the entry.
    if (map && !seed(map, s, fields, parentKtime)) {
      result.skipped++;
      continue;
    }
    t.add(fields, s.ppid);
    result.added++;
    if (!map) continue;
    result.seeded++;
    if (unseedIfGone(procRoot, map, s)) result.vanished++;
  }
  return result;
}
