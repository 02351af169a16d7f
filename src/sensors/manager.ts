import { Code, ConnectError } from "@connectrpc/connect";
import type { Sensor } from "./sensor";
import { SensorConfigError } from "./sensor";

/** Every sensor of the agent, by name. API errors are ConnectErrors with clear messages. */
export class SensorManager {
  private readonly sensors = new Map<string, Sensor>();

  add(sensor: Sensor): void {
    if (this.sensors.has(sensor.name)) {
      throw new ConnectError(`a sensor named "${sensor.name}" already exists`, Code.AlreadyExists);
    }
    this.sensors.set(sensor.name, sensor);
  }

  has(name: string): boolean {
    return this.sensors.has(name);
  }

  get(name: string): Sensor {
    const sensor = this.sensors.get(name);
    if (!sensor) {
      const known = [...this.sensors.keys()].join(", ") || "none";
      throw new ConnectError(`sensor "${name}" not found (sensors: ${known})`, Code.NotFound);
    }
    return sensor;
  }

  list(): Sensor[] {
    return [...this.sensors.values()];
  }

  async enable(name: string): Promise<void> {
    await this.get(name).enable();
  }

  async disable(name: string): Promise<void> {
    await this.get(name).disable();
  }

  async remove(name: string): Promise<void> {
    const sensor = this.get(name);
    if (!sensor.removable) {
      throw new ConnectError(`sensor "${name}" is built in and cannot be removed (disable it instead)`, Code.FailedPrecondition);
    }
    await sensor.remove();
    this.sensors.delete(name);
  }

  getConfig(name: string, key: string): string {
    return this.configKey(name, key).get();
  }

  async setConfig(name: string, key: string, value: string): Promise<void> {
    const entry = this.configKey(name, key);
    try {
      await entry.set(value);
    } catch (e) {
      if (e instanceof SensorConfigError) {
        throw new ConnectError(`${name}.${key}: ${e.message} (allowed: ${entry.allowed})`, Code.InvalidArgument);
      }
      throw e;
    }
  }

  private configKey(name: string, key: string) {
    const sensor = this.get(name);
    const entry = sensor.config.get(key);
    if (!entry) {
      const keys = [...sensor.config.keys()];
      const allowed = keys.length ? keys.join(", ") : "this sensor has no configuration keys";
      throw new ConnectError(`sensor "${name}" has no configuration key "${key}" (keys: ${allowed})`, Code.InvalidArgument);
    }
    return entry;
  }

  /** Disables and removes everything (agent shutdown). Errors are collected, not thrown. */
  async shutdown(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const sensor of [...this.sensors.values()].reverse()) {
      try {
        await sensor.remove();
      } catch (e) {
        errors.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    this.sensors.clear();
    return errors;
  }
}
