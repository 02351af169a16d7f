import { spawn, type Subprocess } from "bun";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../gen/tetragon/tetragon_pb";

import { ROOT } from "./build";

export { ROOT };
export const FGS = join(ROOT, "dist", "fgs");

export interface RunningAgent {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** host:port or unix:/path as the agent logged it. */
  address: string;
  baseUrl: string;
  /** Everything the agent wrote to stderr so far (JSON log lines). */
  log(): string;
  client(): Client<typeof FineGuidanceSensors>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

function requireBuild(): void {
  if (!existsSync(FGS)) throw new Error(`${FGS} is missing: run 'bun run build' first (scripts/test.sh does)`);
}

async function collect(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    lines.forEach(onLine);
  }
  if (partial) onLine(partial);
}

export interface LaunchOptions {
  /** The fgs executable (default dist/fgs). */
  readonly fgs?: string;
  /** `fgs agent` flags; --server-address is required (port 0 is fine). */
  readonly args: readonly string[];
  readonly timeoutMs?: number;
  /** Every line the agent writes, stdout and stderr. */
  onLine?(line: string): void;
}

export interface LaunchedAgent {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** host:port or unix:/path as the agent logged it. */
  readonly address: string;
}

/** Starts `fgs agent` and resolves once it logs that it serves (with the
 * address it bound); kills it if it exits or stays silent instead. The one
 * way tests, the kernel matrix and their helpers start an agent. */
export async function launchAgent(options: LaunchOptions): Promise<LaunchedAgent> {
  const fgs = options.fgs ?? FGS;
  const timeoutMs = options.timeoutMs ?? 20000;
  const proc = spawn([fgs, "agent", ...options.args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const seen: string[] = [];
  let resolveReady: (addr: string) => void = () => {};
  const ready = new Promise<string>((r) => (resolveReady = r));
  const onLine = (line: string) => {
    seen.push(line);
    options.onLine?.(line);
    if (line.includes('"serving FineGuidanceSensors"')) resolveReady((JSON.parse(line) as { address: string }).address);
  };
  void collect(proc.stderr, onLine);
  void collect(proc.stdout, onLine);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    void proc.exited.then((code) => reject(new Error(`agent exited with ${code} before serving:\n${seen.join("\n")}`)));
    timer = setTimeout(() => reject(new Error(`agent did not serve within ${timeoutMs} ms:\n${seen.join("\n")}`)), timeoutMs);
  });
  try {
    return { proc, address: await Promise.race([ready, failed]) };
  } catch (e) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `dist/fgs agent` on a random loopback port and waits until it serves. */
export async function startAgent(extraArgs: string[] = [], timeoutMs = 20000): Promise<RunningAgent> {
  requireBuild();
  const address = extraArgs.includes("--server-address") ? [] : ["--server-address", "127.0.0.1:0"];
  const stderr: string[] = [];
  const { proc, address: served } = await launchAgent({
    args: [...address, "--log-level", "debug", ...extraArgs],
    timeoutMs,
    onLine: (line) => void stderr.push(line),
  });
  const baseUrl = served.startsWith("unix:") ? "http://localhost" : `http://${served}`;
  return {
    proc,
    address: served,
    baseUrl,
    log: () => stderr.map((l) => `${l}\n`).join(""),
    client: () => createClient(FineGuidanceSensors, createGrpcTransport({ baseUrl })),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

/** Runs `dist/fgs agent ARGS` that is expected to exit (a usage error, a
 * refusal at start, --help); killed after timeoutMs if it serves instead. */
export function runAgentToExit(args: readonly string[], timeoutMs = 30_000): SpawnSyncReturns<string> {
  requireBuild();
  return spawnSync(FGS, ["agent", ...args], { encoding: "utf8", timeout: timeoutMs });
}

export async function withAgent<T>(fn: (agent: RunningAgent) => Promise<T>, extraArgs: string[] = []): Promise<T> {
  const agent = await startAgent(extraArgs);
  try {
    return await fn(agent);
  } finally {
    await agent.stop();
  }
}
