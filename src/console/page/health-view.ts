import { HealthStatusResult, type GetHealthStatusResponse } from "../../../gen/tetragon/tetragon_pb";
import { clear, h } from "./dom";
import type { LiveView } from "./live-view";

const CHART_SECONDS = 300;

/** key=value pairs of one GetHealth details section ("bus: a=1 b=2"). */
function pairs(section: string): [string, string][] {
  return [...section.matchAll(/([\w.]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]);
}

/** GetHealth details, the loss counters by stage, and the page's event rate. */
export class HealthView {
  readonly el: HTMLElement;
  private readonly status = h("div", { id: "health-status", class: "pill" }, "unknown");
  private readonly details = h("ul", { id: "health-details", class: "details" });
  private readonly counters = h("tbody", { id: "loss-counters" });
  private readonly canvas = h("canvas", { id: "rate-chart", width: 900, height: 180 });
  private visible = false;
  private last: GetHealthStatusResponse | undefined;

  constructor(private readonly live: LiveView) {
    this.el = h(
      "section",
      { id: "view-health", class: "view scroll", hidden: true },
      h("div", { class: "toolbar" }, h("strong", {}, "Agent health "), this.status),
      h("h3", {}, "Details (GetHealth)"),
      this.details,
      h("h3", {}, "Drops and losses by stage"),
      h("table", { class: "sensors" }, h("thead", {}, h("tr", {}, h("th", {}, "stage"), h("th", {}, "counter"), h("th", {}, "value"))), this.counters),
      h("h3", {}, "Events per second received by this page (last 5 minutes)"),
      this.canvas,
    );
    setInterval(() => {
      if (this.visible) this.draw();
    }, 1000);
  }

  show(visible: boolean): void {
    this.visible = visible;
    if (visible) this.draw();
  }

  update(health: GetHealthStatusResponse): void {
    this.last = health;
    if (this.visible) this.draw();
  }

  private draw(): void {
    this.drawHealth();
    this.drawCounters();
    this.drawChart();
  }

  private drawHealth(): void {
    const s = this.last?.healthStatus[0];
    const name = s ? (HealthStatusResult[s.status] ?? String(s.status)).replace(/^HEALTH_STATUS_/, "").toLowerCase() : "unknown";
    this.status.textContent = name;
    this.status.className = `pill health-${name}`;
    clear(this.details);
    for (const part of this.allDetails().split("; ").filter((p) => p)) this.details.append(h("li", {}, part));
  }

  /** Every entry's details: the first says "running" (as tetra shows it), the next carry the diagnostics. */
  private allDetails(): string {
    return (this.last?.healthStatus ?? []).map((st) => st.details).join("; ");
  }

  private drawCounters(): void {
    clear(this.counters);
    const details = this.allDetails();
    const row = (stage: string, counter: string, value: string) => this.counters.append(h("tr", {}, h("td", {}, stage), h("td", {}, counter), h("td", { class: "num" }, value)));
    for (const section of details.split("; ")) {
      const [stage] = section.split(/[:\s]/, 1);
      for (const [k, v] of pairs(section)) if (/lost|drop|miss|overflow|fail/.test(k)) row(stage ?? "", k, v);
    }
    row("this page", "events not kept (over the 10,000 cap)", String(this.live.store.dropped));
  }

  private drawChart(): void {
    this.live.meter.roll();
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const { width, height } = this.canvas;
    const style = getComputedStyle(this.canvas);
    const fg = style.getPropertyValue("--fg").trim() || "#888";
    const accent = style.getPropertyValue("--accent").trim() || "#4a8";
    ctx.clearRect(0, 0, width, height);
    const now = Math.floor(Date.now() / 1000);
    const history = this.live.meter.history.filter(([s]) => s > now - CHART_SECONDS);
    const max = Math.max(10, ...history.map(([, n]) => n));
    const x = (s: number) => ((s - (now - CHART_SECONDS)) / CHART_SECONDS) * (width - 50) + 45;
    const y = (n: number) => height - 20 - (n / max) * (height - 30);
    ctx.strokeStyle = fg;
    ctx.fillStyle = fg;
    ctx.globalAlpha = 0.4;
    ctx.beginPath();
    ctx.moveTo(45, y(0));
    ctx.lineTo(width - 5, y(0));
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.font = "11px sans-serif";
    ctx.fillText(`${max}/s`, 2, y(max) + 4);
    ctx.fillText("0", 30, y(0) + 4);
    ctx.fillText("−5 min", 45, height - 4);
    ctx.fillText("now", width - 28, height - 4);
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach(([s, n], i) => (i === 0 ? ctx.moveTo(x(s), y(n)) : ctx.lineTo(x(s), y(n))));
    ctx.stroke();
    ctx.lineWidth = 1;
  }
}
