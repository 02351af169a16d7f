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

export function withInputErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const type = req.header.get("content-type") ?? "";
    if (type.startsWith("application/grpc") && !type.startsWith("application/grpc-web")) return fixGrpcTrailer(res);
    if (type.startsWith("application/proto")) return fixConnectUnary(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}
