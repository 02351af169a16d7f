const CONTAINER_ID = /(?:^|[^0-9a-f])([0-9a-f]{64})(?![0-9a-f])/;

/** The container id in a cgroup path: the last component holding a 64-hex-digit
 * id (docker-<id>.scope, cri-containerd-<id>.scope, /docker/<id>), cut to its
 * first 31 characters as users expect; "" when there is none (host processes). */
export function dockerId(cgroupPath: string): string {
  const parts = cgroupPath.split("/");
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = CONTAINER_ID.exec(parts[i]);
    if (m) return m[1].slice(0, 31);
  }
  return "";
}
