const CONTAINER_ID = /(?:^|[^0-9a-f])([0-9a-f]{64})(?![0-9a-f])/;

/** The container id in a cgroup path: the last component holding a 64-hex-digit
 * id (docker-<id>.scope, cri-containerd-<id>.scope, /docker/<id>), cut to its
 * first 31 characters as users expect; "" when there is none (host processes). */
export function dockerId(cgroupPath: string): string {
  for (const part of cgroupPath.split("/").reverse()) {
    const id = CONTAINER_ID.exec(part)?.[1];
    if (id !== undefined) return id.slice(0, 31);
  }
  return "";
}
