import { create, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GetEventsRequestSchema, GetEventsResponseSchema, type Filter, type GetEventsRequest, type GetEventsResponse } from "../../../gen/tetragon/tetragon_pb";
import type { Api } from "./api";
import type { Connection } from "./connection";
import { clear, h } from "./dom";
import { FilterFields, FilterInputError, type FilterInput } from "./filters";
import { clockTime, eventTypeName, summarize, type RowSummary } from "./format";
import { RateMeter, RingStore } from "./store";
import { VirtualList } from "./vlist";

export const KEPT_EVENTS = 10_000;
const ROW_HEIGHT = 22;

/** An event as kept; its row text is worked out when first shown or searched. */
class Kept {
  private summary: RowSummary | undefined;
  constructor(readonly ev: GetEventsResponse) {}
  get sum(): RowSummary {
    return (this.summary ??= summarize(this.ev));
  }
}

/** Sequence numbers of the kept events that match the quick-find text. */
class FindIndex {
  text = "";
  seqs: number[] = [];
  removed = 0;

  matches(k: Kept): boolean {
    const t = this.text;
    return k.sum.binary.toLowerCase().includes(t) || k.sum.detail.toLowerCase().includes(t) || k.sum.pid === t;
  }
  /** Forgets sequence numbers the store no longer keeps. */
  trim(first: number): void {
    let n = 0;
    while (n < this.seqs.length && this.seqs[n]! < first) n++;
    if (n === 0) return;
    this.seqs.splice(0, n);
    this.removed += n;
  }
}

/** Live events: one GetEvents stream with the filters from the form, a
 * bounded store, a virtualised list, per-type rates and a JSON drawer. */
export class LiveView {
  readonly el: HTMLElement;
  readonly store = new RingStore<Kept>(KEPT_EVENTS);
  readonly meter = new RateMeter(300);
  private readonly allow = new FilterFields("allow");
  private readonly deny = new FilterFields("deny");
  private readonly list: VirtualList;
  private readonly find = new FindIndex();
  private readonly errorLine = h("div", { id: "filter-error", class: "inline-error", role: "alert", hidden: true });
  private readonly stats = h("div", { id: "live-stats", class: "stats" });
  private readonly rates = h("div", { id: "live-rates", class: "rates" });
  private readonly streamState = h("span", { id: "stream-state", class: "pill" }, "connecting");
  private readonly pauseButton = h("button", { id: "pause", type: "button" }, "Pause");
  private readonly drawer = h("aside", { id: "event-json", class: "drawer", hidden: true });
  private controller: AbortController | undefined;
  private pausedAt: number | undefined;
  private selected: number | undefined;
  private statsScheduled = false;
  /** called for each event (the process tree listens) */
  onEvent: (ev: GetEventsResponse) => void = () => {};

  constructor(
    private readonly api: Api,
    private readonly conn: Connection,
  ) {
    this.list = new VirtualList({
      rowHeight: ROW_HEIGHT,
      createRow: () => rowTemplate(),
      renderRow: (row, idx) => this.renderRow(row, idx),
      onSelect: (idx) => this.select(this.seqAt(idx)),
    });
    this.el = h("section", { id: "view-live", class: "view" }, this.toolbar(), this.errorLine, h("div", { class: "statusbar" }, this.streamState, this.stats, this.rates), h("div", { class: "live-body" }, this.list.root, this.drawer));
    setInterval(() => this.updateStats(), 500);
  }

  private toolbar(): HTMLElement {
    const apply = h("button", { id: "apply-filters", type: "submit", class: "primary" }, "Apply filters");
    const reset = h("button", { id: "clear-filters", type: "button" }, "Clear");
    reset.addEventListener("click", () => this.setFilters({}, {}));
    this.pauseButton.addEventListener("click", () => this.togglePause());
    const findBox = h("input", { id: "find", type: "search", placeholder: "find in kept events (binary, args, pid)", spellcheck: "false" });
    findBox.addEventListener("input", () => this.setFind(findBox.value));
    const form = h("form", { class: "filters", id: "filters" }, this.allow.el, this.deny.el, h("div", { class: "actions" }, apply, reset, this.pauseButton, findBox));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.restart();
    });
    return form;
  }

  /** Fills the form and restarts the stream with it (the process tree uses this). */
  setFilters(allow: FilterInput, deny: FilterInput): void {
    this.allow.write(allow);
    this.deny.write(deny);
    this.restart();
  }

  /** (Re)opens the stream with the form's filters; the kept events are cleared,
   * so what is shown is exactly what the agent sent for these filters. */
  restart(): void {
    let allowList: Filter[];
    let denyList: Filter[];
    try {
      allowList = [this.allow.read()].filter((f): f is Filter => f !== undefined);
      denyList = [this.deny.read()].filter((f): f is Filter => f !== undefined);
    } catch (e) {
      if (e instanceof FilterInputError) return this.showError(e.message);
      throw e;
    }
    this.showError(undefined);
    this.controller?.abort();
    this.controller = new AbortController();
    this.store.clear();
    this.find.seqs = [];
    this.find.removed = 0;
    this.selected = undefined;
    this.drawer.hidden = true;
    this.refreshList();
    this.updateStats();
    void this.run(create(GetEventsRequestSchema, { allowList, denyList }), this.controller.signal);
  }

  private async run(req: GetEventsRequest, signal: AbortSignal): Promise<void> {
    for (;;) {
      this.setState("connecting");
      let quiet: ReturnType<typeof setTimeout> | undefined;
      try {
        const opened = () => {
          this.conn.ok();
          this.setState("streaming");
        };
        // The server sends its headers with the first event, so a quiet but
        // healthy stream only shows as one by not failing.
        quiet = setTimeout(() => this.streamState.textContent === "connecting" && this.conn.up && this.setState("waiting for events"), 1500);
        for await (const res of this.api.fgs.getEvents(req, { signal, onHeader: opened })) {
          if (this.streamState.textContent !== "streaming") opened();
          this.add(res);
        }
        // Ended by the agent (shutting down, or a stream it gave up on): reopen.
        clearTimeout(quiet);
        this.setState("reopening");
        await abortableSleep(REOPEN_DELAY_MS, signal);
        if (signal.aborted) return;
      } catch (e) {
        clearTimeout(quiet);
        if (signal.aborted) return;
        const err = ConnectError.from(e);
        if (err.code === Code.InvalidArgument) {
          this.setState("rejected");
          this.showError(`The agent rejected the filters: ${err.rawMessage}`);
          return;
        }
        this.setState("disconnected");
        this.conn.failed(err);
        await this.conn.whenUp(signal);
        if (signal.aborted) return;
      }
    }
  }

  private add(ev: GetEventsResponse): void {
    const kept = new Kept(ev);
    this.meter.count(eventTypeName(ev));
    const seq = this.store.end;
    this.store.push(kept);
    if (this.find.text && this.find.matches(kept)) this.find.seqs.push(seq);
    this.onEvent(ev);
    if (this.pausedAt === undefined) this.refreshList();
  }

  private refreshList(): void {
    this.scheduleStats();
    this.find.trim(this.store.first);
    const end = this.pausedAt ?? this.indexEnd();
    this.list.setRange(this.indexFirst(), Math.max(this.indexFirst(), end));
  }

  // The list is indexed either by sequence number or, while finding, by
  // position in the find index (offset by what it forgot), so indices only grow.
  private indexFirst(): number {
    return this.find.text ? this.find.removed : this.store.first;
  }
  private indexEnd(): number {
    return this.find.text ? this.find.removed + this.find.seqs.length : this.store.end;
  }
  private seqAt(idx: number): number {
    return this.find.text ? (this.find.seqs[idx - this.find.removed] ?? -1) : idx;
  }

  private setFind(text: string): void {
    this.find.text = text.trim().toLowerCase();
    this.find.seqs = [];
    this.find.removed = 0;
    if (this.find.text) {
      for (let s = this.store.first; s < this.store.end; s++) if (this.find.matches(this.store.at(s)!)) this.find.seqs.push(s);
    }
    if (this.pausedAt !== undefined) this.pausedAt = this.indexEnd();
    this.list.follow = true;
    this.refreshList();
    this.updateStats();
  }

  private togglePause(): void {
    this.pausedAt = this.pausedAt === undefined ? this.indexEnd() : undefined;
    this.pauseButton.textContent = this.pausedAt === undefined ? "Pause" : "Resume";
    this.pauseButton.classList.toggle("active", this.pausedAt !== undefined);
    this.refreshList();
  }

  private renderRow(row: HTMLElement, idx: number): void {
    const seq = this.seqAt(idx);
    const k = this.store.at(seq);
    const cells = row.children;
    row.className = `vrow evrow tone-${k?.sum.tone ?? "gone"}${seq === this.selected ? " selected" : ""}`;
    const values = k ? [clockTime(k.ev.time), k.sum.emoji, k.sum.kind, k.sum.pid, k.sum.binary, k.sum.detail, k.sum.outcome] : ["", "", "(no longer kept)", "", "", "", ""];
    values.forEach((v, i) => {
      const cell = cells[i] as HTMLElement;
      if (cell.textContent !== v) cell.textContent = v;
    });
  }

  private select(seq: number): void {
    const k = this.store.at(seq);
    if (!k) return;
    this.selected = seq;
    clear(this.drawer);
    const close = h("button", { type: "button", class: "close", title: "close" }, "×");
    close.addEventListener("click", () => {
      this.drawer.hidden = true;
      this.selected = undefined;
      this.list.schedule();
    });
    const json = toJsonString(GetEventsResponseSchema, k.ev, { prettySpaces: 2, useProtoFieldName: true });
    this.drawer.append(h("header", {}, h("strong", {}, `${k.sum.emoji} ${k.sum.kind} ${k.sum.binary}`), close), h("pre", { id: "event-json-text" }, json));
    this.drawer.hidden = false;
    this.list.schedule();
  }

  private showError(message: string | undefined): void {
    this.errorLine.hidden = message === undefined;
    this.errorLine.textContent = message ?? "";
  }

  private setState(state: string): void {
    if (this.streamState.textContent === state) return;
    this.streamState.textContent = state;
    this.streamState.className = `pill state-${state.split(" ", 1)[0]}`;
  }

  private scheduleStats(): void {
    if (this.statsScheduled) return;
    this.statsScheduled = true;
    requestAnimationFrame(() => {
      this.statsScheduled = false;
      this.updateStats();
    });
  }

  private updateStats(): void {
    this.meter.roll();
    const paused = this.pausedAt !== undefined ? " · paused" : "";
    const shown = this.find.text ? ` · ${this.find.seqs.length} match` : "";
    this.stats.textContent = `${this.store.size} kept (max ${KEPT_EVENTS}) · ${this.store.dropped} not kept${shown}${paused}`;
    const parts = [...this.meter.rates()].sort().map(([type, n]) => `${type.replace(/^PROCESS_/, "").toLowerCase()} ${n < 10 ? n.toFixed(1) : Math.round(n)}/s`);
    this.rates.textContent = parts.length ? parts.join(" · ") : "0 events/s";
  }
}

const REOPEN_DELAY_MS = 1000;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

function rowTemplate(): HTMLElement {
  const cls = ["c-time", "c-emoji", "c-kind", "c-pid", "c-binary", "c-detail", "c-outcome"];
  return h("div", { role: "listitem" }, ...cls.map((c) => h("span", { class: c })));
}
