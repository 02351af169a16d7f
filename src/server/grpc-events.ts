/** GetEvents over gRPC (HTTP/2, application/grpc), the firehose path: each
 * event's bytes are encoded once on the bus and written here as gRPC frames,
 * many per HTTP/2 write. Every other protocol and method goes to connect-node.
 * A stream is never ended for being slow: its queue drops and counts. */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GetEventsRequestSchema, type GetEventsRequest } from "../../gen/tetragon/tetragon_pb";
import type { EventBus } from "../bus/bus";
import type { Edition } from "../bus/event";
import type { Subscription } from "../bus/subscription";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
export type Handler = (req: Request, res: Response) => void;

const PATHS: ReadonlyMap<string, Edition> = new Map([
  ["/tetragon.FineGuidanceSensors/GetEvents", "tetragon"],
  ["/fgs.FineGuidanceSensors/GetEvents", "fgs"],
]);

/** A GetEventsRequest is a few filters: anything larger is refused unread. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Events per HTTP/2 write, and bytes buffered on one stream before waiting
 * for the client: writes continue past the stream's small high-water mark,
 * so one flush moves everything queued (a flush per drain would move one
 * batch per event-loop turn while the reader adds thousands). */
const BATCH_EVENTS = 1024;
const MAX_BUFFERED_BYTES = 4 << 20;
const MAX_MESSAGE_QUOTE = 200;

export interface GrpcEventsOptions {
  /** Ends every stream when the agent shuts down (set by the agent). */
  readonly shutdown?: AbortSignal;
}

function isGrpcProto(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === "application/grpc+proto";
}

/** Serves gRPC GetEvents from the bus; passes everything else to next. */
export function withGrpcEvents(bus: EventBus, next: Handler, options: GrpcEventsOptions = {}): Handler {
  return (req, res) => {
    const edition = req.url === undefined ? undefined : PATHS.get(req.url);
    if (edition === undefined || req.httpVersionMajor !== 2 || !isGrpcProto(req.headers["content-type"])) return next(req, res);
    const h2res = res as http2.Http2ServerResponse;
    void serveGetEvents(bus, req as http2.Http2ServerRequest, h2res, edition, options).catch((e: unknown) => fail(h2res, asConnectError(e)));
  };
}

function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError(e instanceof Error ? e.message : String(e), Code.Internal);
}

/** grpc-message: percent-encoded, and bounded (errors may quote input). */
function grpcMessage(text: string): string {
  const bounded = text.length > MAX_MESSAGE_QUOTE * 4 ? `${text.slice(0, MAX_MESSAGE_QUOTE * 4)}…` : text;
  return Array.from(new TextEncoder().encode(bounded), (b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

function statusHeaders(e: ConnectError | undefined): Record<string, string> {
  if (!e) return { "grpc-status": "0" };
  return { "grpc-status": String(e.code), "grpc-message": grpcMessage(e.rawMessage) };
}

const RESPONSE_HEADERS = { "content-type": "application/grpc", "grpc-accept-encoding": "identity,gzip" };

/* Bun's http2 drops trailers sent through the stream API (respond with
 * waitForTrailers) from a compat-API handler; the compat response's
 * addTrailers delivers them, so this file uses the compat response only. */

/** The call failed before any message: no messages, then the status. */
function fail(res: http2.Http2ServerResponse, e: ConnectError): void {
  if (res.writableEnded || res.stream.destroyed) return;
  if (!res.headersSent) res.writeHead(200, RESPONSE_HEADERS);
  res.addTrailers(statusHeaders(e));
  res.end();
}

async function readBody(req: http2.Http2ServerRequest): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_REQUEST_BYTES) throw new ConnectError(`GetEventsRequest of ${declared} bytes is over the limit of ${MAX_REQUEST_BYTES} bytes`, Code.ResourceExhausted);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_REQUEST_BYTES + 5) throw new ConnectError(`GetEventsRequest is over the limit of ${MAX_REQUEST_BYTES} bytes`, Code.ResourceExhausted);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The one message of a unary-request gRPC body: [flags][u32 length][bytes]. */
function parseRequest(body: Uint8Array, encoding: string | undefined): GetEventsRequest {
  if (body.byteLength < 5) throw new ConnectError("GetEvents: request has no message", Code.InvalidArgument);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const flags = view.getUint8(0);
  const length = view.getUint32(1, false);
  if (5 + length !== body.byteLength) throw new ConnectError("GetEvents: request frame length does not match its body", Code.InvalidArgument);
  let payload = body.subarray(5);
  if (flags & 1) {
    if (encoding !== "gzip") throw new ConnectError(`GetEvents: request compressed with unsupported encoding ${JSON.stringify(encoding ?? "")}`, Code.Unimplemented);
    payload = gunzipSync(payload, { maxOutputLength: MAX_REQUEST_BYTES });
  }
  try {
    // The fgs edition's request has the same field numbers: one decoder serves both.
    return fromBinary(GetEventsRequestSchema, payload);
  } catch (e) {
    throw new ConnectError(`GetEvents: malformed GetEventsRequest: ${e instanceof Error ? e.message : String(e)}`, Code.InvalidArgument);
  }
}

/** "10S", "500m", ...: gRPC's timeout header, in milliseconds. */
function timeoutMs(header: string | string[] | undefined): number | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(header);
  if (!m) return undefined;
  const unit: Record<string, number> = { H: 3600e3, M: 60e3, S: 1e3, m: 1, u: 1e-3, n: 1e-6 };
  return Number(m[1]) * (unit[m[2]!] ?? 1);
}

async function serveGetEvents(bus: EventBus, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, edition: Edition, options: GrpcEventsOptions): Promise<void> {
  const request = parseRequest(await readBody(req), req.headers["grpc-encoding"] as string | undefined);
  if (res.stream.destroyed) return;
  const client = new AbortController();
  const sub = bus.subscribe(request, client.signal);
  sub.label = `grpc ${req.socket?.remoteAddress ?? "unix"}${req.socket?.remotePort ? `:${req.socket.remotePort}` : ""}`;
  const writer = new FrameWriter(sub, res, edition);
  const onShutdown = (): void => writer.finish(new ConnectError("fgs agent is shutting down", Code.Unavailable));
  options.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const ms = timeoutMs(req.headers["grpc-timeout"]);
  const deadline = ms === undefined ? undefined : setTimeout(() => writer.finish(new ConnectError("deadline exceeded", Code.DeadlineExceeded)), ms);
  res.on("close", () => {
    client.abort();
    clearTimeout(deadline);
    options.shutdown?.removeEventListener("abort", onShutdown);
  });
  writer.start();
}

/** Moves a subscription's events onto one HTTP/2 stream, a batch per write,
 * waiting for drain when the client reads slowly (the queue then drops). */
class FrameWriter {
  private scheduled = false;
  private waitingForDrain = false;
  private ending: ConnectError | null | undefined;

  constructor(
    private readonly sub: Subscription,
    private readonly res: http2.Http2ServerResponse,
    private readonly edition: Edition,
  ) {}

  start(): void {
    this.res.writeHead(200, RESPONSE_HEADERS);
    this.res.on("drain", () => {
      this.waitingForDrain = false;
      this.schedule();
    });
    this.sub.onReadable(() => this.schedule());
  }

  /** Ends the stream with a status (null: OK) after what was written. */
  finish(status: ConnectError | null): void {
    if (this.ending !== undefined) return;
    this.ending = status;
    this.sub.end();
    if (this.gone()) return;
    this.res.addTrailers(statusHeaders(status ?? undefined));
    this.res.end();
  }

  private gone(): boolean {
    return this.res.writableEnded || this.res.stream.destroyed;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.gone()) return this.sub.end();
    if (!this.sub.isOpen) return this.finish(null);
    while (!this.waitingForDrain && this.sub.queuedEvents > 0) {
      const batch = this.frames(this.sub.take(BATCH_EVENTS));
      // 'drain' follows only a write that returned false, so wait only then.
      if (!this.res.write(batch) && this.res.writableLength >= MAX_BUFFERED_BYTES) this.waitingForDrain = true;
    }
  }

  private frames(events: readonly { encoded(edition: Edition): Uint8Array }[]): Buffer {
    const payloads = events.map((ev) => ev.encoded(this.edition));
    let total = 0;
    for (const p of payloads) total += 5 + p.byteLength;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const p of payloads) {
      out[at] = 0;
      out.writeUInt32BE(p.byteLength, at + 1);
      out.set(p, at + 5);
      at += 5 + p.byteLength;
    }
    return out;
  }
}
