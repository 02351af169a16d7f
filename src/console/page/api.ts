import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { FineGuidanceSensors } from "../../../gen/tetragon/tetragon_pb";
import { ProcessInspector } from "../../../gen/fgs/console/v1/console_pb";

export interface Api {
  readonly fgs: Client<typeof FineGuidanceSensors>;
  readonly inspector: Client<typeof ProcessInspector>;
}

/** Same-origin gRPC-web clients; the session cookie set by /login travels with every call. */
export function createApi(baseUrl: string): Api {
  // Explicit even though it is fetch's default: the console never sends its cookie elsewhere.
  const sameOrigin = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, credentials: "same-origin" });
  const transport = createGrpcWebTransport({ baseUrl, fetch: Object.assign(sameOrigin, { preconnect: fetch.preconnect }) });
  return { fgs: createClient(FineGuidanceSensors, transport), inspector: createClient(ProcessInspector, transport) };
}
