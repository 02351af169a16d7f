/** Run counts and run time of this process's BPF programs, from the kernel's
 * bpf_prog_info (filled only while kernel.bpf_stats_enabled is on). */
import { readdirSync, readlinkSync } from "node:fs";
import { libbpf } from "../bpf/libbpf";
import type { BpfProgramStats } from "./sources";

// struct bpf_prog_info (include/uapi/linux/bpf.h): offsets are ABI.
const INFO = { id: 4, name: 64, nameLen: 16, runTimeNs: 192, runCnt: 200, bytes: 216 } as const;
const BPF_STATS_RUN_TIME = 0;

/** Every BPF program this process holds an fd for. */
export function readProgramStats(fdDir = "/proc/self/fd"): BpfProgramStats[] {
  const out: BpfProgramStats[] = [];
  const seen = new Set<number>();
  for (const entry of readdirSync(fdDir)) {
    const fd = Number(entry);
    if (!isProgramFd(`${fdDir}/${entry}`)) continue;
    const info = programInfo(fd);
    if (info && !seen.has(info.id)) {
      seen.add(info.id);
      out.push(info);
    }
  }
  return out;
}

function isProgramFd(path: string): boolean {
  try {
    return readlinkSync(path) === "anon_inode:bpf-prog";
  } catch {
    return false; // closed between readdir and readlink
  }
}

function programInfo(fd: number): BpfProgramStats | undefined {
  const buf = new Uint8Array(INFO.bytes);
  const len = new Uint32Array([INFO.bytes]);
  if (libbpf().bpf_obj_get_info_by_fd(fd, buf, len) < 0) return undefined;
  const v = new DataView(buf.buffer);
  const nameBytes = buf.subarray(INFO.name, INFO.name + INFO.nameLen);
  const end = nameBytes.indexOf(0);
  return {
    id: v.getUint32(INFO.id, true),
    name: new TextDecoder().decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)),
    runTimeNs: Number(v.getBigUint64(INFO.runTimeNs, true)),
    runCount: Number(v.getBigUint64(INFO.runCnt, true)),
  };
}

/** Turns kernel BPF run-time statistics on for as long as the returned fd is
 * open (BPF_ENABLE_STATS): closing it, or exiting, turns them off again. */
export function enableBpfStats(): number {
  const fd = libbpf().bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) throw new Error(`cannot enable BPF run-time statistics: errno ${-fd}`);
  return fd;
}
