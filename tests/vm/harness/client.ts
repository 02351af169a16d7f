import { connect as connectSocket } from "node:net";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../../gen/tetragon/tetragon_pb";

export type AgentClient = Client<typeof FineGuidanceSensors>;

export interface ClientConnection {
  readonly client: AgentClient;
  close(): void;
}

/** A real gRPC (h2c) client of tetragon.FineGuidanceSensors on a unix socket. */
export function connectUnix(socketPath: string): ClientConnection {
  const baseUrl = "http://localhost";
  const sessions = new Http2SessionManager(baseUrl, {}, {
    createConnection: () => connectSocket(socketPath),
  });
  const transport = createGrpcTransport({ baseUrl, sessionManager: sessions });
  return { client: createClient(FineGuidanceSensors, transport), close: () => sessions.abort() };
}
