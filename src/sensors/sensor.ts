/** A sensor is a named group of kernel hooks the operator can switch on and off.
 * The base process sensor, the test sensor and every tracing policy implement it. */
export interface SensorConfigKey {
  /** Human description, shown in errors listing allowed keys. */
  readonly description: string;
  /** Allowed values, e.g. ["true", "false"] or a range description like "64..32768". */
  readonly allowed: string;
  get(): string;
  /** Throws SensorConfigError with the allowed values when the value is bad. */
  set(value: string): void | Promise<void>;
}

export interface Sensor {
  readonly name: string;
  /** True while its hooks are attached. */
  readonly enabled: boolean;
  /** Whether RemoveSensor may remove it (policies: yes; base sensor: no). */
  readonly removable: boolean;
  enable(): Promise<void>;
  disable(): Promise<void>;
  /** Detach and free every kernel object the sensor created. */
  remove(): Promise<void>;
  readonly config: ReadonlyMap<string, SensorConfigKey>;
}

export class SensorConfigError extends Error {}
