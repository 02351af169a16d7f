import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { NAMESPACE_FIELDS, type NamespaceInums } from "../decode/process";

/** Namespace inode numbers of a process from /proc/PID/ns (0 where unreadable). */
export function readNamespaceInums(procRoot: string, pid: number | "self"): NamespaceInums {
  const ns = {} as NamespaceInums;
  for (const name of NAMESPACE_FIELDS) {
    ns[name] = 0;
    try {
      const m = /\[(\d+)\]$/.exec(readlinkSync(join(procRoot, String(pid), "ns", name)));
      if (m) ns[name] = Number(m[1]);
    } catch {
      // a namespace type this kernel lacks (time before 5.6), or the process is gone
    }
  }
  return ns;
}

/** pid 1's namespaces. Where pid 1's links cannot be read (a hardened init
 * denies even root), kthreadd's stand in: kernel threads keep the initial
 * namespaces, which are pid 1's on a host. */
export function readHostNamespaces(procRoot: string): NamespaceInums {
  const init = readNamespaceInums(procRoot, 1);
  const kthreadd = readNamespaceInums(procRoot, 2);
  for (const name of NAMESPACE_FIELDS) if (init[name] === 0) init[name] = kthreadd[name];
  return init;
}
