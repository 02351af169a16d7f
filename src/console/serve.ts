import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { ConsoleAssets } from "./assets";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: Request, res: Response) => void;

// The page loads only its own files and talks only to this origin.
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

/** Serves the web console (GET or HEAD on / and its asset paths); every
 * other request goes to `next` (the API). API paths are /<package>.<Service>/<Method>,
 * so they never collide with these. */
export function withConsole(assets: ConsoleAssets, next: Handler): Handler {
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    const asset = req.method === "GET" || req.method === "HEAD" ? assets.get(path) : undefined;
    if (!asset) {
      next(req, res);
      return;
    }
    res.statusCode = 200;
    const headers = { ...SECURITY_HEADERS, "Content-Type": asset.contentType, "Content-Length": String(asset.body.byteLength) };
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (req.method === "HEAD") res.end();
    else res.end(asset.body);
  };
}
