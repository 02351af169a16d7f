/** Where the agent listens and the client dials: `host:port` (h2c) or `unix:/path/to/socket`. */
export type ServerAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: "unix"; readonly path: string; readonly text: string };

export const DEFAULT_SERVER_ADDRESS = "localhost:54321";

// The host may be left out (":54321" is localhost).
const HOST_AND_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]*):(\d{1,5})$/;

export interface ParseOptions {
  /** Port 0 asks the kernel for a free port: meaningful when listening, not when dialing. */
  readonly allowPortZero?: boolean;
}

/** Returns the address, or a message saying what is wrong with the text. */
export function parseServerAddress(text: string, options: ParseOptions = {}): ServerAddress | string {
  if (text.startsWith("unix:")) return parseUnixAddress(text);
  const match = HOST_AND_PORT.exec(text);
  if (!match) return "expected host:port, [ipv6]:port or unix:/path/to/socket";
  const port = Number(match[2]);
  const lowest = options.allowPortZero ? 0 : 1;
  if (port < lowest || port > 65535) return `port must be between ${lowest} and 65535`;
  return { kind: "tcp", host: match[1] || "localhost", port, text };
}

function parseUnixAddress(text: string): ServerAddress | string {
  // gRPC spells absolute paths unix:/path and unix:///path; both are accepted.
  const path = text.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
  if (!path.startsWith("/")) return "unix: needs an absolute socket path";
  return { kind: "unix", path, text };
}

/** The host as sockets take it: "[::1]" → "::1". */
export function socketHost(address: { readonly host: string }): string {
  return address.host.replace(/^\[(.*)\]$/, "$1");
}
