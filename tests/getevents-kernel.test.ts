// GetEvents filters and the test sensor end to end: the real agent (dist/fgs)
// on the real kernel, read by the CLI (its filter flags) and by a gRPC client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventType, type GetEventsResponse } from "../gen/tetragon/tetragon_pb";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";

let agent: RunningAgent;
let dir: string;

beforeAll(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), "fgs-getevents-"));
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function subscribers(): Promise<number> {
  const h = await agent.client().getHealth({});
  return Number(/bus: subscribers=(\d+)/.exec(h.healthStatus[1]?.details ?? "")?.[1] ?? -1);
}

async function waitForSubscribers(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await subscribers()) < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} GetEvents streams`);
    await Bun.sleep(20);
  }
}

/** `fgs getevents ARGS -o json` in the background; lines parsed as JSON. */
function cli(...args: string[]): { events(): Record<string, unknown>[]; stop(): Promise<void> } {
  const proc = Bun.spawn([FGS, "getevents", "-o", "json", "--server-address", agent.address, ...args], { stdout: "pipe", stderr: "pipe" });
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) text += decoder.decode(chunk, { stream: true });
  })();
  return {
    events: () => text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      proc.kill();
      await proc.exited;
      await reading;
    },
  };
}

/** gRPC stream collected in the background. */
function grpc(request: Parameters<ReturnType<RunningAgent["client"]>["getEvents"]>[0]): { events: GetEventsResponse[]; stop(): void } {
  const abort = new AbortController();
  const events: GetEventsResponse[] = [];
  void (async () => {
    try {
      for await (const ev of agent.client().getEvents(request, { signal: abort.signal })) events.push(ev);
    } catch {
      // aborted
    }
  })();
  return { events, stop: () => abort.abort() };
}

const execArgs = (evs: Record<string, unknown>[]): string[] =>
  evs.flatMap((e) => {
    const p = (e.process_exec as { process?: { binary: string; arguments?: string } } | undefined)?.process;
    return p ? [`${p.binary.split("/").pop()} ${p.arguments ?? ""}`.trim()] : [];
  });

async function until(check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await Bun.sleep(50);
}

describe("filters on live events", () => {
  test("--pid-set follows descendants forked after the request, even when their parent already exited", async () => {
    // The root shell waits for a line on stdin so the stream can start first.
    const root = Bun.spawn(["/bin/sh", "-c", "read go; /bin/sh -c '(sleep 0.3; exec /bin/echo orphan-marker) & exit 0'; /bin/echo child-marker; sleep 1"], {
      stdin: "pipe",
      stdout: "ignore",
    });
    const before = await subscribers();
    const viaCli = cli("--pid-set", String(root.pid), "--event-types", "process_exec");
    const viaGrpc = grpc({ allowList: [{ pidSet: [root.pid], eventSet: [EventType.PROCESS_EXEC] }] });
    await waitForSubscribers(before + 2);
    Bun.spawn(["/bin/echo", "outsider-marker"]);
    root.stdin.write("go\n");
    root.stdin.end();
    await root.exited;
    await until(() => execArgs(viaCli.events()).includes("echo orphan-marker"));
    await Bun.sleep(300);
    await viaCli.stop();
    viaGrpc.stop();

    const seen = execArgs(viaCli.events());
    expect(seen).toContain("echo orphan-marker");
    expect(seen).toContain("echo child-marker");
    expect(seen).toContain("sleep 0.3");
    expect(seen).not.toContain("echo outsider-marker");
    const grpcSeen = viaGrpc.events.flatMap((e) =>
      e.event.case === "processExec" ? [`${e.event.value.process?.binary.split("/").pop()} ${e.event.value.process?.arguments}`] : [],
    );
    expect(grpcSeen).toEqual(expect.arrayContaining(["echo orphan-marker", "echo child-marker"]));
    expect(grpcSeen).not.toContain("echo outsider-marker");
  }, 30_000);

  test("--binary and --deny-event-types: only the exec of a uniquely named binary", async () => {
    const bin = join(dir, "fgs-marker-true");
    copyFileSync("/bin/true", bin);
    Bun.spawnSync(["chmod", "+x", bin]);
    const before = await subscribers();
    const stream = cli("--binary", "/fgs-marker-true$", "--deny-event-types", "process_exit");
    await waitForSubscribers(before + 1);
    Bun.spawnSync(["/bin/true", "not-this-one"]);
    Bun.spawnSync([bin, "first"]);
    Bun.spawnSync([bin, "second"]);
    await until(() => stream.events().length >= 2);
    await Bun.sleep(300);
    await stream.stop();
    const evs = stream.events();
    expect(evs.every((e) => e.process_exec !== undefined)).toBe(true);
    expect(execArgs(evs)).toEqual(["fgs-marker-true first", "fgs-marker-true second"]);
  }, 30_000);

  test("an invalid regex is refused by the agent with INVALID_ARGUMENT", async () => {
    let err: unknown;
    try {
      for await (const _ of agent.client().getEvents({ allowList: [{ binaryRegex: ["a(?!b)"] }] })) void _;
    } catch (e) {
      err = e;
    }
    expect(String(err)).toContain("invalid_argument");
    expect(String(err)).toContain('"a(?!b)"');
  });
});

describe("test sensor end to end", () => {
  test("enabled: a getppid() call reaches the client as a TEST event; disabled: nothing", async () => {
    const client = agent.client();
    expect((await client.listSensors({})).sensors.map((s) => s.name)).toContain("test");
    const before = await subscribers();
    const stream = grpc({ allowList: [{ eventSet: [EventType.TEST] }] });
    await waitForSubscribers(before + 1);
    const fromPid = (pid: number) => stream.events.filter((e) => e.event.case === "test" && e.event.value.arg0 === BigInt(pid));

    const quiet = Bun.spawn(["/bin/sh", "-c", "echo $PPID >/dev/null"]);
    await quiet.exited;
    await client.enableSensor({ name: "test" });
    try {
      const loud = Bun.spawn(["/bin/sh", "-c", "echo $PPID >/dev/null"]);
      await loud.exited;
      await until(() => fromPid(loud.pid).length > 0);
      expect(fromPid(loud.pid).length).toBe(1);
      const ev = fromPid(loud.pid)[0];
      expect(ev?.nodeName).not.toBe("");
      expect(Math.abs(Number(ev?.time?.seconds ?? 0n) - Date.now() / 1000)).toBeLessThan(30);
    } finally {
      await client.disableSensor({ name: "test" });
    }
    const after = Bun.spawn(["/bin/sh", "-c", "echo $PPID >/dev/null"]);
    await after.exited;
    await Bun.sleep(300);
    stream.stop();
    expect(fromPid(quiet.pid)).toEqual([]);
    expect(fromPid(after.pid)).toEqual([]);
  }, 30_000);
});

describe("sensor config over gRPC", () => {
  test("base sensor keys round-trip; errors name the allowed values", async () => {
    const client = agent.client();
    expect((await client.getSensorConfig({ name: "process", cfgkey: "argv-max-bytes" })).cfgval).toBe("4096");
    await client.setSensorConfig({ name: "process", cfgkey: "argv-max-bytes", cfgval: "128" });
    try {
      expect((await client.getSensorConfig({ name: "process", cfgkey: "argv-max-bytes" })).cfgval).toBe("128");
      const before = await subscribers();
      const stream = grpc({ allowList: [{ binaryRegex: ["/fgs-argv-true$"], eventSet: [EventType.PROCESS_EXEC] }] });
      await waitForSubscribers(before + 1);
      const bin = join(dir, "fgs-argv-true");
      copyFileSync("/bin/true", bin);
      Bun.spawnSync(["chmod", "+x", bin]);
      Bun.spawnSync([bin, "y".repeat(1000)]);
      await until(() => stream.events.length > 0);
      stream.stop();
      const p = stream.events[0]?.event.case === "processExec" ? stream.events[0].event.value.process : undefined;
      expect(p?.arguments.length).toBeLessThan(128);
      expect(p?.flags).toContain("truncArgs");
    } finally {
      await client.setSensorConfig({ name: "process", cfgkey: "argv-max-bytes", cfgval: "4096" });
    }
    const errors: [string, string, string, string][] = [
      ["process", "argv-max-bytes", "99999", "64..16384"],
      ["process", "ancestors", "maybe", "true, false"],
      ["process", "no-such-key", "1", "ancestors, argv-max-bytes, cwd"],
      ["no-such-sensor", "cwd", "true", "not_found"],
    ];
    for (const [name, cfgkey, cfgval, wanted] of errors) {
      const err = await client.setSensorConfig({ name, cfgkey, cfgval }).catch((e: unknown) => e);
      expect(String(err)).toContain(name === "process" ? "invalid_argument" : "not_found");
      expect(String(err)).toContain(wanted);
    }
  }, 30_000);
});
