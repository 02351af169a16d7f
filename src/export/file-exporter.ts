import { createWriteStream, type WriteStream } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { GetEventsRequestSchema } from "../../gen/tetragon/tetragon_pb";
import { formatJsonLine } from "../common/event-json";
import type { Component, EventBus } from "../agent/agent";
import type { Logger } from "../log/logger";

/** Appends every event to a file as one JSON line (the same JSON as `fgs getevents -o json`). */
export class FileExporter implements Component {
  readonly name = "export-file";
  private readonly abort = new AbortController();
  private readonly out: WriteStream;
  private written = 0;
  private failure: string | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly path: string,
    bus: EventBus,
    private readonly log: Logger,
  ) {
    this.out = createWriteStream(path, { flags: "a" });
    this.out.on("error", (e) => (this.failure = e.message));
    this.done = this.run(bus);
  }

  private async run(bus: EventBus): Promise<void> {
    try {
      for await (const ev of bus.subscribe(create(GetEventsRequestSchema, {}), this.abort.signal)) {
        if (!this.out.write(`${formatJsonLine(ev)}\n`)) await new Promise((r) => this.out.once("drain", r));
        this.written++;
      }
    } catch (e) {
      if (!this.abort.signal.aborted) {
        this.failure = e instanceof Error ? e.message : String(e);
        this.log.error("event export stopped", { path: this.path, error: this.failure });
      }
    }
  }

  describe(): string {
    return `export: ${this.path} events=${this.written}${this.failure ? ` error=${this.failure}` : ""}`;
  }

  healthy(): boolean {
    return this.failure === undefined;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.race([this.done, Bun.sleep(1000)]);
    await new Promise((r) => this.out.end(r));
  }
}
