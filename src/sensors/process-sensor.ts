import type { Logger } from "../log/logger";
import { BpfObject } from "../bpf/object";
import { u32Key, type BpfMap } from "../bpf/map";
import { objectImage, type ObjectImages } from "../bpf/objects";
import type { Sensor, SensorConfigKey } from "./sensor";

/** Maps of the base object that every later BPF object reuses by name. */
export const SHARED_MAPS = ["events", "execve_map", "lost_events", "fgs_config"] as const;
export type SharedMapName = (typeof SHARED_MAPS)[number];

export interface ProcessSensorOptions {
  ringBufferBytes?: number;
}

/** The always-present base sensor: exec, clone and exit hooks, and the shared maps. */
export class ProcessSensor implements Sensor {
  readonly name = "process";
  readonly removable = false;
  private configKeys = new Map<string, SensorConfigKey>();
  private attachedHooks: string[] = [];

  private constructor(
    private readonly object: BpfObject,
    private readonly log: Logger,
  ) {}

  static load(images: ObjectImages, log: Logger, options: ProcessSensorOptions = {}): ProcessSensor {
    const maxEntries = new Map<string, number>();
    if (options.ringBufferBytes) maxEntries.set("events", options.ringBufferBytes);
    const object = BpfObject.open("process", objectImage(images, "process"), { maxEntries });
    try {
      object.load();
    } catch (e) {
      object.close();
      throw e;
    }
    return new ProcessSensor(object, log);
  }

  get enabled(): boolean {
    return this.attachedHooks.length > 0;
  }

  get config(): ReadonlyMap<string, SensorConfigKey> {
    return this.configKeys;
  }

  /** Installed by the agent once the keys' backing parts (cache, kernel config map) exist. */
  setConfigKeys(keys: ReadonlyMap<string, SensorConfigKey>): void {
    this.configKeys = new Map(keys);
  }

  map(name: SharedMapName): BpfMap {
    return this.object.map(name);
  }

  sharedMapFds(): ReadonlyMap<string, number> {
    return new Map(SHARED_MAPS.map((m) => [m, this.object.map(m).fd]));
  }

  hooks(): readonly string[] {
    return this.attachedHooks;
  }

  async enable(): Promise<void> {
    if (this.enabled) return;
    const attached: string[] = [];
    try {
      for (const prog of this.object.programs()) {
        this.object.track(prog.attach());
        attached.push(prog.sectionName);
      }
    } catch (e) {
      this.object.detachAll();
      throw e;
    }
    this.attachedHooks = attached;
    this.log.info("process sensor attached", { hooks: attached });
  }

  async disable(): Promise<void> {
    if (!this.enabled) return;
    this.object.detachAll();
    this.attachedHooks = [];
    this.log.info("process sensor detached");
  }

  async remove(): Promise<void> {
    await this.disable();
    this.object.close();
  }

  /** Failed ring-buffer reservations in the kernel, summed over CPUs, by record op. */
  lostByOp(): Map<number, bigint> {
    const lost = this.object.map("lost_events");
    const totals = new Map<number, bigint>();
    for (let op = 0; op < 16; op++) {
      let sum = 0n;
      for (const v of lost.lookupPerCpu(u32Key(op))) sum += new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
      if (sum > 0n) totals.set(op, sum);
    }
    return totals;
  }
}
