/** Cost bounds of the API server. Every limit is named in the error that
 * enforces it (README "Threat model" and docs/filters.md list them). */
export const SERVER_LIMITS = {
  /** bytes of a request body, any method but AddTracingPolicy */
  requestBodyBytes: 1024 * 1024,
  /** bytes of an AddTracingPolicy body (a 1 MiB YAML policy, JSON-escaped) */
  policyRequestBodyBytes: 3 * 1024 * 1024,
  /** open connections, every peer together */
  connections: 256,
  /** open connections of one local uid (or one remote address) */
  connectionsPerCaller: 64,
  /** GetEvents streams, every caller together */
  streams: 256,
  /** GetEvents streams of one caller (root's tools are one caller) */
  streamsPerCaller: 128,
  /** ms from accepting a connection until its first request's headers are complete */
  headerTimeoutMs: 10_000,
  /** ms a connection may stay open with no request in flight */
  idleTimeoutMs: 120_000,
  /** ms a unary request may take to send its body */
  bodyTimeoutMs: 30_000,
  /** browser sessions kept (oldest forgotten first) */
  sessions: 64,
} as const;

export type ServerLimits = { -readonly [K in keyof typeof SERVER_LIMITS]: number };

export function serverLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  return { ...SERVER_LIMITS, ...overrides };
}
