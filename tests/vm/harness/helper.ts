import { spawn } from "node:child_process";

export interface HelperRun {
  readonly pid: number;
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal name (SIGKILL) when a signal ended it. */
  readonly signal: string | null;
  readonly output: string;
}

/** Runs a program to completion, keeping its pid and combined output. */
export function runProgram(path: string, args: readonly string[], cwd: string): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const pid = child.pid;
      if (pid === undefined) return reject(new Error(`${path} did not start`));
      resolve({ pid, code, signal, output: Buffer.concat(chunks).toString("utf8").trim() });
    });
  });
}
