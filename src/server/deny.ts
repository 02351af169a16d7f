/** Refusals in the caller's protocol: gRPC and gRPC-web get a status in a
 * trailers-only response, Connect its JSON error, anything else plain HTTP. */
import type * as http from "node:http";
import type * as http2 from "node:http2";

export type Request = http.IncomingMessage | http2.Http2ServerRequest;
export type Response = http.ServerResponse | http2.Http2ServerResponse;
export type Handler = (req: Request, res: Response) => void;

/** The part of both response types the guard uses (their writeHead overloads do not unite). */
interface Head {
  writeHead(status: number, headers: Record<string, string>): unknown;
}

export function writeHead(res: Response, status: number, headers: Record<string, string>): void {
  (res as unknown as Head).writeHead(status, headers);
}

export type DenyCode = "permission_denied" | "resource_exhausted" | "invalid_argument" | "unauthenticated";

const GRPC_STATUS: Record<DenyCode, number> = { invalid_argument: 3, permission_denied: 7, resource_exhausted: 8, unauthenticated: 16 };
const HTTP_STATUS: Record<DenyCode, number> = { invalid_argument: 400, permission_denied: 403, resource_exhausted: 429, unauthenticated: 401 };

/** At most this many characters of caller input are quoted back. */
export const QUOTE_LIMIT = 200;

export function quote(text: string, limit = QUOTE_LIMIT): string {
  const cut = text.length > limit ? `${text.slice(0, limit)}…(${text.length} chars)` : text;
  return JSON.stringify(cut);
}

export function deny(req: Request, res: Response, code: DenyCode, message: string, httpStatus = HTTP_STATUS[code], extraHeaders: Record<string, string> = {}): void {
  const type = String(req.headers["content-type"] ?? "").toLowerCase();
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  // The body is not read: the connection must not be reused for a next request.
  if (req.httpVersion === "1.1" || req.httpVersion === "1.0") res.setHeader("Connection", "close");
  if (type.startsWith("application/grpc")) {
    writeHead(res, 200, { "content-type": type.startsWith("application/grpc-web") ? type : "application/grpc", "grpc-status": String(GRPC_STATUS[code]), "grpc-message": encodeURIComponent(message) });
    res.end();
    return;
  }
  const body = JSON.stringify({ code, message });
  if (type.startsWith("application/connect+")) {
    const payload = Buffer.from(JSON.stringify({ error: { code, message } }));
    const frame = Buffer.alloc(5 + payload.length);
    frame[0] = 0x02;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    writeHead(res, 200, { "content-type": type.split(";")[0] ?? type });
    res.end(frame);
    return;
  }
  writeHead(res, httpStatus, { "content-type": type.includes("json") || type.includes("proto") ? "application/json" : "text/plain; charset=utf-8" });
  res.end(type.includes("json") || type.includes("proto") ? body : `${message}\n`);
}
