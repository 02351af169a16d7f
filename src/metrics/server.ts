/** `--metrics-address`: GET /metrics in the Prometheus text format. */
import * as http from "node:http";
import type { Registry } from "prom-client";
import { libbpf } from "../bpf/libbpf";
import type { Component } from "../common/component";
import type { Logger } from "../log/logger";

export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]*):(\d{1,5})$/;

/** "host:port", "[::1]:port" or ":port" (loopback): a message when malformed. */
export function parseMetricsAddress(text: string): MetricsAddress | string {
  const m = HOST_PORT.exec(text);
  if (!m) return "expected host:port, [ipv6]:port or :port";
  const port = Number(m[2]);
  if (port > 65535) return "port must be between 0 and 65535";
  return { host: (m[1] || "127.0.0.1").replace(/^\[(.*)\]$/, "$1"), port };
}

export class MetricsServer implements Component {
  readonly name = "metrics";
  private constructor(
    private readonly server: http.Server,
    readonly address: string,
    private readonly statsFd: number | undefined,
  ) {}

  /** `beforeScrape` runs once per request, before any value is read. */
  static async start(address: MetricsAddress, registry: Registry, beforeScrape: () => void, log: Logger, statsFd?: number): Promise<MetricsServer> {
    const server = http.createServer((req, res) => void serve(req, res, registry, beforeScrape, log));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`cannot serve metrics on ${address.host}:${address.port}: ${e.code ?? e.message}`)));
      server.listen(address.port, address.host, resolve);
    });
    const a = server.address();
    const port = a && typeof a !== "string" ? a.port : address.port;
    const shown = `${address.host.includes(":") ? `[${address.host}]` : address.host}:${port}`;
    log.info("serving metrics", { address: shown, path: "/metrics" });
    return new MetricsServer(server, shown, statsFd);
  }

  describe(): string {
    return `metrics: http://${this.address}/metrics`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.statsFd !== undefined) libbpf().fgs_close(this.statsFd);
  }
}

async function serve(req: http.IncomingMessage, res: http.ServerResponse, registry: Registry, beforeScrape: () => void, log: Logger): Promise<void> {
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
  if (path !== "/metrics") return void res.writeHead(404, { "content-type": "text/plain" }).end("see /metrics\n");
  try {
    beforeScrape();
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    log.error("metrics scrape failed", { error: e instanceof Error ? e.message : String(e) });
    res.writeHead(500, { "content-type": "text/plain" }).end("scrape failed\n");
  }
}
