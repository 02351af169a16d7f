// Issue 14 / 11, export file: every option against a real agent, rotation under
// a running storm with the line counts adding up, a planted symlink, and a
// full disk (small tmpfs) with resume and no cut line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { HealthStatusResult } from "../gen/tetragon/tetragon_pb";
import { runAgentToExit, startAgent, type RunningAgent } from "./helpers/agent";
import { sampleValue, scrape } from "./helpers/prometheus";

let dir: string;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("export tests need root (they run the agent and mount a tmpfs)");
  dir = mkdtempSync(join(tmpdir(), "fgs-export-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of /bin/true with a unique name: its events are easy to pick out. */
function marker(name: string): string {
  const path = join(dir, name);
  copyFileSync("/bin/true", path);
  return path;
}

/** Runs `bin` N times from one shell (fast), with the given argument. */
function runMany(bin: string, n: number, arg = "x"): void {
  const r = spawnSync("/bin/sh", ["-c", `i=0; while [ $i -lt ${n} ]; do "${bin}" "${arg}"; i=$((i+1)); done`], { timeout: 120_000 });
  expect(r.status).toBe(0);
}

interface Line {
  process_exec?: { process?: { binary?: string; arguments?: string; exec_id?: string; pid?: number } };
  process_exit?: { process?: { binary?: string; exec_id?: string } };
  node_name?: string;
  time?: string;
}

/** Every line of the export file and its backups (gunzipped), each parsed: a cut line throws. */
function exportLines(path: string): Line[] {
  const d = join(path, "..");
  const base = path.split("/").pop() as string;
  const files = readdirSync(d).filter((f) => f === base || f.startsWith(`${base}.`));
  const text = files.map((f) => {
    const raw = readFileSync(join(d, f));
    return f.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  });
  return text.flatMap((t) => {
    if (t.length > 0) expect(t.endsWith("\n")).toBe(true);
    return t.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Line);
  });
}

const binaryOf = (l: Line) => l.process_exec?.process?.binary ?? l.process_exit?.process?.binary;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function withExportAgent(args: string[], fn: (a: RunningAgent) => Promise<void>): Promise<void> {
  const a = await startAgent(args);
  try {
    await fn(a);
  } finally {
    await a.stop();
  }
}

const allowBinary = (bin: string) => JSON.stringify([{ binary_regex: [`^${bin}$`] }]);

describe("file safety", () => {
  test("the file is 0600 by default (whatever the umask or an older file's mode) and --export-file-perm sets another mode", async () => {
    const path = join(dir, "perm.log");
    const bin = marker("perm-marker");
    const old = join(dir, "old-mode.log");
    writeFileSync(old, "", { mode: 0o644 });
    const umask = process.umask(0); // inherited by the agent
    try {
      await withExportAgent(["--export-file", old], async () => expect(statSync(old).mode & 0o777).toBe(0o600));
    } finally {
      process.umask(umask);
    }
    await withExportAgent(["--export-file", path, "--export-allowlist", allowBinary(bin)], async () => {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      runMany(bin, 3);
      await waitFor("3 exec lines", () => exportLines(path).filter((l) => l.process_exec).length === 3);
    });
    const path2 = join(dir, "perm2.log");
    await withExportAgent(["--export-file", path2, "--export-file-perm", "0640"], async () => {
      expect(statSync(path2).mode & 0o777).toBe(0o640);
    });
    const bad = runAgentToExit(["--export-file", path2, "--export-file-perm", "666"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--export-file-perm: a world-writable export file is refused");
  });

  test("a planted symlink at the export path is never followed", async () => {
    const victim = join(dir, "root-only");
    writeFileSync(victim, "secret\n", { mode: 0o600 });
    const link = join(dir, "planted.log");
    symlinkSync(victim, link);
    const r = runAgentToExit(["--server-address", "127.0.0.1:0", "--export-file", link]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("is a symbolic link; refusing to follow it");
    expect(readFileSync(victim, "utf8")).toBe("secret\n");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test("export options without --export-file, and malformed values, are usage errors", () => {
    const cases: [string[], string][] = [
      [["--export-rate-limit", "10"], "--export-rate-limit needs --export-file"],
      [["--export-file", "/tmp/x", "--export-allowlist", "{nope"], "--export-allowlist: filter 0:"],
      [["--export-file", "/tmp/x", "--export-allowlist", '[{"binary_regex":["("]}]'], "--export-allowlist:"],
      [["--export-file", "/tmp/x", "--export-redact", "(?<=x)"], "--export-redact:"],
      [["--export-file", "/tmp/x", "--export-file-rotation-interval", "soon"], "--export-file-rotation-interval: expected a duration"],
      [["--export-file", "/tmp/x", "--export-field-filters", '[{"fields":"process.pid","action":"KEEP"}]'], "--export-field-filters: filter 0:"],
    ];
    for (const [args, message] of cases) {
      const r = runAgentToExit(args);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toContain(message);
    }
  });
});

describe("what is exported", () => {
  test("allow and deny lists use GetEvents' filter JSON", async () => {
    const path = join(dir, "lists.log");
    const keep = marker("keep-marker");
    const deny = marker("deny-marker");
    const other = marker("other-marker");
    const allow = JSON.stringify([{ binary_regex: [`^${keep}$`, `^${deny}$`] }]);
    const denyList = JSON.stringify({ binary_regex: [`^${deny}$`] });
    await withExportAgent(["--export-file", path, "--export-allowlist", allow, "--export-denylist", denyList], async () => {
      runMany(other, 2);
      runMany(deny, 2);
      runMany(keep, 4);
      await waitFor("keep lines", () => exportLines(path).length >= 8);
      await Bun.sleep(300);
      const lines = exportLines(path);
      expect(new Set(lines.map(binaryOf))).toEqual(new Set([keep]));
      expect(lines.filter((l) => l.process_exec)).toHaveLength(4);
      expect(lines.filter((l) => l.process_exit)).toHaveLength(4);
    });
  });

  test("the rate limit drops and counts what is over it", async () => {
    const path = join(dir, "rate.log");
    const bin = marker("rate-marker");
    await withExportAgent(["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-rate-limit", "10", "--metrics-address", "127.0.0.1:0"], async (a) => {
      runMany(bin, 20);
      await Bun.sleep(1000);
      const lines = exportLines(path);
      expect(lines.length).toBeGreaterThanOrEqual(10);
      expect(lines.length).toBeLessThanOrEqual(11); // a token may refill meanwhile
      const url = metricsUrl(a);
      const dropped = sampleValue(await scrape(url), "tetragon_export_ratelimit_events_dropped_total");
      expect(dropped + lines.length).toBe(40);
      const health = await a.client().getHealth({});
      expect(health.healthStatus.map((st) => st.details).join("; ")).toContain(`dropped_rate_limit=${dropped}`);
    });
  });

  test("field filters keep or drop fields per event type", async () => {
    const path = join(dir, "fields.log");
    const bin = marker("fields-marker");
    const filters = JSON.stringify([
      { event_set: ["PROCESS_EXEC"], fields: "process.binary,process.arguments", action: "INCLUDE" },
      { event_set: ["PROCESS_EXIT"], fields: "process.pid,parent", action: "EXCLUDE" },
    ]);
    await withExportAgent(["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-field-filters", filters], async () => {
      runMany(bin, 2, "field-arg");
      await waitFor("4 lines", () => exportLines(path).length >= 4);
      const lines = exportLines(path);
      for (const l of lines.filter((x) => x.process_exec)) {
        expect(l.process_exec).toEqual({ process: { binary: bin, arguments: "field-arg" } });
        expect(typeof l.node_name).toBe("string");
        expect(typeof l.time).toBe("string");
      }
      for (const l of lines.filter((x) => x.process_exit)) {
        const exit = l.process_exit as { process?: Record<string, unknown>; parent?: unknown };
        expect(exit.process?.pid).toBeUndefined();
        expect(exit.process?.binary).toBe(bin);
        expect(exit.parent).toBeUndefined();
      }
    });
  });

  test("redaction replaces RE2 matches, or their groups, in arguments with *****", async () => {
    const path = join(dir, "redact.log");
    const bin = marker("redact-marker");
    const args = ["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-redact", "--password[= ](\\S+)", "--export-redact", "tok_[a-z0-9]+"];
    await withExportAgent(args, async () => {
      runMany(bin, 1, "--user bob --password hunter2 --key tok_abc123 end");
      await waitFor("2 lines", () => exportLines(path).length >= 2);
      const exec = exportLines(path).find((l) => l.process_exec);
      expect(exec?.process_exec?.process?.arguments).toBe("--user bob --password ***** --key ***** end");
      expect(readFileSync(path, "utf8")).not.toContain("hunter2");
    });
  });
});

function metricsUrl(a: RunningAgent): string {
  const line = a.log().split("\n").find((l) => l.includes('"serving metrics"'));
  if (!line) throw new Error("no metrics address logged");
  return `http://${(JSON.parse(line) as { address: string }).address}/metrics`;
}

describe("rotation", () => {
  test("size rotation with gzip under a running storm: lines across files equal what a gRPC client saw, none twice", async () => {
    const sub = join(dir, "rot");
    mkdirSync(sub);
    const path = join(sub, "events.log");
    const bin = marker("storm-marker");
    const N = 1500;
    const longArg = "a".repeat(700);
    await withExportAgent(["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-file-max-size-mb", "1", "--export-file-max-backups", "0", "--export-file-compress"], async (a) => {
      const abort = new AbortController();
      let seen = 0;
      const reading = (async () => {
        try {
          for await (const ev of a.client().getEvents({ allowList: [{ binaryRegex: [`^${bin}$`] }] }, { signal: abort.signal })) if (ev.event.case) seen++;
        } catch {
          /* aborted */
        }
      })();
      await Bun.sleep(300);
      runMany(bin, N, longArg);
      await waitFor("the client to see every event", () => seen >= 2 * N, 30_000);
      await waitFor("the file lines to add up", () => exportLines(path).length >= 2 * N, 30_000);
      await Bun.sleep(500);
      abort.abort();
      await reading;
      const lines = exportLines(path);
      expect(seen).toBe(2 * N);
      expect(lines.length).toBe(seen);
      const ids = lines.map((l) => `${l.process_exec ? "exec" : "exit"}:${l.process_exec?.process?.exec_id ?? l.process_exit?.process?.exec_id}`);
      expect(new Set(ids).size).toBe(ids.length);
      const files = readdirSync(sub);
      expect(files.filter((f) => f.endsWith(".gz")).length).toBeGreaterThanOrEqual(2);
      for (const f of files) expect(statSync(join(sub, f)).mode & 0o777).toBe(0o600);
      for (const f of files.filter((x) => x !== "events.log")) expect(statSync(join(sub, f)).size).toBeLessThanOrEqual(1 << 20);
    });
  });

  test("time rotation and --export-file-max-backups prune the oldest files", async () => {
    const sub = join(dir, "time");
    mkdirSync(sub);
    const path = join(sub, "events.log");
    const bin = marker("time-marker");
    await withExportAgent(["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-file-rotation-interval", "1s", "--export-file-max-backups", "2"], async () => {
      for (let i = 0; i < 5; i++) {
        runMany(bin, 2);
        await Bun.sleep(1100);
      }
      // Pruning follows each rotation asynchronously: wait for it, bounded.
      const listBackups = () => readdirSync(sub).filter((f) => f !== "events.log");
      await waitFor("pruning to 2 backups", () => listBackups().length === 2);
      const backups = listBackups();
      expect(backups).toHaveLength(2);
      for (const b of backups) expect(b).toMatch(/^events\.log\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z(-\d+)?$/);
    });
  });
});

describe("disk full", () => {
  test("ENOSPC: health and metrics say so, the API keeps serving, writing resumes with no cut or repeated line", async () => {
    const mnt = join(dir, "small");
    mkdirSync(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mnt], { encoding: "utf8" });
    if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
    try {
      const filler = join(mnt, "filler");
      spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k", "count=1000"]);
      const path = join(mnt, "events.log");
      const bin = marker("full-marker");
      const longArg = "b".repeat(300);
      const args = ["--export-file", path, "--export-allowlist", allowBinary(bin), "--export-file-max-size-mb", "0", "--metrics-address", "127.0.0.1:0"];
      await withExportAgent(args, async (a) => {
        const url = metricsUrl(a);
        runMany(bin, 200, longArg);
        await waitFor("the exporter to report the full disk", async () => sampleValue(await scrape(url), "fgs_export_blocked") === 1);
        const health = (await a.client().getHealth({})).healthStatus;
        expect(health[0]?.status).toBe(HealthStatusResult.HEALTH_STATUS_ERROR);
        expect(health.map((st) => st.details).join("; ")).toContain("BLOCKED (ENOSPC");
        // The API keeps serving: a stream still gets fresh events.
        const seenOne = (async () => {
          for await (const ev of a.client().getEvents({ allowList: [{ binaryRegex: [`^${bin}$`] }] })) if (ev.event.case === "processExec") return true;
          return false;
        })();
        await Bun.sleep(200);
        runMany(bin, 1, longArg);
        expect(await seenOne).toBe(true);
        const partial = exportLines(path); // every line parses: none was cut
        expect(partial.length).toBeLessThan(400);
        rmSync(filler);
        await waitFor("writing to resume", async () => sampleValue(await scrape(url), "fgs_export_blocked") === 0);
        await waitFor("all held lines", () => exportLines(path).length >= 402);
        const lines = exportLines(path);
        expect(lines).toHaveLength(402);
        const ids = lines.map((l) => `${l.process_exec ? "exec" : "exit"}:${l.process_exec?.process?.exec_id ?? l.process_exit?.process?.exec_id}`);
        expect(new Set(ids).size).toBe(402);
        expect((await a.client().getHealth({})).healthStatus[0]?.status).toBe(HealthStatusResult.HEALTH_STATUS_RUNNING);
        expect(a.log()).toContain("export file writable again; resumed");
      });
    } finally {
      spawnSync("umount", [mnt]);
    }
  });
});

describe("falling behind", () => {
  test("a stream overflow is counted and the export carries on (real bus, real file)", async () => {
    const { create } = await import("@bufbuild/protobuf");
    const { GetEventsResponseSchema, ProcessExecSchema, ProcessSchema } = await import("../gen/tetragon/tetragon_pb");
    const { EventBus } = await import("../src/bus/index");
    const { FileExporter } = await import("../src/export/exporter");
    const { exportConfig } = await import("../src/export/options");
    const { createLogger } = await import("../src/log/logger");
    const log = createLogger({ write: () => {} }, "debug");
    const path = join(dir, "overflow.log");
    const bus = new EventBus();
    const config = { ...exportConfig({ path, compress: false, redact: [] }), queueCapacity: 10 };
    const exporter = await FileExporter.start(config, bus, log);
    const ev = (i: number) => create(GetEventsResponseSchema, { event: { case: "processExec", value: create(ProcessExecSchema, { process: create(ProcessSchema, { pid: i, binary: "/x" }) }) } });
    await Bun.sleep(50);
    for (let i = 0; i < 100; i++) bus.publish(ev(i)); // no await: the exporter cannot read meanwhile
    await Bun.sleep(200);
    for (let i = 100; i < 105; i++) bus.publish(ev(i));
    await waitFor("the events after the overflow", () => existsSync(path) && readFileSync(path, "utf8").includes('"pid":104'));
    const s = exporter.stats();
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(s.droppedOverflow).toBeGreaterThan(0);
    // The bus drops and counts on the exporter's queue: nothing goes unseen.
    expect(s.written + s.droppedOverflow).toBe(105);
    expect(s.written).toBeGreaterThanOrEqual(5);
    expect(lines).toHaveLength(s.written);
    bus.close();
    await exporter.stop();
  });
});
