// A real gRPC client of the agent: grpc-js over HTTP/2, the GetEvents method
// and request encoding from proto/tetragon/tetragon.proto via proto-loader,
// reading every response message; responses are decoded by lib/wire.ts.
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monoNs } from "./clock";
import { summarize, type EventSummary } from "./wire";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROTO = join(ROOT, "proto", "tetragon", "tetragon.proto");

export interface Received {
  ev: EventSummary;
  recvNs: bigint;
}

type Method = loader.MethodDefinition<object, object>;

function isService(d: loader.AnyDefinition | undefined): d is loader.ServiceDefinition {
  return d !== undefined && !("format" in d);
}

function getEventsMethod(): Method {
  const def = loader.loadSync(PROTO, { includeDirs: [join(ROOT, "proto")], keepCase: true });
  const svc = def["tetragon.FineGuidanceSensors"];
  const m = isService(svc) ? svc.GetEvents : undefined;
  if (!m) throw new Error(`no tetragon.FineGuidanceSensors/GetEvents in ${PROTO}`);
  return m;
}

function waitForReady(client: grpc.Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
  });
}

/** One GetEvents stream; onEvent sees every message with its receipt time. */
export class EventClient {
  received = 0;
  bytes = 0;
  ended: string | null = null;
  private readonly call: grpc.ClientReadableStream<Received>;

  private constructor(private readonly client: grpc.Client, method: Method, onEvent: (r: Received) => void) {
    const deserialize = (buf: Buffer): Received => ({ ev: summarize(buf), recvNs: monoNs() });
    this.call = client.makeServerStreamRequest<object, Received>(
      method.path,
      (req) => method.requestSerialize(req),
      deserialize,
      {},
    );
    this.call.on("data", (r: Received) => {
      this.received++;
      this.bytes += r.ev.bytes;
      onEvent(r);
    });
    this.call.on("error", (e: Error) => (this.ended = this.ended ?? e.message));
    this.call.on("end", () => (this.ended = this.ended ?? "stream ended"));
  }

  /** Connects to address (host:port) and opens the stream. */
  static async open(address: string, onEvent: (r: Received) => void, timeoutMs = 10_000): Promise<EventClient> {
    const method = getEventsMethod();
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 << 20,
    });
    await waitForReady(client, timeoutMs);
    return new EventClient(client, method, onEvent);
  }

  close(): void {
    this.ended = this.ended ?? "closed";
    this.call.cancel();
    this.client.close();
  }
}
