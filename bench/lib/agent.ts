// dist/fgs agent as the benchmarks run it:
//   dist/fgs agent --server-address 127.0.0.1:PORT [--policy FILE]
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monoNs, sleep } from "./clock";
import { EventClient, type Received } from "./grpc";
import { Daemon, lastLines, run } from "./proc";
import { NotAvailable } from "./report";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FGS = join(ROOT, "dist", "fgs");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export class Agent {
  private constructor(
    readonly daemon: Daemon,
    readonly address: string,
    readonly port: number,
    /** CLOCK_MONOTONIC when the process was launched. */
    readonly launchedNs: bigint,
  ) {}

  get pid(): number {
    return this.daemon.pid;
  }

  /** Launches the agent; resolves once its port accepts connections. */
  static async start(policy?: string, timeoutMs = 30_000): Promise<Agent> {
    if (!existsSync(FGS)) throw new NotAvailable("dist/fgs not built: bun run build");
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const args = [FGS, "agent", "--server-address", address, ...(policy ? ["--policy", policy] : [])];
    const launchedNs = monoNs();
    const agent = new Agent(Daemon.start(args, "agent"), address, port, launchedNs);
    await agent.waitServing(timeoutMs);
    return agent;
  }

  private async waitServing(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await canConnect(this.port))) {
      if (this.daemon.exited !== undefined) {
        throw new NotAvailable(`agent exited (${this.daemon.exited}): ${lastLines(this.daemon.stderr)}`);
      }
      if (Date.now() > end) {
        await this.stop();
        throw new NotAvailable(`agent did not listen on ${this.address} within ${timeoutMs} ms`);
      }
      await sleep(2);
    }
  }

  async client(onEvent: (r: Received) => void): Promise<EventClient> {
    try {
      return await EventClient.open(this.address, onEvent);
    } catch (e) {
      throw new NotAvailable(`gRPC GetEvents on ${this.address}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async stop(): Promise<void> {
    await this.daemon.stop("SIGTERM");
  }

  /** The details line of `fgs status` (lost_events, missed_events, ...). */
  async status(): Promise<string> {
    const r = await run([FGS, "status", "--server-address", this.address]);
    // Every entry's details: the first is "running", the next carry the counters.
    const lines = [...r.stdout.matchAll(/^details: (.*)$/gm)].map((m) => m[1]);
    return lines.length > 0 ? lines.join("; ") : `status failed: ${lastLines(r.stderr)}`;
  }

  logTail(): string {
    return lastLines(this.daemon.stderr);
  }
}

/** A counter from a status details line ("missed_events=3" → 3); for
 * lost_events ("0" or per op: "op5=12,op1=3") the sum. */
export function statusCounter(details: string, key: string): number {
  const m = new RegExp(`\\b${key}=([^;\\s]+)`).exec(details);
  if (!m?.[1]) return Number.NaN;
  if (/^\d+$/.test(m[1])) return Number(m[1]);
  return [...m[1].matchAll(/op\d+=(\d+)/g)].reduce((sum, x) => sum + Number(x[1]), 0);
}
