// The runtime's floor for a batched event stream: a Bun process that does
// nothing but what every batch of the agent needs at the least (a timer
// wake-up and one HTTP/2 write of the batch's bytes to a reading client),
// with no ring, no decoding and no encoding. Run beside the agent at the same
// batch interval and bytes, it shows how much of the agent's CPU under a
// steady trickle is the runtime's and how much is the agent's own work.
//
//   bun bench/lib/batch-floor.ts serve <interval ms> <messages per batch> <message bytes> <seconds> [<client window bytes>]
// prints one line: {"cpuPct":…,"batches":…,"usPerBatch":…}. The client is
// grpc-js in its own process, like the bench's agent client (grpc-js's
// 64 KiB window unless given), so HTTP/2 flow control (the client's window
// updates, each a wake-up) costs the floor what it costs the agent.
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { cpuSeconds } from "./proc";

const SELF = fileURLToPath(import.meta.url);

/** Runs the floor in its own process (its CPU is what is measured). */
export async function batchFloor(intervalMs: number, messages: number, size: number, seconds: number, window = 0): Promise<BatchFloor> {
  const p = Bun.spawn([process.execPath, SELF, "serve", String(intervalMs), String(Math.max(1, Math.round(messages))), String(Math.round(size)), String(seconds), String(window)], { stdout: "pipe", stderr: "inherit" });
  const stuck = setTimeout(() => p.kill(), (seconds + 30) * 1000);
  const out = await new Response(p.stdout).text();
  const code = await p.exited;
  clearTimeout(stuck);
  if (code !== 0) throw new Error(`batch floor exited with ${code}${p.signalCode ? ` (${p.signalCode})` : ""}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "") as BatchFloor;
}

export interface BatchFloor {
  cpuPct: number;
  batches: number;
  usPerBatch: number;
}

const WARM_MS = 2000;

/** `count` gRPC messages of `size` bytes each, framed ([0][u32 length][bytes]). */
function framedBatch(count: number, size: number): Buffer {
  const out = Buffer.alloc(count * (5 + size), 0x5a);
  for (let i = 0; i < count; i++) {
    out[i * (5 + size)] = 0;
    out.writeUInt32BE(size, i * (5 + size) + 1);
  }
  return out;
}

/** Serves one stream of a batch every `intervalMs` and measures itself over `seconds` after a warm-up. */
async function serve(intervalMs: number, messages: number, size: number, seconds: number, window: number): Promise<BatchFloor> {
  const chunk = framedBatch(messages, size);
  let write: (() => void) | undefined;
  const server = http2.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/grpc" });
    write = () => void res.write(chunk, () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const client = Bun.spawn([process.execPath, SELF, "read", String(port), String(window)], { stdout: "ignore", stderr: "inherit" });
  while (write === undefined) await Bun.sleep(10);
  let batches = 0;
  const tick = (): void => {
    batches++;
    write?.();
    timer = setTimeout(tick, intervalMs);
  };
  let timer = setTimeout(tick, intervalMs);
  await Bun.sleep(WARM_MS);
  const [c0, b0] = [cpuSeconds(process.pid), batches];
  await Bun.sleep(seconds * 1000);
  const [c1, b1] = [cpuSeconds(process.pid), batches];
  clearTimeout(timer);
  client.kill();
  server.close();
  const cpuS = c1 - c0;
  const n = b1 - b0;
  return { cpuPct: (cpuS / seconds) * 100, batches: n, usPerBatch: n > 0 ? (cpuS * 1e6) / n : Number.NaN };
}

/** The client: reads the stream's messages and drops them. */
function read(port: number, window: number): void {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), window ? { "grpc-node.flow_control_window": window } : {});
  const call = client.makeServerStreamRequest<null, number>("/floor.Floor/Stream", () => Buffer.alloc(0), (b: Buffer) => b.length, null);
  call.on("data", () => {});
  call.on("error", () => {});
}

if (import.meta.main) {
  const [mode, a, b, c, d, e] = process.argv.slice(2);
  if (mode === "read") read(Number(a), Number(b ?? 0));
  else if (mode === "serve") {
    const r = await serve(Number(a), Number(b), Number(c), Number(d), Number(e ?? 0));
    console.log(JSON.stringify(r));
    process.exit(0);
  } else {
    console.error("usage: batch-floor.ts serve <interval ms> <messages> <message bytes> <seconds> [<window>] | read <port> [<window>]");
    process.exit(2);
  }
}
