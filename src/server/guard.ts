/** The security guard in front of every route: who may call (peer uid, group,
 * bearer token, client certificate, browser session), which Host and Origin,
 * and the per-connection and per-request cost bounds. Runs before any route. */
import type * as net from "node:net";
import { hostname, networkInterfaces } from "node:os";
import type { Logger } from "../log/logger";
import { socketHost, type ServerAddress } from "./address";
import { corsHeaders, preflightHeaders } from "./cors";
import { deny, quote, writeHead, type Handler, type Request, type Response } from "./deny";
import { isGroupMember, type ApiGroup } from "./groups";
import type { ServerLimits } from "./limits";
import { canonicalAddress, isLoopbackAddress, resolvePeer, type PeerIdentity } from "./peer-identity";
import { cookieValue, SESSION_COOKIE, sameSecret, Sessions } from "./tokens";

export interface GuardConfig {
  readonly address: ServerAddress;
  readonly limits: ServerLimits;
  readonly log: Logger;
  /** Members of this group may call the API besides root. */
  readonly apiGroup?: ApiGroup;
  /** --api-unsafe-allow-all: every caller is authorised. */
  readonly allowAll?: boolean;
  /** --api-token-file: `Authorization: Bearer <token>` authorises a caller. */
  readonly bearerToken?: string;
  /** The console token, exchanged at GET /login for a session cookie. */
  readonly consoleToken: string;
  /** --cors-allow-origin: origins whose pages may call the API. */
  readonly corsOrigins: readonly string[];
}

interface Connection {
  /** The accepted socket itself (an HTTP/2 request only sees a proxy of it). */
  readonly socket: net.Socket;
  readonly peer: PeerIdentity;
  readonly caller: string;
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  authorized?: boolean;
}

const CONNECTION = Symbol.for("fgs.connection");
type Tagged = { [CONNECTION]?: Connection };

const RPC_PATH = /^\/[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

function callerKey(peer: PeerIdentity): string {
  if (peer.kind === "local") return `uid:${peer.uid}`;
  if (peer.kind === "remote") return `addr:${canonicalAddress(peer.address)}`;
  return "unknown";
}

export class ApiGuard {
  private readonly sessions: Sessions;
  private connections = 0;
  private readonly perCaller = new Map<string, number>();
  private streams = 0;
  private readonly streamsPerCaller = new Map<string, number>();
  private boundPort = 0;

  constructor(private readonly config: GuardConfig) {
    this.sessions = new Sessions(config.limits.sessions);
  }

  /** The port the kernel chose (port 0), for Host checks. */
  bound(port: number | undefined): void {
    this.boundPort = port ?? 0;
  }

  /** Called for each accepted socket before any byte is parsed. False: refused and destroyed. */
  accept(socket: net.Socket): boolean {
    const peer = resolvePeer(socket, this.config.address.kind);
    const caller = callerKey(peer);
    const { limits } = this.config;
    const mine = this.perCaller.get(caller) ?? 0;
    if (this.connections >= limits.connections || mine >= limits.connectionsPerCaller) {
      this.config.log.warn("connection refused: limit reached", { caller, limit: this.connections >= limits.connections ? `connections=${limits.connections}` : `connectionsPerCaller=${limits.connectionsPerCaller}` });
      socket.destroy();
      return false;
    }
    this.connections++;
    this.perCaller.set(caller, mine + 1);
    const conn: Connection = { socket, peer, caller, active: 0, timer: undefined };
    (socket as Tagged)[CONNECTION] = conn;
    this.arm(conn, limits.headerTimeoutMs, "headerTimeoutMs");
    socket.once("close", () => {
      clearTimeout(conn.timer);
      this.connections--;
      const n = (this.perCaller.get(caller) ?? 1) - 1;
      if (n > 0) this.perCaller.set(caller, n);
      else this.perCaller.delete(caller);
    });
    return true;
  }

  private arm(conn: Connection, ms: number, limit: string): void {
    clearTimeout(conn.timer);
    conn.timer = setTimeout(() => {
      this.config.log.debug("connection closed by timeout", { caller: conn.caller, limit: `${limit}=${ms}` });
      conn.socket.destroy();
    }, ms);
    conn.timer.unref?.();
  }

  /** Wraps the routes: nothing reaches them without passing every check. */
  wrap(next: Handler): Handler {
    return (req, res) => {
      const socket = req.socket as net.Socket & Tagged;
      const conn = socket?.[CONNECTION];
      if (!conn) {
        deny(req, res, "permission_denied", "permission denied: the caller's identity is unknown");
        return;
      }
      this.track(conn, res);
      this.check(conn, req, res, next);
    };
  }

  private track(conn: Connection, res: Response): void {
    conn.active++;
    clearTimeout(conn.timer);
    conn.timer = undefined;
    res.once("close", () => {
      conn.active--;
      if (conn.active === 0 && !conn.socket.destroyed) this.arm(conn, this.config.limits.idleTimeoutMs, "idleTimeoutMs");
    });
  }

  private check(conn: Connection, req: Request, res: Response, next: Handler): void {
    const url = new URL(req.url ?? "/", "http://x");
    const host = this.requestHost(req);
    if (!this.hostAllowed(host)) {
      deny(req, res, "permission_denied", `permission denied: Host ${quote(host ?? "")} does not name the listen address`);
      return;
    }
    const origin = headerText(req, "origin");
    const browser = origin !== undefined || headerText(req, "sec-fetch-site") !== undefined;
    const listed = origin !== undefined ? this.config.corsOrigins.find((o) => o === origin) : undefined;
    if (req.method === "OPTIONS" && headerText(req, "access-control-request-method") !== undefined) {
      this.preflight(req, res, listed);
      return;
    }
    if (url.pathname === "/login" && req.method === "GET") {
      this.login(req, res, url);
      return;
    }
    if (!RPC_PATH.test(url.pathname)) {
      // Static console files are public; everything else the routes answer 404.
      next(req, res);
      return;
    }
    if (browser && !this.browserAllowed(req, res, origin, listed, host)) return;
    if (!browser && !this.callerAllowed(conn, req, res)) return;
    if (listed) for (const [k, v] of Object.entries(corsHeaders(listed))) res.setHeader(k, v);
    if (!this.bodyAllowed(req, res, url.pathname)) return;
    if (url.pathname.endsWith("/GetEvents") && !this.openStream(conn, req, res)) return;
    next(req, res);
  }

  private requestHost(req: Request): string | undefined {
    return headerText(req, "host") ?? headerText(req, ":authority");
  }

  private allowedHosts(): Set<string> {
    const a = this.config.address;
    if (a.kind === "unix") return new Set();
    const port = this.boundPort || a.port;
    const names = new Set<string>([a.host.toLowerCase()]);
    const host = socketHost(a);
    const wildcard = host === "0.0.0.0" || host === "::" || host === "";
    if (wildcard || host === "localhost" || isLoopbackAddress(host)) for (const n of ["localhost", "127.0.0.1", "[::1]"]) names.add(n);
    if (wildcard) {
      names.add(hostname().toLowerCase());
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.add(i.family === "IPv6" ? `[${i.address}]` : i.address);
    }
    return new Set([...names].flatMap((n) => (port === 80 ? [n, `${n}:80`] : [`${n}:${port}`])));
  }

  private hostAllowed(host: string | undefined): boolean {
    if (this.config.address.kind === "unix") return true;
    return host !== undefined && this.allowedHosts().has(host.toLowerCase());
  }

  private preflight(req: Request, res: Response, listed: string | undefined): void {
    if (!listed) {
      deny(req, res, "permission_denied", "permission denied: cross-origin requests are off (--cors-allow-origin lists the allowed origins)");
      return;
    }
    writeHead(res, 204, preflightHeaders(listed));
    res.end();
  }

  /** GET /login?token=T: the console token for a session cookie. */
  private login(req: Request, res: Response, url: URL): void {
    const token = url.searchParams.get("token") ?? "";
    if (!sameSecret(token, this.config.consoleToken)) {
      this.config.log.warn("console login refused: wrong token");
      deny(req, res, "permission_denied", "permission denied: wrong console token");
      return;
    }
    const session = this.sessions.create();
    writeHead(res, 303, {
      Location: "/",
      "Set-Cookie": `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      "Cache-Control": "no-store",
      "Referrer-Policy": "no-referrer",
    });
    res.end();
  }

  /** A browser needs a session, and its page must be this origin or a listed one. */
  private browserAllowed(req: Request, res: Response, origin: string | undefined, listed: string | undefined, host: string | undefined): boolean {
    if (origin !== undefined && !listed && !this.sameOrigin(origin, host)) {
      deny(req, res, "permission_denied", `permission denied: origin ${quote(origin)} is not allowed (--cors-allow-origin)`);
      return false;
    }
    if (!this.sessions.valid(cookieValue(headerText(req, "cookie"), SESSION_COOKIE))) {
      deny(req, res, "permission_denied", "permission denied: a browser needs a console session (open the console URL the agent printed)");
      return false;
    }
    return true;
  }

  private sameOrigin(origin: string, host: string | undefined): boolean {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") return false;
    const h = u.host.toLowerCase();
    if (this.config.address.kind === "unix") return host !== undefined && h === host.toLowerCase();
    return this.allowedHosts().has(h) && (host === undefined || h === host.toLowerCase());
  }

  private callerAllowed(conn: Connection, req: Request, res: Response): boolean {
    if (this.config.allowAll) return true;
    conn.authorized ??= this.identityAllowed(conn.peer, req);
    if (conn.authorized || this.bearerAllowed(req)) return true;
    this.config.log.warn("API call refused", { caller: conn.caller, path: String(req.url).slice(0, 200) });
    deny(req, res, "permission_denied", `permission denied: ${this.describeRefusal(conn.peer)}`);
    return false;
  }

  private identityAllowed(peer: PeerIdentity, req: Request): boolean {
    if (peer.kind === "local") return peer.uid === 0 || (this.config.apiGroup !== undefined && isGroupMember(this.config.apiGroup, peer.uid, peer.gid));
    if (peer.kind === "remote") return (req.socket as net.Socket & { authorized?: boolean }).authorized === true;
    return false;
  }

  private bearerAllowed(req: Request): boolean {
    const token = this.config.bearerToken;
    const auth = headerText(req, "authorization");
    if (!token || !auth?.startsWith("Bearer ")) return false;
    return sameSecret(auth.slice("Bearer ".length).trim(), token);
  }

  private describeRefusal(peer: PeerIdentity): string {
    const group = this.config.apiGroup ? ` or a member of group ${this.config.apiGroup.name}` : "";
    if (peer.kind === "local") return `uid ${peer.uid} may not call the API (only root${group})`;
    if (peer.kind === "remote") return "a remote caller needs a client certificate or a bearer token";
    return `the caller's identity is unknown (${peer.reason})`;
  }

  private bodyAllowed(req: Request, res: Response, path: string): boolean {
    const { limits } = this.config;
    const [limit, name] = path.endsWith("/AddTracingPolicy") ? [limits.policyRequestBodyBytes, "policyRequestBodyBytes"] : [limits.requestBodyBytes, "requestBodyBytes"];
    const length = headerText(req, "content-length");
    if (length === undefined) return true; // streamed bodies are cut while reading (readMaxBytes)
    if (/^\d+$/.test(length) && Number(length) <= limit) return true;
    deny(req, res, "resource_exhausted", `request body of ${quote(length, 24)} bytes exceeds the limit of ${limit} bytes (${name})`, 413);
    return false;
  }

  private openStream(conn: Connection, req: Request, res: Response): boolean {
    const { limits } = this.config;
    const mine = this.streamsPerCaller.get(conn.caller) ?? 0;
    if (this.streams >= limits.streams || mine >= limits.streamsPerCaller) {
      const limit = this.streams >= limits.streams ? `streams=${limits.streams}` : `streamsPerCaller=${limits.streamsPerCaller}`;
      deny(req, res, "resource_exhausted", `too many GetEvents streams (limit ${limit})`);
      return false;
    }
    this.streams++;
    this.streamsPerCaller.set(conn.caller, mine + 1);
    res.once("close", () => {
      this.streams--;
      const n = (this.streamsPerCaller.get(conn.caller) ?? 1) - 1;
      if (n > 0) this.streamsPerCaller.set(conn.caller, n);
      else this.streamsPerCaller.delete(conn.caller);
    });
    return true;
  }
}

function headerText(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) return v[0];
  return typeof v === "string" ? v : undefined;
}
