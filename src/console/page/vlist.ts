import { h } from "./dom";

export interface VirtualListOptions {
  rowHeight: number;
  /** builds one pooled row element (its children are reused) */
  createRow(): HTMLElement;
  /** fills a pooled row for item `seq` */
  renderRow(row: HTMLElement, seq: number): void;
  onSelect(seq: number): void;
}

/** A list that renders only the rows in view: a spacer gives the scroll
 * height, a small pool of absolutely positioned rows shows the visible slice.
 * Items are addressed by sequence numbers in [first, end). */
export class VirtualList {
  readonly root: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private first = 0;
  private end = 0;
  private scheduled = false;
  /** stick to the newest row while the user has not scrolled up */
  follow = true;

  constructor(private readonly options: VirtualListOptions) {
    this.spacer = h("div", { class: "vlist-spacer" });
    this.root = h("div", { class: "vlist", tabindex: 0, role: "list" }, this.spacer);
    this.root.addEventListener("scroll", () => {
      const { scrollTop, clientHeight, scrollHeight } = this.root;
      this.follow = scrollTop + clientHeight >= scrollHeight - options.rowHeight;
      this.schedule();
    });
    this.root.addEventListener("click", (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>("[data-seq]");
      if (row?.dataset.seq) options.onSelect(Number(row.dataset.seq));
    });
  }

  /** New bounds; the rows are redrawn on the next animation frame. */
  setRange(first: number, end: number): void {
    if (!this.follow && first > this.first) this.root.scrollTop -= (first - this.first) * this.options.rowHeight;
    this.first = first;
    this.end = end;
    this.schedule();
  }

  /** Redraws the visible rows (e.g. after a selection change). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  private draw(): void {
    const { rowHeight } = this.options;
    const count = this.end - this.first;
    this.spacer.style.height = `${count * rowHeight}px`;
    if (this.follow) this.root.scrollTop = this.root.scrollHeight;
    const from = Math.max(0, Math.floor(this.root.scrollTop / rowHeight));
    const visible = Math.min(count - from, Math.ceil(this.root.clientHeight / rowHeight) + 1);
    this.ensurePool(Math.max(0, visible));
    this.pool.forEach((row, i) => {
      if (i >= visible) {
        row.hidden = true;
        return;
      }
      const idx = from + i;
      row.hidden = false;
      row.style.transform = `translateY(${idx * rowHeight}px)`;
      row.dataset.seq = String(this.first + idx);
      this.options.renderRow(row, this.first + idx);
    });
  }

  private ensurePool(n: number): void {
    while (this.pool.length < n) {
      const row = this.options.createRow();
      row.classList.add("vrow");
      row.style.height = `${this.options.rowHeight}px`;
      this.pool.push(row);
      this.root.append(row);
    }
  }
}
