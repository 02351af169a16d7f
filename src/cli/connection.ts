import { connect as connectSocket } from "node:net";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../gen/tetragon/tetragon_pb";
import { baseUrlOf } from "./address";
import type { ServerAddress } from "../server/address";

export type AgentClient = Client<typeof FineGuidanceSensors>;

export interface AgentConnection {
  readonly client: AgentClient;
  /** Closes the HTTP/2 session so the process can exit. */
  close(): void;
}

/** A gRPC (h2c) client of tetragon.FineGuidanceSensors at the address. */
export function connectToAgent(address: ServerAddress): AgentConnection {
  const baseUrl = baseUrlOf(address);
  const sessionOptions =
    address.kind === "unix" ? { createConnection: () => connectSocket(address.path) } : undefined;
  const sessionManager = new Http2SessionManager(baseUrl, {}, sessionOptions);
  // The gRPC transport always speaks HTTP/2: h2c for an http:// base URL.
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return {
    client: createClient(FineGuidanceSensors, transport),
    close: () => sessionManager.abort(),
  };
}

/** Why the connection could not be made, by Node error code. */
const UNREACHABLE_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ENOENT: "no such socket",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTSOCK: "not a socket",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
};

const LOST_REASONS: Readonly<Record<string, string>> = {
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
};

/** One line, without the "fgs: " prefix, describing a failed call. */
export function describeCallFailure(error: unknown, address: ServerAddress, action: string): string {
  const nodeCode = firstNodeErrorCode(error);
  const unreachable = nodeCode ? UNREACHABLE_REASONS[nodeCode] : undefined;
  if (unreachable) return `cannot reach the agent at ${address.text}: ${unreachable}`;
  const lost = nodeCode ? LOST_REASONS[nodeCode] : undefined;
  if (lost) return `lost the connection to the agent at ${address.text}: ${lost}`;
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Internal && connectError.rawMessage === "protocol error: missing status") {
    // What a gRPC client sees when the agent's connection drops mid-call.
    return `lost the connection to the agent at ${address.text}: the call ended without a status`;
  }
  return `${action}: ${codeName(connectError.code)}: ${connectError.rawMessage}`;
}

/** The first system error code (ECONNREFUSED, ...) along the error's cause chain. */
function firstNodeErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    const code: unknown = "code" in current ? current.code : undefined;
    if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) return code;
  }
  return undefined;
}

/** Code.InvalidArgument → "invalid_argument", as gRPC and Connect spell it. */
function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}
