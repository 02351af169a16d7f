import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { launchAgent } from "../../helpers/agent";
import { connectUnix, type AgentClient, type ClientConnection } from "./client";
import { EventLog } from "./events";
import { sleep } from "./wait";

const LOG_LINES_KEPT = 2000;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface AgentOptions {
  /** Path of the fgs executable. */
  readonly fgs: string;
  readonly socketPath: string;
  /** Extra `fgs agent` flags. */
  readonly args?: readonly string[];
}

/** The last lines the agent wrote, stdout and stderr interleaved. */
class LogRing {
  readonly lines: string[] = [];
  /** Lines written so far, including those no longer kept. */
  written = 0;

  /** The kept lines written after `mark` (a value of `written`). */
  since(mark: number): string[] {
    const count = Math.min(this.written - mark, this.lines.length);
    return count > 0 ? this.lines.slice(-count) : [];
  }

  push(line: string): void {
    this.written++;
    this.lines.push(line);
    if (this.lines.length > LOG_LINES_KEPT) this.lines.splice(0, this.lines.length - LOG_LINES_KEPT);
  }
}

type AgentProcess = Subprocess<"ignore", "pipe", "pipe">;

/** Resolves with "exit code N" or "signal NAME" when the agent exits. */
async function exitOf(proc: AgentProcess): Promise<string> {
  const code = await proc.exited;
  return proc.signalCode ? `signal ${proc.signalCode}` : `exit code ${code}`;
}

/** A running `fgs agent`, its client, its event stream and its log. */
export class Agent {
  readonly client: AgentClient;
  readonly events: EventLog;

  private constructor(
    private readonly child: AgentProcess,
    private readonly connection: ClientConnection,
    private readonly log: LogRing,
    private readonly exit: Promise<string>,
  ) {
    this.client = connection.client;
    this.events = new EventLog(this.client);
  }

  /**
   * Starts an agent and waits until it serves. `onStartFailure` receives the log of
   * an agent that failed to start, since no Agent is returned then.
   */
  static async start(options: AgentOptions, onStartFailure: (log: string[]) => void): Promise<Agent> {
    rmSync(options.socketPath, { force: true });
    const log = new LogRing();
    const args = ["--server-address", `unix:${options.socketPath}`, ...(options.args ?? [])];
    const { proc } = await launchAgent({ fgs: options.fgs, args, timeoutMs: READY_TIMEOUT_MS, onLine: (l) => log.push(l) }).catch((e: unknown) => {
      onStartFailure(log.lines);
      throw e;
    });
    return new Agent(proc, connectUnix(options.socketPath), log, exitOf(proc));
  }

  /** A position in the log, for `logSince`. */
  logMark(): number {
    return this.log.written;
  }

  /** The kept lines the agent wrote after `mark`. */
  logSince(mark: number): string[] {
    return this.log.since(mark);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then the exit status; throws if the agent does not stop cleanly. */
  async stop(): Promise<void> {
    this.events.close();
    this.connection.close();
    if (!this.running) {
      throw new Error(`the agent had stopped by itself (${await this.exit})`);
    }
    this.child.kill("SIGTERM");
    const status = await Promise.race([this.exit, sleep(STOP_TIMEOUT_MS).then(() => undefined)]);
    if (status === undefined) {
      this.child.kill("SIGKILL");
      throw new Error(`the agent did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    }
    if (status !== "exit code 0") throw new Error(`the agent stopped with ${status}`);
  }
}
