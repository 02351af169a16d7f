import { spawn } from "node:child_process";

export interface HelperRun {
  readonly pid: number;
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal name (SIGKILL) when a signal ended it. */
  readonly signal: string | null;
  readonly output: string;
}

export interface RunningProgram {
  readonly pid: number;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when it has exited. */
  readonly done: Promise<HelperRun>;
}

/** Starts a program, keeping its pid and combined output. */
export function startProgram(path: string, args: readonly string[], cwd: string): RunningProgram {
  const child = spawn(path, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${path} did not start`);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.stderr.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<HelperRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      resolve({ pid, code, signal, output: Buffer.concat(chunks).toString("utf8").trim() });
    });
  });
  return { pid, kill: (signal) => child.kill(signal), done };
}

/** Runs a program to completion. */
export function runProgram(path: string, args: readonly string[], cwd: string): Promise<HelperRun> {
  return startProgram(path, args, cwd).done;
}
