/** `--export-file`: every event the export filters pass, as one JSON line, to
 * a file operators can rotate and ship. It never stops for good: when it falls
 * behind it drops and counts; when the disk is full it reports that in health
 * and metrics, keeps what fits in memory, and resumes when space returns.
 * With a rate limit, what the limit drops is reported in the file itself as
 * rate_limit_info lines, as the upstream agent does. */
import { hostname } from "node:os";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Filter, GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import type { Component } from "../common/component";
import type { Logger } from "../log/logger";
import type { ExportStats } from "../metrics/sources";
import { applyFieldFilters, type FieldFilter, type JsonObject } from "./field-filter";
import { eventLine } from "./line";
import { RATE_LIMIT_REPORT_MS, RateLimiter, rateLimitInfoEvent } from "./rate-limit";
import { redactArguments, type Redactor } from "./redact";
import { errorText, RotatingFile, type FileOptions } from "./rotating-file";

export interface ExportConfig {
  readonly file: FileOptions;
  /** Rotate every interval (ms) when the file is not empty; 0 never. */
  readonly rotationIntervalMs: number;
  readonly allowList: readonly Filter[];
  readonly denyList: readonly Filter[];
  /** Events per minute; undefined for no limit. */
  readonly rateLimitPerMinute?: number;
  /** How often the limit reports its drops (default RATE_LIMIT_REPORT_MS). */
  readonly rateLimitReportMs?: number;
  /** node_name of the exporter's own lines (rate_limit_info); default the host name. */
  readonly nodeName?: string;
  readonly fieldFilters: readonly FieldFilter[];
  readonly redact?: Redactor;
  /** Lines held in memory while the file cannot keep up or is not writable. */
  readonly maxPendingBytes?: number;
  /** The exporter's bus queue (default 65,536 events). */
  readonly queueCapacity?: number;
  /** Wait between write attempts while the file is not writable. */
  readonly retryMs?: number;
}

/** What the exporter needs of the event bus. */
export interface ExportEventSource {
  subscribe(
    request: { allowList: Filter[]; denyList: Filter[] },
    signal: AbortSignal,
    options?: { queueCapacity?: number },
  ): AsyncIterable<GetEventsResponse> & { stats(): { dropped: number } };
}

const QUEUE_CAPACITY = 65_536;
const DEFAULT_MAX_PENDING = 16 << 20;
const BATCH_BYTES = 1 << 20;
const encoder = new TextEncoder();

/** A line waiting for the file; `event` is false for the exporter's own reports. */
interface PendingLine {
  readonly text: string;
  readonly event: boolean;
}

export class FileExporter implements Component {
  readonly name = "export-file";
  private readonly abort = new AbortController();
  private readonly limiter: RateLimiter | undefined;
  private readonly pending: PendingLine[] = [];
  private pendingBytes = 0;
  private draining: Promise<void> | undefined;
  private rotateDue = false;
  /** Shrinks after a failed write, so a nearly full disk still takes what fits. */
  private batchLimit = BATCH_BYTES;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly reportTimer: ReturnType<typeof setInterval> | undefined;
  /** Rate-limit drops not yet reported in the file. */
  private unreported = 0;
  private reports = 0;
  /** Set once stop() has made its last report: a drop after it is reported at once. */
  private closing = false;
  private failure: string | undefined;
  private wake: (() => void) | undefined;
  private readonly counts = { written: 0, droppedOverflow: 0, droppedRateLimit: 0, writeErrors: 0, lastWriteSeconds: 0 };
  private readonly done: Promise<void>;
  /** Events the bus dropped because this exporter's queue was full. */
  private queueDrops: () => number = () => 0;

  private constructor(
    private readonly config: ExportConfig,
    private readonly file: RotatingFile,
    source: ExportEventSource,
    private readonly log: Logger,
  ) {
    this.limiter = config.rateLimitPerMinute !== undefined ? new RateLimiter(config.rateLimitPerMinute) : undefined;
    if (this.limiter) {
      this.reportTimer = setInterval(() => this.reportDrops(), config.rateLimitReportMs ?? RATE_LIMIT_REPORT_MS);
      this.reportTimer.unref();
    }
    if (config.rotationIntervalMs > 0) {
      this.timer = setInterval(() => this.requestRotation(), config.rotationIntervalMs);
      this.timer.unref();
    }
    this.done = this.run(source);
  }

  /** Opens the file (failing the agent's start when it cannot) and subscribes. */
  static async start(config: ExportConfig, source: ExportEventSource, log: Logger): Promise<FileExporter> {
    const file = await RotatingFile.open(config.file, log);
    log.info("exporting events", { path: config.file.path, perm: config.file.perm.toString(8), maxSizeBytes: config.file.maxSizeBytes, maxBackups: config.file.maxBackups });
    return new FileExporter(config, file, source, log);
  }

  private async run(source: ExportEventSource): Promise<void> {
    const request = { allowList: [...this.config.allowList], denyList: [...this.config.denyList] };
    while (!this.abort.signal.aborted) {
      try {
        const stream = source.subscribe(request, this.abort.signal, { queueCapacity: this.config.queueCapacity ?? QUEUE_CAPACITY });
        const before = this.queueDrops();
        this.queueDrops = () => before + stream.stats().dropped;
        for await (const ev of stream) this.accept(ev);
        return; // the bus closed: the agent is stopping
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.onStreamError(e);
        await Bun.sleep(10);
      }
    }
  }

  /** A stream that ended on overflow is counted and opened again at once. */
  private onStreamError(e: unknown): void {
    const err = ConnectError.from(e);
    const missed = Number(/(\d+) events were not delivered/.exec(err.rawMessage)?.[1] ?? 1);
    this.counts.droppedOverflow += missed;
    const fields = { missed, error: err.rawMessage.slice(0, 200) };
    if (err.code === Code.ResourceExhausted) this.log.warn("export fell behind; events dropped, stream reopened", fields);
    else this.log.error("export stream failed; reopening", fields);
  }

  private accept(ev: GetEventsResponse): void {
    if (this.limiter && !this.limiter.take()) {
      this.counts.droppedRateLimit++;
      this.unreported++;
      if (this.closing) this.reportDrops();
      return;
    }
    if (this.enqueue({ text: this.toLine(ev), event: true })) return;
    if (this.failure !== undefined) this.counts.writeErrors++;
    else this.counts.droppedOverflow++;
  }

  /** Holds the line for the file; false when the memory bound leaves no room. */
  private enqueue(line: PendingLine): boolean {
    if (this.pendingBytes + line.text.length > (this.config.maxPendingBytes ?? DEFAULT_MAX_PENDING)) return false;
    this.pending.push(line);
    this.pendingBytes += line.text.length;
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return true;
  }

  /** A rate_limit_info line for the drops since the previous one, if any. It
   * is the exporter's own line: no filter, field filter or limit applies. A
   * report that finds no room stays due and the next one carries its count. */
  private reportDrops(): void {
    if (this.unreported === 0) return;
    const ev = rateLimitInfoEvent(this.unreported, this.config.nodeName ?? hostname());
    if (!this.enqueue({ text: `${eventLine(ev)}\n`, event: false })) return;
    this.unreported = 0;
    this.reports++;
  }

  private toLine(ev: GetEventsResponse): string {
    const json = eventLine(ev);
    if (this.config.fieldFilters.length === 0 && this.config.redact === undefined) return `${json}\n`;
    const obj = JSON.parse(json) as JsonObject;
    applyFieldFilters(obj, this.config.fieldFilters);
    if (this.config.redact) redactArguments(obj, this.config.redact);
    return `${JSON.stringify(obj)}\n`;
  }

  private requestRotation(): void {
    this.rotateDue = true;
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.rotateDue) {
      try {
        await this.writeNext();
        if (this.failure !== undefined) this.log.info("export file writable again; resumed", { path: this.config.file.path, pendingLines: this.pending.length });
        this.failure = undefined;
      } catch (e) {
        if (this.failure === undefined) this.log.error("cannot write the export file; holding events and retrying", { path: this.config.file.path, error: errorText(e) });
        this.batchLimit = Math.max(1, this.batchLimit >> 2);
        this.failure = errorText(e);
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, this.config.retryMs ?? 1000);
        });
        this.wake = undefined;
        if (this.abort.signal.aborted) return;
      }
    }
  }

  /** Rotates when due, then writes one batch of whole lines that fits. */
  private async writeNext(): Promise<void> {
    const room = this.file.room();
    if (this.rotateDue || (this.file.bytes > 0 && room < (this.pending[0]?.text.length ?? 0))) {
      await this.file.rotate();
      this.rotateDue = false;
    }
    if (this.pending.length === 0) return;
    const limit = Math.max(1, Math.min(this.batchLimit, this.file.room()));
    let n = 0;
    let bytes = 0;
    let events = 0;
    let text = "";
    for (let line = this.pending[0]; line !== undefined && (n === 0 || bytes + line.text.length <= limit); line = this.pending[++n]) {
      bytes += line.text.length;
      text += line.text;
      if (line.event) events++;
    }
    await this.file.append(encoder.encode(text));
    this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    this.counts.written += events;
    this.batchLimit = Math.min(BATCH_BYTES, this.batchLimit * 2);
    this.counts.lastWriteSeconds = Date.now() / 1000;
  }

  stats(): ExportStats {
    return { ...this.counts, droppedOverflow: this.counts.droppedOverflow + this.queueDrops(), rotations: this.file.rotations, blocked: this.failure !== undefined };
  }

  describe(): string {
    const c = this.stats();
    const state = this.failure !== undefined ? ` BLOCKED (${this.failure}; ${this.pending.length} events held, retrying)` : "";
    return `export: ${this.config.file.path} written=${c.written} dropped_overflow=${c.droppedOverflow} dropped_rate_limit=${c.droppedRateLimit} rate_limit_reports=${this.reports} dropped_write_error=${c.writeErrors} rotations=${this.file.rotations}${state}`;
  }

  healthy(): boolean {
    return this.failure === undefined;
  }

  /** Reports the last drops, writes what is held (bounded wait), then closes the file. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    await Promise.race([this.done, Bun.sleep(1000)]);
    this.closing = true;
    this.reportDrops();
    if (this.failure === undefined) await Promise.race([this.draining, Bun.sleep(3000)]);
    this.wake?.();
    await Promise.race([this.draining, Bun.sleep(1000)]);
    await this.file.close();
  }
}
