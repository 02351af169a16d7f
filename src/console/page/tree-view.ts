import type { GetEventsResponse, Process } from "../../../gen/tetragon/tetragon_pb";
import type { Api } from "./api";
import { clear, errorText, h } from "./dom";
import { clockTime, dateTime } from "./format";
import { VirtualList } from "./vlist";

const MAX_NODES = 20_000;
const REFRESH_MS = 5000;
const ROW_HEIGHT = 22;

interface Node {
  process: Process;
  alive: boolean;
}

interface Line {
  node: Node;
  depth: number;
}

/** Processes as a tree (exec_id → parent_exec_id): the cache's snapshot from
 * ProcessInspector.ListProcesses, kept current by exec and exit events. */
export class TreeView {
  readonly el: HTMLElement;
  private readonly nodes = new Map<string, Node>();
  private lines: Line[] = [];
  private readonly list: VirtualList;
  private readonly search = h("input", { id: "tree-find", type: "search", placeholder: "find: binary, arguments or pid", spellcheck: "false" });
  private readonly showExited = h("input", { id: "tree-exited", type: "checkbox", checked: true });
  private readonly summary = h("div", { id: "tree-summary", class: "stats" });
  private readonly error = h("div", { id: "tree-error", class: "inline-error", hidden: true });
  private readonly details = h("aside", { id: "process-details", class: "drawer", hidden: true });
  private selected: string | undefined;
  private visible = false;
  private dirty = true;

  constructor(
    private readonly api: Api,
    private readonly filterToPidSet: (pid: number) => void,
  ) {
    this.list = new VirtualList({
      rowHeight: ROW_HEIGHT,
      createRow: () => h("div", { role: "treeitem" }, ...["t-start", "t-uid", "t-indent", "t-state", "t-pid", "t-binary", "t-args"].map((c) => h("span", { class: c }))),
      renderRow: (row, idx) => this.renderRow(row, idx),
      onSelect: (idx) => this.select(this.lines[idx]?.node.process.execId),
    });
    this.list.follow = false;
    this.search.addEventListener("input", () => this.rebuild());
    this.showExited.addEventListener("change", () => this.rebuild());
    const reload = h("button", { id: "tree-reload", type: "button" }, "Reload");
    reload.addEventListener("click", () => void this.load());
    const bar = h("div", { class: "toolbar" }, this.search, h("label", { class: "check" }, this.showExited, "show exited"), reload, this.summary);
    this.el = h("section", { id: "view-processes", class: "view", hidden: true }, bar, this.error, h("div", { class: "live-body" }, this.list.root, this.details));
    setInterval(() => {
      if (this.visible) void this.load();
    }, REFRESH_MS);
    setInterval(() => {
      if (this.visible && this.dirty) this.rebuild();
    }, 1000);
  }

  show(visible: boolean): void {
    this.visible = visible;
    if (visible) void this.load();
  }

  /** Exec and exit events keep the tree current between snapshots. */
  observe(ev: GetEventsResponse): void {
    const e = ev.event;
    if (e.case === "processExec") {
      if (e.value.parent) this.upsert(e.value.parent, true, false);
      if (e.value.process) this.upsert(e.value.process, true, true);
    } else if (e.case === "processExit" && e.value.process) {
      if (e.value.parent) this.upsert(e.value.parent, true, false);
      this.upsert(e.value.process, false, true);
    }
  }

  private upsert(p: Process, alive: boolean, authoritative: boolean): void {
    const known = this.nodes.get(p.execId);
    if (known && !authoritative) return;
    this.nodes.set(p.execId, { process: p, alive: known && !known.alive ? false : alive });
    this.dirty = true;
    if (this.nodes.size > MAX_NODES) this.evictExited();
  }

  private evictExited(): void {
    for (const [id, n] of this.nodes) {
      if (this.nodes.size <= MAX_NODES * 0.9) break;
      if (!n.alive) this.nodes.delete(id);
    }
  }

  async load(): Promise<void> {
    try {
      const res = await this.api.inspector.listProcesses({ includeExited: true }, { timeoutMs: 10_000 });
      const listed = new Set<string>();
      for (const entry of res.processes) {
        if (!entry.process) continue;
        listed.add(entry.process.execId);
        this.nodes.set(entry.process.execId, { process: entry.process, alive: entry.alive });
      }
      // A live process the cache no longer holds has exited (its event may have been filtered out).
      for (const n of this.nodes.values()) if (n.alive && !listed.has(n.process.execId)) n.alive = false;
      this.error.hidden = true;
      this.rebuild();
    } catch (e) {
      this.error.hidden = false;
      this.error.textContent = `ListProcesses failed: ${errorText(e)}`;
    }
  }

  private rebuild(): void {
    this.dirty = false;
    const children = new Map<string, Node[]>();
    const roots: Node[] = [];
    for (const n of this.nodes.values()) {
      const parent = n.process.parentExecId;
      if (parent && parent !== n.process.execId && this.nodes.has(parent)) {
        const list = children.get(parent) ?? [];
        list.push(n);
        children.set(parent, list);
      } else roots.push(n);
    }
    const keep = this.keepSet(children);
    const lines: Line[] = [];
    const byStart = (a: Node, b: Node) => Number(a.process.startTime?.seconds ?? 0n) - Number(b.process.startTime?.seconds ?? 0n) || (a.process.pid ?? 0) - (b.process.pid ?? 0);
    const walk = (start: Node[]) => {
      const stack: Line[] = start.sort(byStart).reverse().map((node) => ({ node, depth: 0 }));
      while (stack.length) {
        const line = stack.pop()!;
        if (!keep(line.node)) continue;
        lines.push(line);
        const kids = (children.get(line.node.process.execId) ?? []).sort(byStart).reverse();
        for (const k of kids) stack.push({ node: k, depth: line.depth + 1 });
      }
    };
    walk(roots);
    this.lines = lines;
    const alive = [...this.nodes.values()].filter((n) => n.alive).length;
    this.summary.textContent = `${this.nodes.size} processes (${alive} alive) · ${lines.length} shown`;
    this.list.setRange(0, lines.length);
    this.list.schedule();
  }

  /** Which nodes to show: with a search, the matches and their ancestors and descendants. */
  private keepSet(children: Map<string, Node[]>): (n: Node) => boolean {
    const exited = this.showExited.checked;
    const text = this.search.value.trim().toLowerCase();
    if (!text) return (n) => exited || n.alive;
    const shown = new Set<string>();
    for (const n of this.nodes.values()) {
      const p = n.process;
      if (!(p.binary.toLowerCase().includes(text) || p.arguments.toLowerCase().includes(text) || String(p.pid) === text)) continue;
      for (const a of this.chain(n)) shown.add(a.process.execId);
      const stack = [...(children.get(p.execId) ?? [])];
      while (stack.length) {
        const c = stack.pop()!;
        shown.add(c.process.execId);
        stack.push(...(children.get(c.process.execId) ?? []));
      }
    }
    return (n) => shown.has(n.process.execId) && (exited || n.alive);
  }

  /** The node and its known ancestors, nearest first. */
  private chain(n: Node): Node[] {
    const out: Node[] = [];
    const seen = new Set<string>();
    for (let c: Node | undefined = n; c && !seen.has(c.process.execId); c = this.nodes.get(c.process.parentExecId)) {
      seen.add(c.process.execId);
      out.push(c);
    }
    return out;
  }

  private renderRow(row: HTMLElement, idx: number): void {
    const line = this.lines[idx];
    if (!line) return;
    const p = line.node.process;
    row.className = `vrow trow${line.node.alive ? "" : " exited"}${p.execId === this.selected ? " selected" : ""}`;
    const [start, uid, indent, state, pid, binary, args] = [...row.children] as HTMLElement[];
    start!.textContent = clockTime(p.startTime);
    uid!.textContent = p.uid === undefined ? "" : `uid ${p.uid}`;
    indent!.style.width = `${line.depth * 14}px`;
    state!.textContent = line.node.alive ? "●" : "○";
    state!.title = line.node.alive ? "alive" : "exited";
    pid!.textContent = String(p.pid ?? "");
    binary!.textContent = p.binary || "(unknown)";
    args!.textContent = p.arguments;
  }

  private select(execId: string | undefined): void {
    const n = execId ? this.nodes.get(execId) : undefined;
    if (!n) return;
    this.selected = execId;
    const p = n.process;
    clear(this.details);
    const events = h("button", { id: "tree-filter-events", type: "button", class: "primary" }, `Events of pid ${p.pid} and descendants`);
    events.addEventListener("click", () => this.filterToPidSet(p.pid ?? 0));
    const field = (k: string, v: string) => [h("dt", {}, k), h("dd", {}, v)];
    const chain = this.chain(n).map((a) => h("li", {}, `${a.process.binary || "(unknown)"} (${a.process.pid})${a.alive ? "" : " exited"}`));
    this.details.append(
      h("header", {}, h("strong", {}, p.binary)),
      h("dl", {}, ...field("pid", String(p.pid)), ...field("state", n.alive ? "alive" : "exited"), ...field("arguments", p.arguments), ...field("uid", String(p.uid ?? "")), ...field("cwd", p.cwd), ...field("started", dateTime(p.startTime)), ...field("flags", p.flags), ...field("exec_id", p.execId), ...field("parent_exec_id", p.parentExecId)),
      h("h4", {}, "Parent chain"),
      h("ol", { id: "parent-chain", class: "chain" }, ...chain),
      events,
    );
    this.details.hidden = false;
    this.list.schedule();
  }
}
