import type { ServerAddress } from "../server/address";

/** The URL the gRPC client puts in :scheme/:authority; unix sockets dial their path instead. */
export function baseUrlOf(address: ServerAddress, tls = false): string {
  return address.kind === "tcp" ? `${tls ? "https" : "http"}://${address.host}:${address.port}` : "http://localhost";
}
