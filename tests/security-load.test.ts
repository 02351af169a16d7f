// Issue 11, item 3 (a large policy blinded the agent): loading a policy with
// the most hooks the limits allow runs the verifier off the event loop, so a
// GetEvents stream keeps receiving exec events while it loads; past the hook
// budget a policy is refused with the limit named.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventType } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";

let agent: RunningAgent;
const dir = mkdtempSync(join(tmpdir(), "fgs-load-"));
const marker = join(dir, "load-window-true");
copyFileSync("/bin/true", marker);

beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const HOOKS_PER_POLICY = 32;
const SYSCALLS = readdirSync("/sys/kernel/tracing/events/syscalls")
  .filter((e) => e.startsWith("sys_enter_"))
  .map((e) => e.slice("sys_enter_".length))
  .sort();

function policyDocs(prefix: string, documents: number): string {
  const docs: string[] = [];
  for (let d = 0; d < documents; d++) {
    const calls = SYSCALLS.slice(d * HOOKS_PER_POLICY, (d + 1) * HOOKS_PER_POLICY);
    const hooks = calls.map((c) => `  - call: sys_${c}\n    syscall: true\n    selectors:\n    - matchPIDs:\n      - operator: In\n        values: [1]`).join("\n");
    docs.push(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: ${prefix}-${d}\nspec:\n  kprobes:\n${hooks}\n`);
  }
  return docs.join("---\n");
}

describe("policy load and event delivery", () => {
  test("a stream keeps receiving exec events while 64 hooks load", async () => {
    const client = agent.client();
    const abort = new AbortController();
    const received: number[] = [];
    let loading = false;
    let duringLoad = 0;
    const stream = (async () => {
      try {
        for await (const ev of client.getEvents({ allowList: [{ eventSet: [EventType.PROCESS_EXEC], binaryRegex: ["load-window-true$"] }] }, { signal: abort.signal })) {
          if (ev.event.case !== "processExec") continue;
          received.push(Date.now());
          if (loading) duringLoad++;
        }
      } catch {
        // aborted
      }
    })();
    for (let i = 0; i < 100 && received.length === 0; i++) {
      await Bun.spawn([marker]).exited;
      await Bun.sleep(100);
    }
    expect(received.length).toBeGreaterThan(0);

    loading = true;
    const started = Date.now();
    let spawned = 0;
    const add = client.addTracingPolicy({ yaml: policyDocs("big", 2) }).finally(() => (loading = false));
    const execs = (async () => {
      while (loading) {
        await Bun.spawn([marker]).exited;
        spawned++;
        await Bun.sleep(20);
      }
    })();
    await add;
    await execs;
    const tookMs = Date.now() - started;
    console.log(`64 hooks loaded in ${tookMs} ms; ${spawned} execs meanwhile, ${duringLoad} exec events delivered during the load`);
    expect(spawned).toBeGreaterThan(10);
    expect(duringLoad).toBeGreaterThanOrEqual(Math.floor(spawned / 2));
    abort.abort();
    await stream;
    const sensors = (await client.listSensors({})).sensors.map((x) => x.name);
    expect(sensors).toContain("big-0");
    expect(sensors).toContain("big-1");
    for (let d = 0; d < 2; d++) await client.deleteTracingPolicy({ yaml: `big-${d}` });
  }, 180_000);

  test("past the hook budget a policy is refused, naming the limit", async () => {
    // 5 documents of 32 hooks: 160 > hooksTotal (128); refused before any load.
    const started = Date.now();
    const err = await agent.client().addTracingPolicy({ yaml: policyDocs("more", 5) }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).message).toContain("hooksTotal");
    expect((await agent.client().listSensors({})).sensors.map((x) => x.name).filter((n) => n.startsWith("more-"))).toEqual([]);
  }, 120_000);
});
