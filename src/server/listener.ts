import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { chmodSync, chownSync, lstatSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { socketHost, type ServerAddress } from "./address";
import { verifyPeerCredentials } from "./peer-identity";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface ListenerOptions {
  /** Sees each accepted socket first; false means it was refused (and destroyed). */
  readonly accept?: (socket: net.Socket) => boolean;
  /** Group allowed on the unix socket (mode 0660); without it the mode is 0600. */
  readonly unixGroupGid?: number;
  /** Serve TLS (ALPN h2 / http/1.1) instead of plaintext; `ca` asks for client certificates. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer; readonly handshakeTimeoutMs?: number };
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** One listening address for every protocol: HTTP/2 with prior knowledge
 * (gRPC, gRPC-web, Connect over h2c) and HTTP/1.1 (gRPC-web, Connect). Under
 * Bun, http2's allowHTTP1 is broken, so we peek at the first bytes ourselves. */
export class ProtocolListener {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.Http2Session>();
  /** Responses not finished yet: shutdown lets them end with a status first. */
  private readonly inFlight = new Set<http.ServerResponse | http2.Http2ServerResponse>();

  constructor(handler: Handler, private readonly options: ListenerOptions = {}) {
    const tracked: Handler = (req, res) => {
      this.inFlight.add(res);
      res.once("close", () => this.inFlight.delete(res));
      res.once("finish", () => this.inFlight.delete(res));
      handler(req, res);
    };
    this.h1 = http.createServer(tracked);
    this.h2 = http2.createServer({}, tracked);
    this.h2.on("session", (s) => {
      this.sessions.add(s);
      s.on("close", () => this.sessions.delete(s));
    });
    this.tcp = options.tls ? this.tlsServer(options.tls) : net.createServer((socket) => this.route(socket));
  }

  /** Client certificates are requested but not required: a caller may use a
   * bearer token instead; the guard checks `socket.authorized`. */
  private tlsServer(o: NonNullable<ListenerOptions["tls"]>): tls.Server {
    return tls.createServer(
      { cert: o.cert, key: o.key, ca: o.ca, requestCert: o.ca !== undefined, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: o.handshakeTimeoutMs },
      (socket) => {
        if (this.options.accept && !this.options.accept(socket)) return;
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => socket.destroy());
        (socket.alpnProtocol === "h2" ? this.h2 : this.h1).emit("connection", socket);
      },
    );
  }

  private route(socket: net.Socket): void {
    if (this.options.accept && !this.options.accept(socket)) return;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < H2_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      (isH2 ? this.h2 : this.h1).emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
  }

  /** Resolves once listening; rejects with a clear message when the address is busy. */
  async listen(address: ServerAddress): Promise<string> {
    if (address.kind === "unix") {
      if (this.options.accept) await verifyPeerCredentials(tmpdir());
      await removeStaleSocket(address.path);
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(listenError(address, err));
      this.tcp.once("error", onError);
      const done = () => {
        this.tcp.off("error", onError);
        resolve();
      };
      if (address.kind === "unix") this.listenUnix(address.path, done);
      else this.tcp.listen(address.port, socketHost(address), done);
    });
    return this.boundAddress(address);
  }

  /** The socket is created under a 0177 umask so it is never reachable by
   * others, then given its final mode (and group). */
  private listenUnix(path: string, done: () => void): void {
    const old = process.umask(0o177);
    try {
      this.tcp.listen(path, () => {
        const gid = this.options.unixGroupGid;
        if (gid !== undefined) chownSync(path, -1, gid);
        chmodSync(path, gid !== undefined ? 0o660 : 0o600);
        done();
      });
    } finally {
      process.umask(old);
    }
  }

  /** The address as given, with the port the kernel chose for port 0. */
  private boundAddress(address: ServerAddress): string {
    const a = this.tcp.address();
    if (address.kind === "unix" || a === null || typeof a === "string") return address.text;
    return `${address.host}:${a.port}`;
  }

  get port(): number | undefined {
    const a = this.tcp.address();
    return a && typeof a !== "string" ? a.port : undefined;
  }

  /** Stops accepting, lets responses in flight end with their status (streams
   * were ended by the caller) for up to drainMs, ends HTTP/2 sessions (GOAWAY)
   * and closes every socket. */
  async close(drainMs = 2000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await Bun.sleep(10);
    for (const s of this.sessions) s.close();
    for (const s of this.sockets) s.end();
    await Promise.race([closed, Bun.sleep(1000)]);
    for (const s of this.sockets) s.destroy();
  }
}

function listenError(address: ServerAddress, err: NodeJS.ErrnoException): Error {
  const where = address.text;
  if (err.code === "EADDRINUSE") return new Error(`cannot listen on ${where}: address already in use (is another agent running?)`);
  if (err.code === "EACCES") return new Error(`cannot listen on ${where}: permission denied`);
  return new Error(`cannot listen on ${where}: ${err.code ?? err.message}`);
}

/** A socket file left by a crashed agent is removed; a live one makes listen
 * fail; anything that is not a socket is never touched. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`cannot listen on unix:${path}: the path exists and is not a socket; refusing to delete it`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
  if (!alive) unlinkSync(path);
}
