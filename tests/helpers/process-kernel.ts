import { bpfObjectBytes } from "./build";
import { BpfObject } from "../../src/bpf/object";
import type { BpfMap } from "../../src/bpf/map";
import { RingBufferReader } from "../../src/reader/ring-reader";
import { decodeRecord, encodeConfig, type ProcessConfig, type ProcessRecord } from "../../src/decode/process";

type Predicate = (r: ProcessRecord) => boolean;

interface Waiter {
  pred: Predicate;
  resolve: (r: ProcessRecord) => void;
}

/** The process sensor's programs loaded and attached on the real kernel, with
 * every decoded record kept (tests filter by the pids they spawned). */
export class ProcessProbe {
  readonly records: ProcessRecord[] = [];
  private waiters: Waiter[] = [];
  private done: Promise<void>;

  private constructor(
    readonly object: BpfObject,
    private readonly reader: RingBufferReader,
  ) {
    this.done = this.pump();
  }

  /** Called for every record; set keep=false to not retain records (long runs). */
  onRecord: ((r: ProcessRecord) => void) | undefined;
  keep = true;

  static start(options: { ringBufferBytes?: number } = {}): ProcessProbe {
    const maxEntries = new Map<string, number>();
    if (options.ringBufferBytes) maxEntries.set("events", options.ringBufferBytes);
    const object = BpfObject.open("process", bpfObjectBytes("process"), { maxEntries });
    try {
      object.load();
      for (const prog of object.programs()) object.track(prog.attach());
      return new ProcessProbe(object, RingBufferReader.start(object.map("events").fd));
    } catch (e) {
      object.close();
      throw e;
    }
  }

  private async pump(): Promise<void> {
    for await (const bytes of this.reader.records()) {
      const rec = decodeRecord(bytes.slice());
      if (!rec) continue;
      this.onRecord?.(rec);
      if (this.keep) this.records.push(rec);
      this.waiters = this.waiters.filter((w) => !(w.pred(rec) && (w.resolve(rec), true)));
    }
  }

  map(name: string): BpfMap {
    return this.object.map(name);
  }

  /** Writes the kernel-side capture settings (fgs_config). */
  configure(c: ProcessConfig): void {
    this.map("fgs_config").update(new Uint8Array(4), encodeConfig(c));
  }

  /** The first record (already seen or still to come) matching pred. */
  waitFor(pred: Predicate, timeoutMs = 5000, what = "record"): Promise<ProcessRecord> {
    const seen = this.records.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.pred !== pred);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  /** Records of the given thread-group ids, in arrival order. */
  of(...tgids: number[]): ProcessRecord[] {
    const set = new Set(tgids);
    return this.records.filter((r) => set.has(r.tgid));
  }

  /** Drops the records kept so far (long tests keep memory flat). */
  clear(): void {
    this.records.length = 0;
  }

  async stop(): Promise<void> {
    this.object.detachAll();
    this.reader.stop();
    await Promise.race([this.done, Bun.sleep(2000)]);
    this.object.close();
  }
}
