/** Who is on the other end of a connection, learned from the kernel:
 * SO_PEERCRED on unix sockets, the socket tables (/proc/net/tcp, tcp6) for
 * loopback TCP. Anything else is a remote peer with no local uid. */
import { readFileSync } from "node:fs";
import type * as net from "node:net";
import { dlopen, FFIType, ptr } from "bun:ffi";

export type PeerIdentity =
  | { readonly kind: "local"; readonly uid: number; readonly gid?: number; readonly pid?: number; readonly via: "SO_PEERCRED" | "proc-net-tcp" }
  | { readonly kind: "remote"; readonly address: string }
  | { readonly kind: "unknown"; readonly reason: string };

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type Libc = { getsockopt(fd: number, level: number, name: number, value: ReturnType<typeof ptr>, len: ReturnType<typeof ptr>): number };
let libc: Libc | undefined;

function openLibc(): Libc {
  libc ??= dlopen("libc.so.6", {
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  }).symbols as unknown as Libc;
  return libc;
}

/** The file descriptor under a net.Socket. Node and Bun keep it on the
 * internal handle; when a runtime hides it, identity is unknown (denied). */
function socketFd(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** SO_PEERCRED: the credentials the peer had when it connected. */
export function unixPeerCredentials(socket: net.Socket): PeerIdentity {
  const fd = socketFd(socket);
  if (fd === undefined) return { kind: "unknown", reason: "socket descriptor not available" };
  const cred = new Int32Array(3);
  const len = new Uint32Array([12]);
  const rc = openLibc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ptr(cred), ptr(len));
  if (rc !== 0 || len[0] !== 12) return { kind: "unknown", reason: "SO_PEERCRED failed" };
  const [pid, uid, gid] = cred as unknown as [number, number, number];
  return { kind: "local", uid: uid >>> 0, gid: gid >>> 0, pid, via: "SO_PEERCRED" };
}

/** "127.0.0.1", "::1", "::ffff:127.0.0.1" → canonical lower-case form without the v4-mapped prefix. */
export function canonicalAddress(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, "");
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice("::ffff:".length) : a;
}

export function isLoopbackAddress(address: string): boolean {
  const a = canonicalAddress(address);
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** /proc/net/tcp writes each 32-bit word of the address in host (little-endian) order. */
function decodeProcAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16)));
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return canonicalIpv6(groups);
}

function canonicalIpv6(groups: string[]): string {
  const text = groups.join(":");
  // Longest run of zero groups becomes "::" (enough for loopback and v4-mapped matching).
  const m = [...text.matchAll(/(?:^|:)(0(?::0)+)(?::|$)/g)].sort((x, y) => y[1]!.length - x[1]!.length)[0];
  if (!m) return text;
  const start = m.index! + (m[0].startsWith(":") ? 1 : 0);
  return `${text.slice(0, start)}::${text.slice(start + m[1]!.length).replace(/^:/, "")}`.replace(/^:::/, "::");
}

interface Endpoint {
  readonly address: string;
  readonly port: number;
}

function parseEndpoint(field: string): Endpoint | undefined {
  const [addr, port] = field.split(":");
  if (!addr || !port) return undefined;
  return { address: decodeProcAddress(addr), port: parseInt(port, 16) };
}

const same = (a: Endpoint, b: Endpoint) => a.port === b.port && canonicalAddress(a.address) === canonicalAddress(b.address);

/** The uid owning the socket whose local end is `peer` and remote end is `us`. */
export function tcpPeerUid(peer: Endpoint, us: Endpoint, tables: readonly string[] = ["/proc/net/tcp", "/proc/net/tcp6"]): number | undefined {
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const local = parseEndpoint(f[1]!);
      const remote = parseEndpoint(f[2]!);
      if (local && remote && same(local, peer) && same(remote, us)) return Number(f[7]);
    }
  }
  return undefined;
}

/** Resolves once per connection (the caller caches it on the socket). */
export function resolvePeer(socket: net.Socket, listen: "unix" | "tcp"): PeerIdentity {
  if (listen === "unix") return unixPeerCredentials(socket);
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return { kind: "unknown", reason: "no peer address" };
  if (!isLoopbackAddress(remoteAddress)) return { kind: "remote", address: remoteAddress };
  // The peer's socket is in the table of its own family; a v4-mapped peer may be in either.
  const tables = remoteAddress.includes(".") ? ["/proc/net/tcp", "/proc/net/tcp6"] : ["/proc/net/tcp6"];
  const uid = tcpPeerUid({ address: remoteAddress, port: remotePort }, { address: localAddress, port: localPort }, tables);
  return uid === undefined ? { kind: "unknown", reason: "peer port not found in /proc/net/tcp" } : { kind: "local", uid, via: "proc-net-tcp" };
}

/** Proves at start that this runtime lets us read SO_PEERCRED from an
 * accepted socket: a throwaway socket pair must report our own pid and uid. */
export async function verifyPeerCredentials(dir: string): Promise<void> {
  const { createServer, connect } = await import("node:net");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const tmp = mkdtempSync(join(dir, ".fgs-peercred-"));
  const path = join(tmp, "s");
  try {
    const seen = await new Promise<PeerIdentity>((resolve, reject) => {
      const server = createServer((s) => {
        resolve(unixPeerCredentials(s));
        s.destroy();
        server.close();
      });
      server.on("error", reject);
      server.listen(path, () => connect(path).on("error", reject));
    });
    const uid = process.geteuid?.() ?? 0;
    if (seen.kind !== "local" || seen.pid !== process.pid || seen.uid !== uid) {
      throw new Error(`cannot learn a unix peer's uid in this runtime (SO_PEERCRED self-test saw ${JSON.stringify(seen)}); refusing to serve`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
