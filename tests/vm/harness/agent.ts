import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
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

/** The last lines a child process wrote, stdout and stderr interleaved. */
class LogRing {
  readonly lines: string[] = [];
  /** Lines written so far, including those no longer kept. */
  written = 0;

  constructor(child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => this.push(line));
    }
  }

  /** The kept lines written after `mark` (a value of `written`). */
  since(mark: number): string[] {
    const count = Math.min(this.written - mark, this.lines.length);
    return count > 0 ? this.lines.slice(-count) : [];
  }

  private push(line: string): void {
    this.written++;
    this.lines.push(line);
    if (this.lines.length > LOG_LINES_KEPT) this.lines.splice(0, this.lines.length - LOG_LINES_KEPT);
  }
}

/** Resolves with "exit code N" or "signal NAME" when the child exits. */
function exitOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
  });
}

async function waitReady(client: AgentClient, exit: Promise<string>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited: string | undefined;
  void exit.then((status) => (exited = status));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the agent exited during start-up (${exited})`);
    try {
      await client.getVersion({}, { timeoutMs: 2000 });
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`the agent did not answer GetVersion within ${READY_TIMEOUT_MS} ms`);
}

/** A running `fgs agent`, its client, its event stream and its log. */
export class Agent {
  readonly client: AgentClient;
  readonly events: EventLog;

  private constructor(
    private readonly child: ChildProcess,
    private readonly connection: ClientConnection,
    private readonly log: LogRing,
    private readonly exit: Promise<string>,
  ) {
    this.client = connection.client;
    this.events = new EventLog(this.client);
  }

  /**
   * Starts an agent and waits until it answers. `onLog` receives the log of
   * an agent that failed to start, since no Agent is returned then.
   */
  static async start(options: AgentOptions, onStartFailure: (log: string[]) => void): Promise<Agent> {
    rmSync(options.socketPath, { force: true });
    const args = ["agent", "--server-address", `unix:${options.socketPath}`, ...(options.args ?? [])];
    const child = spawn(options.fgs, args, { stdio: ["ignore", "pipe", "pipe"] });
    const log = new LogRing(child);
    const exit = exitOf(child);
    const connection = connectUnix(options.socketPath);
    try {
      await waitReady(connection.client, exit);
    } catch (e) {
      connection.close();
      child.kill("SIGKILL");
      await Promise.race([exit, sleep(1000)]);
      onStartFailure(log.lines);
      throw e;
    }
    return new Agent(child, connection, log, exit);
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
