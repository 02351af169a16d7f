/** The `test` sensor: bpf/test_sensor.bpf.c on syscalls/sys_enter_getppid.
 * While enabled, every getppid(2) call emits a Test event (EventType TEST),
 * so an operator can check the path kernel → ring buffer → bus → client. */
import { BpfObject } from "../bpf/object.ts";
import type { Logger } from "../log/logger.ts";
import type { Sensor, SensorConfigKey } from "./sensor.ts";

export const TEST_SENSOR_NAME = "test";
export const TEST_OBJECT_NAME = "test_sensor";
/** How to trigger one event: the shell calls getppid() once to set $PPID. */
export const TEST_TRIGGER = ["/bin/sh", "-c", "echo $PPID >/dev/null"] as const;

export class TestSensor implements Sensor {
  readonly name = TEST_SENSOR_NAME;
  readonly removable = false;
  readonly config: ReadonlyMap<string, SensorConfigKey> = new Map();
  private attached = false;
  private closed = false;

  private constructor(
    private readonly object: BpfObject,
    private readonly log: Logger,
  ) {}

  /** Loads (not attaches) the program; `sharedMaps` are the base sensor's
   * map fds by name (ProcessSensor.sharedMapFds()), so records go to the one
   * `events` ring buffer. */
  static load(image: Uint8Array, sharedMaps: ReadonlyMap<string, number>, log: Logger): TestSensor {
    const object = BpfObject.open(TEST_OBJECT_NAME, image, { reuseMaps: sharedMaps });
    try {
      object.load();
    } catch (e) {
      object.close();
      throw e;
    }
    return new TestSensor(object, log);
  }

  get enabled(): boolean {
    return this.attached;
  }

  async enable(): Promise<void> {
    if (this.attached) return;
    if (this.closed) throw new Error("test sensor was removed");
    try {
      for (const prog of this.object.programs()) this.object.track(prog.attach());
    } catch (e) {
      this.object.detachAll();
      throw e;
    }
    this.attached = true;
    this.log.info("test sensor attached", { hook: "tracepoint/syscalls/sys_enter_getppid" });
  }

  async disable(): Promise<void> {
    if (!this.attached) return;
    this.object.detachAll();
    this.attached = false;
    this.log.info("test sensor detached");
  }

  async remove(): Promise<void> {
    await this.disable();
    this.object.close();
    this.closed = true;
  }
}
