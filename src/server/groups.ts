/** --api-group: a Unix group whose members may call the API. */
import { readFileSync } from "node:fs";

export interface ApiGroup {
  readonly name: string;
  readonly gid: number;
}

function entries(path: string): string[][] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
}

export function lookupGroup(name: string): ApiGroup {
  const e = entries("/etc/group").find((f) => f[0] === name);
  if (!e) throw new Error(`--api-group ${name}: no such group in /etc/group`);
  return { name, gid: Number(e[2]) };
}

/** Whether uid is in the group: as its primary group (passwd), a listed member
 * (group), or the gid the kernel reported for the peer (SO_PEERCRED). */
export function isGroupMember(group: ApiGroup, uid: number, peerGid?: number): boolean {
  if (peerGid === group.gid) return true;
  const user = entries("/etc/passwd").find((f) => Number(f[2]) === uid);
  if (!user) return false;
  if (Number(user[3]) === group.gid) return true;
  const g = entries("/etc/group").find((f) => Number(f[2]) === group.gid);
  return (g?.[3] ?? "").split(",").includes(user[0] ?? "");
}
