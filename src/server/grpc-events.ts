/** GetEvents in binary protobuf, the firehose path, for the three wire
 * protocols that frame messages the same way ([flags][u32 length][bytes]):
 * gRPC (HTTP/2), gRPC-web and Connect streaming (HTTP/1.1 or HTTP/2). Each
 * event's bytes are encoded once on the bus and shared by every stream; many
 * frames go out per write. Connect JSON and every other method stay on
 * connect-node. A stream is never ended for being slow: its queue drops and
 * counts. */
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
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
export type Handler = (req: Request, res: AnyResponse) => void;

/** What this file uses of an HTTP/1.1 or HTTP/2 (compat) response. */
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Uint8Array, done: (error?: Error | null) => void): boolean;
  end(chunk?: Uint8Array): unknown;
  on(event: "drain" | "close", listener: () => void): unknown;
  addTrailers(headers: Record<string, string>): void;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  readonly headersSent: boolean;
  readonly destroyed?: boolean;
  readonly stream?: { readonly destroyed: boolean };
}

const PATHS: ReadonlyMap<string, Edition> = new Map([
  ["/tetragon.FineGuidanceSensors/GetEvents", "tetragon"],
  ["/fgs.FineGuidanceSensors/GetEvents", "fgs"],
]);

/** A GetEventsRequest is a few filters: anything larger is refused unread. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Events per write, and bytes buffered on one stream before waiting for the
 * client: writes continue past the stream's small high-water mark, so one
 * flush moves everything queued (a flush per drain would move one batch per
 * event-loop turn while the reader adds thousands). What Bun's HTTP/2 layer
 * holds counts about twice in RSS: 1 MiB instead of 4 took ~8 MB off a
 * storm's peak with a slow client (3 runs each), at the same events/s. */
const BATCH_EVENTS = 1024;
const MAX_BUFFERED_BYTES = 1 << 20;
const MAX_MESSAGE_QUOTE = 200;

export interface GrpcEventsOptions {
  /** Ends every stream when the agent shuts down (set by the agent). */
  readonly shutdown?: AbortSignal;
}

/** How one protocol starts, frames and ends a server stream. */
interface Protocol {
  readonly name: string;
  readonly contentType: string;
  /** the request header naming a compressed message's encoding */
  readonly encodingHeader: string;
  /** ends the response with a status (undefined: OK) */
  end(res: Response, error: ConnectError | undefined): void;
}

/** grpc-message: percent-encoded, and bounded (errors may quote input). */
function grpcMessage(text: string): string {
  const bounded = text.length > MAX_MESSAGE_QUOTE * 4 ? `${text.slice(0, MAX_MESSAGE_QUOTE * 4)}…` : text;
  return Array.from(new TextEncoder().encode(bounded), (b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

function grpcStatus(e: ConnectError | undefined): Record<string, string> {
  if (!e) return { "grpc-status": "0" };
  return { "grpc-status": String(e.code), "grpc-message": grpcMessage(e.rawMessage) };
}

function envelope(flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.byteLength);
  out[0] = flags;
  out.writeUInt32BE(payload.byteLength, 1);
  out.set(payload, 5);
  return out;
}

/* Bun's http2 drops trailers sent through the stream API (respond with
 * waitForTrailers) from a compat-API handler; the compat response's
 * addTrailers delivers them, so this file uses the compat response only. */
const GRPC: Protocol = {
  name: "grpc",
  contentType: "application/grpc",
  encodingHeader: "grpc-encoding",
  end(res, error) {
    res.addTrailers(grpcStatus(error));
    res.end();
  },
};

/** gRPC-web: the trailers travel as a last frame with flag 0x80. */
const GRPC_WEB: Protocol = {
  name: "grpc-web",
  contentType: "application/grpc-web+proto",
  encodingHeader: "grpc-encoding",
  end(res, error) {
    const text = Object.entries(grpcStatus(error)).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    res.end(envelope(0x80, new TextEncoder().encode(text)));
  },
};

/** Connect: the stream ends with a JSON frame with flag 0x02. */
const CONNECT: Protocol = {
  name: "connect",
  contentType: "application/connect+proto",
  encodingHeader: "connect-content-encoding",
  end(res, error) {
    const body = error ? { error: { code: connectCode(error.code), message: boundedQuote(error.rawMessage) } } : {};
    res.end(envelope(0x02, new TextEncoder().encode(JSON.stringify(body))));
  },
};

function boundedQuote(text: string): string {
  return text.length > MAX_MESSAGE_QUOTE * 4 ? `${text.slice(0, MAX_MESSAGE_QUOTE * 4)}…` : text;
}

/** Code.InvalidArgument → "invalid_argument", as the Connect protocol spells it. */
function connectCode(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/[A-Z]/g, (c, at: number) => (at > 0 ? "_" : "") + c.toLowerCase());
}

function protocolOf(req: Request): Protocol | undefined {
  const ct = req.headers["content-type"];
  if (ct === "application/grpc" || ct === "application/grpc+proto") return req.httpVersionMajor === 2 ? GRPC : undefined;
  if (ct === "application/grpc-web" || ct === "application/grpc-web+proto") return GRPC_WEB;
  if (ct === "application/connect+proto") return CONNECT;
  return undefined;
}

/** Serves binary GetEvents from the bus; passes everything else to next. */
export function withGrpcEvents(bus: EventBus, next: Handler, options: GrpcEventsOptions = {}): Handler {
  return (req, anyRes) => {
    const edition = req.url === undefined ? undefined : PATHS.get(req.url);
    const protocol = edition === undefined || req.method !== "POST" ? undefined : protocolOf(req);
    if (edition === undefined || protocol === undefined) return next(req, anyRes);
    const res = anyRes as unknown as Response;
    void serveGetEvents(bus, req, res, protocol, edition, options).catch((e: unknown) => fail(res, protocol, asConnectError(e)));
  };
}

function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError(e instanceof Error ? e.message : String(e), Code.Internal);
}

function gone(res: Response): boolean {
  return res.writableEnded || (res.stream?.destroyed ?? res.destroyed ?? false);
}

/** The call failed before any message: no messages, then the status. */
function fail(res: Response, protocol: Protocol, e: ConnectError): void {
  if (gone(res)) return;
  if (!res.headersSent) res.writeHead(200, { "content-type": protocol.contentType });
  protocol.end(res, e);
}

async function readBody(req: Request): Promise<Uint8Array> {
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

/** The one message of the request body: [flags][u32 length][bytes]. */
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

/** "10S", "500m", ...: gRPC's timeout header (Connect's is in ms), in milliseconds. */
function timeoutMs(req: Request): number | undefined {
  const connect = req.headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect)) return Number(connect);
  const header = req.headers["grpc-timeout"];
  if (typeof header !== "string") return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(header);
  if (!m) return undefined;
  const unit: Record<string, number> = { H: 3600e3, M: 60e3, S: 1e3, m: 1, u: 1e-3, n: 1e-6 };
  return Number(m[1]) * (unit[m[2]!] ?? 1);
}

function peerLabel(req: Request, protocol: Protocol): string {
  const s = req.socket;
  return `${protocol.name} ${s?.remoteAddress ?? "unix"}${s?.remotePort ? `:${s.remotePort}` : ""}`;
}

async function serveGetEvents(bus: EventBus, req: Request, res: Response, protocol: Protocol, edition: Edition, options: GrpcEventsOptions): Promise<void> {
  const encoding = req.headers[protocol.encodingHeader];
  const request = parseRequest(await readBody(req), typeof encoding === "string" ? encoding : undefined);
  if (gone(res)) return;
  const client = new AbortController();
  const sub = bus.subscribe(request, client.signal);
  sub.label = peerLabel(req, protocol);
  const writer = new FrameWriter(sub, res, protocol, edition);
  const onShutdown = (): void => writer.finish(new ConnectError("fgs agent is shutting down", Code.Unavailable));
  options.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const ms = timeoutMs(req);
  const deadline = ms === undefined ? undefined : setTimeout(() => writer.finish(new ConnectError("deadline exceeded", Code.DeadlineExceeded)), ms);
  res.on("close", () => {
    client.abort();
    clearTimeout(deadline);
    options.shutdown?.removeEventListener("abort", onShutdown);
  });
  writer.start();
}

/** Moves a subscription's events onto one response, a batch per write,
 * waiting for drain when the client reads slowly (the queue then drops). */
class FrameWriter {
  private scheduled = false;
  private waitingForDrain = false;
  private ended = false;
  private readonly pool = new BufferPool();

  constructor(
    private readonly sub: Subscription,
    private readonly res: Response,
    private readonly protocol: Protocol,
    private readonly edition: Edition,
  ) {}

  start(): void {
    this.res.writeHead(200, { "content-type": this.protocol.contentType, "grpc-accept-encoding": "identity,gzip" });
    this.res.on("drain", () => {
      this.waitingForDrain = false;
      this.schedule();
    });
    this.sub.onReadable(() => this.schedule(), this.edition);
  }

  /** Ends the stream with a status (undefined: OK) after what was written. */
  finish(error: ConnectError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.sub.end();
    if (!gone(this.res)) this.protocol.end(this.res, error);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (gone(this.res)) return this.sub.end();
    if (!this.sub.isOpen) return this.finish(undefined);
    while (!this.waitingForDrain) {
      let buffer: Buffer | undefined;
      const batch = this.sub.takeEnveloped(BATCH_EVENTS, this.edition, (bytes) => (buffer = this.pool.take(bytes)));
      if (batch === undefined || buffer === undefined) return;
      const taken = buffer;
      // Bun keeps a reference to what it was given until the callback: only then may the buffer be reused.
      const written = this.res.write(batch, () => this.pool.release(taken));
      // 'drain' follows only a write that returned false, so wait only then.
      if (!written && this.res.writableLength >= MAX_BUFFERED_BYTES) this.waitingForDrain = true;
    }
  }
}

/** Write buffers a stream reuses once Bun is done with them: a storm would
 * otherwise leave a batch-sized buffer (about 1 KiB per event) for the GC
 * to find, and RSS grows until it does. Sizes are powers of two; at most
 * POOLED are kept, so an idle stream holds little. */
class BufferPool {
  private readonly free: Buffer[] = [];

  take(bytes: number): Buffer {
    const size = Math.max(MIN_POOLED_BYTES, 2 ** Math.ceil(Math.log2(bytes)));
    const i = this.free.findIndex((b) => b.byteLength === size);
    if (i < 0) return Buffer.allocUnsafeSlow(size);
    const [hit] = this.free.splice(i, 1);
    return hit ?? Buffer.allocUnsafeSlow(size);
  }

  release(b: Buffer): void {
    if (this.free.length >= POOLED) this.free.shift();
    this.free.push(b);
  }
}

const MIN_POOLED_BYTES = 4096;
const POOLED = 4;
