import type { SecureClientSessionOptions } from "node:http2";
import { connect as connectSocket } from "node:net";
import { connect as connectTls } from "node:tls";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../gen/tetragon/tetragon_pb";
import { baseUrlOf } from "./address";
import type { ClientSecurity, ClientTls } from "./client-security";
import { socketHost, type ServerAddress } from "../server/address";

export type AgentClient = Client<typeof FineGuidanceSensors>;

export interface AgentConnection {
  readonly client: AgentClient;
  /** Closes the HTTP/2 session so the process can exit. */
  close(): void;
}

/** A gRPC client of tetragon.FineGuidanceSensors at the address: h2c, or
 * HTTP/2 over TLS when asked, with a bearer token on every call when given. */
export function connectToAgent(address: ServerAddress, security: ClientSecurity = {}): AgentConnection {
  const baseUrl = baseUrlOf(address, security.tls !== undefined);
  const sessionManager = new Http2SessionManager(baseUrl, {}, sessionOptions(address, security.tls));
  const interceptors = security.token === undefined ? [] : [bearer(security.token)];
  // The gRPC transport always speaks HTTP/2: h2c for an http:// base URL, TLS with ALPN h2 for https://.
  const transport = createGrpcTransport({ baseUrl, sessionManager, interceptors });
  return {
    client: createClient(FineGuidanceSensors, transport),
    close: () => sessionManager.abort(),
  };
}

function sessionOptions(address: ServerAddress, tls: ClientTls | undefined): SecureClientSessionOptions | undefined {
  if (address.kind === "unix") return { createConnection: () => connectSocket(address.path) };
  if (!tls) return undefined;
  // Our own connection, so that --tls-server-name changes only SNI and
  // verification: given to http2.connect, it would also become :authority,
  // which the agent checks against its listen address.
  const options = { host: socketHost(address), port: address.port, ALPNProtocols: ["h2"], rejectUnauthorized: true };
  // Without ca, Node verifies against its bundled and the system's CAs.
  return { createConnection: () => connectTls({ ...options, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName }) };
}

function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
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

const UNKNOWN_CA = "its certificate is not signed by a CA given with --tls-ca-file (or known to the system)";

/** Why the agent's certificate was not accepted, by Node/BoringSSL verification code. */
const UNVERIFIED_REASONS: Readonly<Record<string, string>> = {
  SELF_SIGNED_CERT_IN_CHAIN: UNKNOWN_CA,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNKNOWN_CA,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNKNOWN_CA,
  CERT_UNTRUSTED: UNKNOWN_CA,
  CERT_SIGNATURE_FAILURE: UNKNOWN_CA,
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet (check both clocks)",
  CERT_REVOKED: "its certificate is revoked",
};

const NAME_MISMATCH = "ERR_TLS_CERT_ALTNAME_INVALID";

/** One line, without the "fgs: " prefix, describing a failed call. tls: what
 * the client asked for, to explain TLS failures (or their absence). */
export function describeCallFailure(error: unknown, address: ServerAddress, action: string, tls?: ClientTls): string {
  const tlsFailure = describeTlsFailure(error, address, tls);
  if (tlsFailure) return tlsFailure;
  const nodeCode = firstNodeErrorCode(error);
  const unreachable = nodeCode ? UNREACHABLE_REASONS[nodeCode] : undefined;
  if (unreachable) return `cannot reach the agent at ${address.text}: ${unreachable}`;
  const lost = nodeCode ? LOST_REASONS[nodeCode] : undefined;
  // A TLS listener answers an h2c preface by closing the connection: a reset
  // or a cancelled stream, whichever the client sees first.
  const tlsHint = !tls && address.kind === "tcp" ? "; if it serves TLS, add --tls-ca-file PATH (or --tls)" : "";
  if (lost) return `lost the connection to the agent at ${address.text}: ${lost}${tlsHint}`;
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Internal && connectError.rawMessage === "protocol error: missing status") {
    // What a gRPC client sees when the agent's connection drops mid-call.
    return `lost the connection to the agent at ${address.text}: the call ended without a status`;
  }
  if (tlsHint && connectError.code === Code.Canceled && /stream closed with error code CANCEL/.test(connectError.rawMessage)) {
    return `the agent at ${address.text} closed the connection without answering${tlsHint}`;
  }
  return `${action}: ${codeName(connectError.code)}: ${connectError.rawMessage}`;
}

/** The agent's certificate was refused, or the TLS handshake failed. */
function describeTlsFailure(error: unknown, address: ServerAddress, tls: ClientTls | undefined): string | undefined {
  for (const cause of errorsAlong(error)) {
    const code = codeOf(cause) ?? "";
    const reason = Object.hasOwn(UNVERIFIED_REASONS, code) ? UNVERIFIED_REASONS[code] : undefined;
    if (reason !== undefined) return `cannot verify the agent at ${address.text}: ${reason} (${code})`;
    if (code === NAME_MISMATCH) return `cannot verify the agent at ${address.text}: ${nameMismatch(cause, address, tls)}`;
    if (code === "ERR_SSL_WRONG_VERSION_NUMBER") return `cannot reach the agent at ${address.text} over TLS: it does not speak TLS there (leave out --tls and the --tls-* flags)`;
    if (code.startsWith("ERR_SSL_")) return `cannot reach the agent at ${address.text}: TLS handshake failed (${code}): ${cause.message.slice(0, 200)}`;
  }
  return undefined;
}

function nameMismatch(cause: Error, address: ServerAddress, tls: ClientTls | undefined): string {
  const name = tls?.serverName ?? (address.kind === "tcp" ? socketHost(address) : "");
  // Node's message ends with the names the certificate does carry.
  const names = /.*altnames: (.{1,300})$/.exec(cause.message)?.[1];
  const carried = names ? ` (it names ${names})` : "";
  return `its certificate does not name ${JSON.stringify(name)}${carried}; --tls-server-name NAME sets the name to verify (${NAME_MISMATCH})`;
}

/** The first system error code (ECONNREFUSED, ...) along the error's cause chain. */
function firstNodeErrorCode(error: unknown): string | undefined {
  return errorsAlong(error).map(codeOf).find((code) => code !== undefined && /^E[A-Z0-9_]+$/.test(code));
}

function errorsAlong(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error && !chain.includes(current); current = current.cause) chain.push(current);
  return chain;
}

function codeOf(error: Error): string | undefined {
  const code: unknown = "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Code.InvalidArgument → "invalid_argument", as gRPC and Connect spell it. */
function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}
