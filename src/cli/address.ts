/** Where the agent listens: `host:port` (h2c) or `unix:/path/to/socket`. */
export type ServerAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: "unix"; readonly path: string; readonly text: string };

export const DEFAULT_SERVER_ADDRESS = "localhost:54321";

// The host may be left out (":54321" is localhost), as the agent accepts it.
const HOST_AND_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]*):(\d{1,5})$/;

/** Returns the address, or a message saying what is wrong with the text. */
export function parseServerAddress(text: string): ServerAddress | string {
  if (text.startsWith("unix:")) return parseUnixAddress(text);
  const match = HOST_AND_PORT.exec(text);
  if (!match) return "expected host:port, [ipv6]:port or unix:/path/to/socket";
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return "port must be between 1 and 65535";
  return { kind: "tcp", host: match[1] || "localhost", port, text };
}

function parseUnixAddress(text: string): ServerAddress | string {
  // gRPC spells absolute paths unix:/path and unix:///path; both are accepted.
  const path = text.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
  if (path === "") return "unix: needs a socket path";
  return { kind: "unix", path, text };
}

/** The URL the gRPC client puts in :scheme/:authority; unix sockets dial their path instead. */
export function baseUrlOf(address: ServerAddress): string {
  return address.kind === "tcp" ? `http://${address.host}:${address.port}` : "http://localhost";
}
