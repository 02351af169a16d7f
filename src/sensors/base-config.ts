/** Configuration keys of the base (process) sensor, for Set/GetSensorConfig.
 * The sensor manager turns a SensorConfigError into invalid_argument with the
 * key's allowed values, and an unknown key into invalid_argument listing keys. */
import { encodeConfig } from "../decode/process.ts";
import type { ProcessConfig } from "../decode/process.ts";
import { SensorConfigError } from "./sensor.ts";
import type { SensorConfigKey } from "./sensor.ts";

/** bpf/process.h FGS_ARGS_DEFAULT and FGS_ARGS_MAX (checked by tests/getevents-sensor-config.test.ts). */
export const ARGV_DEFAULT_BYTES = 4096;
export const ARGV_MAX_BYTES = 16384;
export const ARGV_MIN_BYTES = 64;

export interface Setting<T> {
  get(): T;
  set(value: T): void | Promise<void>;
}

export interface BaseSensorSettings {
  /** Whether exec and exit events carry `ancestors` (user space). */
  readonly ancestors: Setting<boolean>;
  /** Bytes of argv the kernel captures per exec (fgs_config.max_argv_bytes). */
  readonly argvMaxBytes: Setting<number>;
  /** Whether the kernel reads the working directory (fgs_config.flags NO_CWD). */
  readonly cwd: Setting<boolean>;
  /** What process.binary is (fgs_config.flags BINARY_RESOLVED). */
  readonly binaryPath: Setting<NonNullable<ProcessConfig["binaryPath"]>>;
}

export const BASE_KEYS = {
  ancestors: "ancestors",
  argvMaxBytes: "argv-max-bytes",
  cwd: "cwd",
  binaryPath: "binary-path",
} as const;

export function baseSensorConfig(s: BaseSensorSettings): ReadonlyMap<string, SensorConfigKey> {
  return new Map<string, SensorConfigKey>([
    [BASE_KEYS.ancestors, booleanKey("report the ancestors of each process in exec and exit events", s.ancestors)],
    [
      BASE_KEYS.argvMaxBytes,
      integerKey("bytes of the argument list captured per exec", ARGV_MIN_BYTES, ARGV_MAX_BYTES, s.argvMaxBytes),
    ],
    [BASE_KEYS.cwd, booleanKey("capture the working directory of each exec", s.cwd)],
    [
      BASE_KEYS.binaryPath,
      choiceKey(
        "process.binary (and matchBinaries): exec = the path the program was executed by, resolved = the file it runs, symlinks resolved",
        ["exec", "resolved"] as const,
        s.binaryPath,
      ),
    ],
  ]);
}

export function choiceKey<T extends string>(description: string, options: readonly T[], setting: Setting<T>): SensorConfigKey {
  return {
    description,
    allowed: options.join(", "),
    get: () => setting.get(),
    set: (value) => {
      const option = options.find((o) => o === value);
      if (option === undefined) throw new SensorConfigError(`${JSON.stringify(value)} is not one of ${options.join(", ")}`);
      return setting.set(option);
    },
  };
}

export function booleanKey(description: string, setting: Setting<boolean>): SensorConfigKey {
  return {
    description,
    allowed: "true, false",
    get: () => String(setting.get()),
    set: (value) => {
      if (value !== "true" && value !== "false") throw new SensorConfigError(`${JSON.stringify(value)} is not a boolean`);
      return setting.set(value === "true");
    },
  };
}

export function integerKey(description: string, min: number, max: number, setting: Setting<number>): SensorConfigKey {
  return {
    description,
    allowed: `an integer in ${min}..${max}`,
    get: () => String(setting.get()),
    set: (value) => {
      if (!/^\d+$/.test(value)) throw new SensorConfigError(`${JSON.stringify(value)} is not an integer`);
      const n = Number(value);
      if (n < min || n > max) throw new SensorConfigError(`${n} is out of range`);
      return setting.set(n);
    },
  };
}

/** Anything that stores the fgs_config value: the BPF map, or a test double. */
export interface ConfigMapWriter {
  update(key: Uint8Array, value: Uint8Array): void;
}

/** The kernel-side settings over the fgs_config map (one entry, key 0).
 * Writes the defaults at once so the map and get() agree from the start. */
export function kernelConfigSettings(map: ConfigMapWriter): Pick<BaseSensorSettings, "argvMaxBytes" | "cwd" | "binaryPath"> {
  const current: ProcessConfig = { maxArgvBytes: ARGV_DEFAULT_BYTES, captureCwd: true, binaryPath: "exec" };
  const key = new Uint8Array(4);
  const write = (next: ProcessConfig): void => {
    map.update(key, encodeConfig(next));
    Object.assign(current, next);
  };
  write(current);
  return {
    argvMaxBytes: { get: () => current.maxArgvBytes, set: (n) => write({ ...current, maxArgvBytes: n }) },
    cwd: { get: () => current.captureCwd, set: (on) => write({ ...current, captureCwd: on }) },
    binaryPath: { get: () => current.binaryPath ?? "exec", set: (p) => write({ ...current, binaryPath: p }) },
  };
}

/** A user-space setting kept in memory, with a hook run on change. */
export function memorySetting<T>(initial: T, onChange?: (value: T) => void): Setting<T> {
  let value = initial;
  return {
    get: () => value,
    set: (v) => {
      value = v;
      onChange?.(v);
    },
  };
}
