import { spawn, type Subprocess } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FineGuidanceSensors } from "../../gen/tetragon/tetragon_pb";

export const ROOT = join(import.meta.dir, "..", "..");
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

async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }, onLine: (l: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    sink.text += text;
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    lines.forEach(onLine);
  }
}

/** Starts `dist/fgs agent` on a random loopback port and waits until it serves. */
export async function startAgent(extraArgs: string[] = [], timeoutMs = 20000): Promise<RunningAgent> {
  requireBuild();
  const address = extraArgs.includes("--server-address") ? [] : ["--server-address", "127.0.0.1:0"];
  const proc = spawn([FGS, "agent", ...address, "--log-level", "debug", ...extraArgs], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = { text: "" };
  let resolveReady: (addr: string) => void = () => {};
  const ready = new Promise<string>((r) => (resolveReady = r));
  void collect(proc.stderr, stderr, (line) => {
    if (!line.includes('"serving FineGuidanceSensors"')) return;
    resolveReady((JSON.parse(line) as { address: string }).address);
  });
  void collect(proc.stdout, { text: "" }, () => {});
  const exited = proc.exited.then((code) => {
    throw new Error(`agent exited with ${code} before serving:\n${stderr.text}`);
  });
  const timeout = Bun.sleep(timeoutMs).then(() => {
    throw new Error(`agent did not serve within ${timeoutMs} ms:\n${stderr.text}`);
  });
  const served = await Promise.race([ready, exited, timeout]);
  const baseUrl = served.startsWith("unix:") ? "http://localhost" : `http://${served}`;
  return {
    proc,
    address: served,
    baseUrl,
    log: () => stderr.text,
    client: () => createClient(FineGuidanceSensors, createGrpcTransport({ baseUrl })),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

export async function withAgent<T>(fn: (agent: RunningAgent) => Promise<T>, extraArgs: string[] = []): Promise<T> {
  const agent = await startAgent(extraArgs);
  try {
    return await fn(agent);
  } finally {
    await agent.stop();
  }
}
