import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { CONFIG, CONFIG_NO_CWD, type ExecRecord } from "../src/decode/process";
import {
  ARGV_DEFAULT_BYTES,
  ARGV_MAX_BYTES,
  baseSensorConfig,
  kernelConfigSettings,
  memorySetting,
} from "../src/sensors/base-config";
import { SensorManager } from "../src/sensors/manager";
import type { Sensor } from "../src/sensors/sensor";
import { ROOT } from "./helpers/build";
import { ProcessProbe } from "./helpers/process-kernel";

function sensorWith(config: Sensor["config"]): Sensor {
  return {
    name: "process",
    enabled: true,
    removable: false,
    enable: async () => {},
    disable: async () => {},
    remove: async () => {},
    config,
  };
}

async function connectError(p: Promise<unknown> | (() => unknown)): Promise<ConnectError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof ConnectError) return e;
    throw e;
  }
  throw new Error("expected a ConnectError");
}

describe("base sensor config keys", () => {
  const writes: Uint8Array[] = [];
  const kernel = kernelConfigSettings({ update: (_k, v) => void writes.push(v.slice()) });
  const ancestors = memorySetting(false);
  const manager = new SensorManager();
  manager.add(sensorWith(baseSensorConfig({ ancestors, ...kernel })));

  test("defaults, round trips, and kernel writes", async () => {
    expect(manager.getConfig("process", "ancestors")).toBe("false");
    expect(manager.getConfig("process", "argv-max-bytes")).toBe(String(ARGV_DEFAULT_BYTES));
    expect(manager.getConfig("process", "cwd")).toBe("true");
    await manager.setConfig("process", "ancestors", "true");
    await manager.setConfig("process", "argv-max-bytes", "256");
    await manager.setConfig("process", "cwd", "false");
    expect(ancestors.get()).toBe(true);
    expect(manager.getConfig("process", "argv-max-bytes")).toBe("256");
    expect(manager.getConfig("process", "cwd")).toBe("false");
    const last = new DataView((writes.at(-1) as Uint8Array).buffer);
    expect(last.getUint32(CONFIG.max_argv_bytes, true)).toBe(256);
    expect(last.getUint32(CONFIG.flags, true)).toBe(CONFIG_NO_CWD);
  });

  test("unknown key: invalid_argument listing the keys", async () => {
    const e = await connectError(() => manager.getConfig("process", "nope"));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toContain("ancestors, argv-max-bytes, cwd");
  });

  test("bad values: invalid_argument with the allowed values; nothing changes", async () => {
    for (const [key, value, allowed] of [
      ["ancestors", "yes", "true, false"],
      ["cwd", "", "true, false"],
      ["argv-max-bytes", "12", `64..${ARGV_MAX_BYTES}`],
      ["argv-max-bytes", String(ARGV_MAX_BYTES + 1), `64..${ARGV_MAX_BYTES}`],
      ["argv-max-bytes", "1e3", `64..${ARGV_MAX_BYTES}`],
      ["argv-max-bytes", "-100", `64..${ARGV_MAX_BYTES}`],
    ] as const) {
      const before = manager.getConfig("process", key);
      const e = await connectError(manager.setConfig("process", key, value));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toContain(allowed);
      expect(manager.getConfig("process", key)).toBe(before);
    }
  });

  test("unknown sensor: not_found", async () => {
    expect((await connectError(() => manager.getConfig("nope", "cwd"))).code).toBe(Code.NotFound);
  });

  test("limits agree with bpf/process.h", () => {
    const header = readFileSync(join(ROOT, "bpf", "process.h"), "utf8");
    const define = (name: string) => Number(new RegExp(`#define ${name}\\s+(\\d+)`).exec(header)?.[1]);
    expect(define("FGS_ARGS_DEFAULT")).toBe(ARGV_DEFAULT_BYTES);
    expect(define("FGS_ARGS_MAX")).toBe(ARGV_MAX_BYTES);
  });
});

describe("base sensor config on the kernel", () => {
  let probe: ProcessProbe;
  beforeAll(() => {
    probe = ProcessProbe.start();
  });
  afterAll(async () => {
    await probe.stop();
  });

  async function execRecord(args: string[]): Promise<ExecRecord> {
    const child = Bun.spawn(["/bin/true", ...args]);
    await child.exited;
    const rec = await probe.waitFor((r) => r.op === 1 && r.tgid === child.pid, 5000, `exec of ${child.pid}`);
    return rec as ExecRecord;
  }

  test("argv-max-bytes and cwd change what the kernel captures", async () => {
    const manager = new SensorManager();
    const kernel = kernelConfigSettings(probe.map("fgs_config"));
    manager.add(sensorWith(baseSensorConfig({ ancestors: memorySetting(false), ...kernel })));
    const long = "x".repeat(1000);

    const full = await execRecord([long]);
    expect(full.argv.join(" ").length).toBeGreaterThan(1000);
    expect(full.cwd).not.toBe("");

    await manager.setConfig("process", "argv-max-bytes", "128");
    await manager.setConfig("process", "cwd", "false");
    const cut = await execRecord([long]);
    expect(cut.argv.join("\0").length).toBeLessThanOrEqual(128);
    expect(cut.cwd).toBe("");

    await manager.setConfig("process", "argv-max-bytes", String(ARGV_DEFAULT_BYTES));
    await manager.setConfig("process", "cwd", "true");
    expect((await execRecord([long])).argv.join(" ").length).toBeGreaterThan(1000);
  });
});
