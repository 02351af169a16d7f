/** A tracing policy as a sensor: its hooks attach on enable, detach on
 * disable, and remove frees every kernel object the policy created. */
import type { Logger } from "../../log/logger";
import { SensorConfigError, type Sensor, type SensorConfigKey } from "../../sensors/sensor";
import type { LoadedHook } from "./loader";
import { hookName } from "./loader";
import type { Policy } from "../model/model";

function readOnly(description: string, value: () => string): SensorConfigKey {
  return {
    description,
    allowed: "read-only",
    get: value,
    set: () => {
      throw new SensorConfigError("this key is read-only");
    },
  };
}

export class PolicySensor implements Sensor {
  readonly removable = true;
  readonly config: ReadonlyMap<string, SensorConfigKey>;
  private on = true;
  private removed = false;

  constructor(
    readonly policy: Policy,
    readonly hooks: readonly LoadedHook[],
    private readonly log: Logger,
    private readonly onRemove: (sensor: PolicySensor) => void,
  ) {
    this.config = new Map([
      ["mechanism", readOnly("how each hook is attached (chosen by probing the kernel)", () => this.mechanisms())],
      ["hooks", readOnly("number of hooks", () => String(this.hooks.length))],
    ]);
  }

  get name(): string {
    return this.policy.name;
  }

  get enabled(): boolean {
    return this.on && !this.removed;
  }

  /** "sys_openat=tracepoint syscalls/sys_enter_openat, ..." in hook order. */
  mechanisms(): string {
    return this.hooks.map((h) => `${hookName(h.hook)}=${h.mechanism} ${h.target}`).join(", ");
  }

  async enable(): Promise<void> {
    if (this.removed) throw new Error(`policy ${this.name} was removed`);
    if (this.on) return;
    try {
      for (const h of this.hooks) h.attach();
    } catch (e) {
      for (const h of this.hooks) h.detach();
      throw e;
    }
    this.on = true;
    this.log.info("policy enabled", { policy: this.name, mechanism: this.mechanisms() });
  }

  async disable(): Promise<void> {
    if (!this.on) return;
    for (const h of this.hooks) h.detach();
    this.on = false;
    this.log.info("policy disabled", { policy: this.name });
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    for (const h of this.hooks) h.close();
    this.on = false;
    this.removed = true;
    this.onRemove(this);
    this.log.info("policy removed", { policy: this.name });
  }
}
