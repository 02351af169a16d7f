import type { Subprocess } from "bun";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync } from "node:fs";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../gen/tetragon/tetragon_pb";

import { FGS, launchAgent, ROOT } from "./launch";

export { FGS, launchAgent, ROOT };
export type { LaunchedAgent, LaunchOptions } from "./launch";

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
