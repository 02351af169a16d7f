export type ServerAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export const DEFAULT_SERVER_ADDRESS = "localhost:54321";

/** Parses `host:port`, `[v6]:port`, `:port` or `unix:/path`. Throws with a clear message. */
export function parseServerAddress(text: string): ServerAddress {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (!path.startsWith("/")) throw new Error(`invalid server address "${text}": unix socket path must be absolute`);
    return { kind: "unix", path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid server address "${text}": expected host:port or unix:/path`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid server address "${text}": port out of range`);
  return { kind: "tcp", host: m[1] ?? (m[2] || "localhost"), port };
}

export function formatServerAddress(a: ServerAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
