/** Correct answers for bad input at the connect-node layer: a body that is
 * not valid protobuf is the caller's error (invalid_argument, not internal),
 * and no error message quotes more than a bounded prefix of the input. */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

/** Longest error message sent back; what the caller sent is quoted at most 200 characters deep. */
export const MESSAGE_LIMIT = 1000;

function bounded(message: string): string {
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}… (message cut at ${MESSAGE_LIMIT} characters)` : message;
}

/** Errors thrown by the implementation keep their code, with a bounded message. */
export const boundedErrors: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    const err = ConnectError.from(e);
    if (err.rawMessage.length <= MESSAGE_LIMIT) throw e;
    throw new ConnectError(bounded(err.rawMessage), err.code, err.metadata, err.details as never, err.cause);
  }
};

const PARSE_FAILURE = /^parse binary: /;

async function collect(body: AsyncIterable<Uint8Array>, max: number): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.byteLength;
    if (size > max) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** Connect unary: a 500 whose JSON says "parse binary" becomes 400 invalid_argument. */
async function fixConnectUnary(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (res.status !== 500 || !res.body) return res;
  const bytes = await collect(res.body, 64 * 1024);
  if (!bytes) return { ...res, body: once(new Uint8Array()) };
  const text = Buffer.from(bytes).toString("utf8");
  let parsed: { code?: string; message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { ...res, body: once(bytes) };
  }
  if (parsed.code !== "internal" || !PARSE_FAILURE.test(parsed.message ?? "")) return { ...res, body: once(bytes) };
  const body = Buffer.from(JSON.stringify({ code: "invalid_argument", message: `malformed request: ${parsed.message}` }));
  res.header?.set("content-length", String(body.byteLength));
  return { ...res, status: 400, body: once(body) };
}

/** gRPC: the status is set in the trailer once the body is done. */
function fixGrpcTrailer(res: UniversalServerResponse): UniversalServerResponse {
  const { body, trailer } = res;
  if (!body || !trailer) return res;
  async function* watched(): AsyncIterable<Uint8Array> {
    try {
      yield* body!;
    } finally {
      const message = decodeURIComponent(trailer!.get("grpc-message") ?? "");
      if (trailer!.get("grpc-status") === String(Code.Internal) && PARSE_FAILURE.test(message)) {
        trailer!.set("grpc-status", String(Code.InvalidArgument));
        trailer!.set("grpc-message", encodeURIComponent(`malformed request: ${message}`));
      }
    }
  }
  return { ...res, body: watched() };
}

/** gRPC-web and Connect streaming carry the final status in a last frame of
 * the body (flag 0x80: trailer text; flag 0x02: end-of-stream JSON). */
function fixFinalFrame(res: UniversalServerResponse, flag: number, rewrite: (payload: string) => string | undefined): UniversalServerResponse {
  const { body } = res;
  if (!body) return res;
  async function* watched(): AsyncIterable<Uint8Array> {
    for await (const chunk of body!) {
      const whole = chunk.byteLength >= 5 && (chunk[0]! & flag) === flag && Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1) === chunk.byteLength - 5;
      const replaced = whole ? rewrite(Buffer.from(chunk.subarray(5)).toString("utf8")) : undefined;
      yield replaced === undefined ? chunk : frame(chunk[0]!, replaced);
    }
  }
  return { ...res, body: watched() };
}

function frame(flags: number, payload: string): Uint8Array {
  const bytes = Buffer.from(payload);
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  bytes.copy(out, 5);
  return out;
}

function grpcWebTrailer(text: string): string | undefined {
  const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1];
  const message = decodeURIComponent(/grpc-message:\s*([^\r\n]*)/i.exec(text)?.[1] ?? "");
  if (status !== String(Code.Internal) || !PARSE_FAILURE.test(message)) return undefined;
  return `grpc-status: ${Code.InvalidArgument}\r\ngrpc-message: ${encodeURIComponent(`malformed request: ${message}`)}\r\n`;
}

function connectEndStream(text: string): string | undefined {
  try {
    const end = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (end.error?.code !== "internal" || !PARSE_FAILURE.test(end.error.message ?? "")) return undefined;
    return JSON.stringify({ ...end, error: { code: "invalid_argument", message: `malformed request: ${end.error.message}` } });
  } catch {
    return undefined;
  }
}

export function withInputErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const type = req.header.get("content-type") ?? "";
    if (type.startsWith("application/grpc-web")) return fixFinalFrame(res, 0x80, grpcWebTrailer);
    if (type.startsWith("application/grpc")) return fixGrpcTrailer(res);
    if (type.startsWith("application/connect+proto")) return fixFinalFrame(res, 0x02, connectEndStream);
    if (type.startsWith("application/proto")) return fixConnectUnary(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}
