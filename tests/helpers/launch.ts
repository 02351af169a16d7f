/** The one way to start `fgs agent`: the tests (helpers/agent.ts), the kernel
 * matrix (vm/harness) and the benchmarks (bench/lib/agent.ts) all launch it here. */
import { spawn, type Subprocess } from "bun";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const FGS = join(ROOT, "dist", "fgs");

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
 * address it bound); kills it if it exits or stays silent instead. */
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

