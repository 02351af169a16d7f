// A real gRPC client stack (grpc-js + proto-loader on our .proto files), the
// way clients generated from the original schema talk to the agent.
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { join } from "node:path";
import { ROOT } from "./agent";

type AnyClient = grpc.Client & Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

/** ownConnection: a connection of its own, as a separate client process has
 * (grpc-js otherwise shares one per target, and a paused stream holds the
 * shared connection's HTTP/2 flow-control window). */
export function grpcJsClient(pkg: "tetragon" | "fgs", address: string, ownConnection = false): AnyClient {
  const file = pkg === "tetragon" ? "tetragon/tetragon.proto" : "fgs/fgs.proto";
  const def = loader.loadSync(join(ROOT, "proto", file), { includeDirs: [join(ROOT, "proto")], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const ns = grpc.loadPackageDefinition(def)[pkg] as grpc.GrpcObject;
  const Ctor = ns.FineGuidanceSensors as grpc.ServiceClientConstructor;
  const options = ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {};
  return new Ctor(address, grpc.credentials.createInsecure(), options) as unknown as AnyClient;
}

export function grpcUnary<T>(client: AnyClient, method: string, req: object): Promise<T> {
  const call = client[method];
  if (!call) return Promise.reject(new Error(`the client has no method ${method}`));
  return new Promise((resolve, reject) => call.call(client, req, (err, res) => (err ? reject(err) : resolve(res as T))));
}

export function grpcStream(client: AnyClient, method: string, req: object): grpc.ClientReadableStream<unknown> {
  const fn = client[method] as unknown as (r: object) => grpc.ClientReadableStream<unknown>;
  return fn.call(client, req);
}
