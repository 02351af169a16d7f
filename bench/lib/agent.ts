// dist/fgs agent as the benchmarks run it, launched the way the tests launch it
// (tests/helpers/launch.ts):
//   dist/fgs agent --server-address 127.0.0.1:0 [--policy FILE]
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { FGS, launchAgent, ROOT, type LaunchedAgent } from "../../tests/helpers/launch";
import { monoNs } from "./clock";
import { EventClient, type Received } from "./grpc";
import { lastLines, run } from "./proc";
import { NotAvailable } from "./report";

export { FGS, ROOT };

const STOP_GRACE_MS = 15_000;
const OUTPUT_LINES = 100;
const live = new Set<Agent>();

export class Agent {
  private constructor(
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly address: string,
    /** CLOCK_MONOTONIC when the process was launched. */
    readonly launchedNs: bigint,
    /** the agent's last lines of output (its JSON log) */
    private readonly output: readonly string[],
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** Launches the agent; resolves once it serves (it logs so right after it listens). */
  static async start(policy?: string, timeoutMs = 30_000, extraArgs: readonly string[] = []): Promise<Agent> {
    if (!existsSync(FGS)) throw new NotAvailable("dist/fgs not built: bun run build");
    const args = ["--server-address", "127.0.0.1:0", ...(policy ? ["--policy", policy] : []), ...extraArgs];
    const output: string[] = [];
    const onLine = (line: string) => {
      output.push(line);
      if (output.length > OUTPUT_LINES) output.shift();
    };
    const launchedNs = monoNs();
    let launched: LaunchedAgent;
    try {
      launched = await launchAgent({ args, timeoutMs, onLine });
    } catch (e) {
      throw new NotAvailable(`agent did not start: ${lastLines(e instanceof Error ? e.message : String(e))}`);
    }
    const agent = new Agent(launched.proc, launched.address, launchedNs, output);
    live.add(agent);
    return agent;
  }

  /** Ends every agent still running (the driver is being interrupted). */
  static killAll(): void {
    for (const a of live) a.proc.kill("SIGTERM");
  }

  async client(onEvent: (r: Received) => void): Promise<EventClient> {
    try {
      return await EventClient.open(this.address, onEvent);
    } catch (e) {
      throw new NotAvailable(`gRPC GetEvents on ${this.address}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), STOP_GRACE_MS);
    await this.proc.exited;
    clearTimeout(timer);
    live.delete(this);
  }

  /** The details line of `fgs status` (lost_events, missed_events, ...). */
  async status(): Promise<string> {
    const r = await run([FGS, "status", "--server-address", this.address]);
    // Every entry's details: the first is "running", the next carry the counters.
    const lines = [...r.stdout.matchAll(/^details: (.*)$/gm)].map((m) => m[1]);
    return lines.length > 0 ? lines.join("; ") : `status failed: ${lastLines(r.stderr)}`;
  }

  logTail(): string {
    return lastLines(this.output.join("\n"));
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
