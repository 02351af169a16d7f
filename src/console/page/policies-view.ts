import { ConnectError } from "@connectrpc/connect";
import type { SensorStatus } from "../../../gen/tetragon/tetragon_pb";
import type { Api } from "./api";
import { clear, errorText, h } from "./dom";

const REFRESH_MS = 3000;

/** One "<field path>: <reason>" issue of a refused policy. */
export interface PolicyIssue {
  path: string;
  reason: string;
}

/** The agent joins issues with "; " and writes each as "<path>: <reason>"
 * (src/policy/model/errors.ts); a message without a path is one issue at the top. */
export function parseIssues(message: string): PolicyIssue[] {
  return message
    .split("; ")
    .filter((s) => s.trim() !== "")
    .map((s) => {
      const m = /^([A-Za-z_][\w.]*(?:\[\d+\][\w.]*)*): (.*)$/s.exec(s);
      return m ? { path: m[1]!, reason: m[2]! } : { path: "", reason: s };
    });
}

/** Sensors (ListSensors + each one's read-only `mechanism` config key),
 * their controls, and adding a policy from pasted or uploaded YAML. */
export class PoliciesView {
  readonly el: HTMLElement;
  private readonly table = h("tbody", { id: "sensor-rows" });
  private readonly tableError = h("div", { id: "sensor-error", class: "inline-error", hidden: true });
  private readonly yaml = h("textarea", { id: "policy-yaml", rows: 14, spellcheck: "false", placeholder: "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: …\nspec:\n  kprobes: …" });
  private readonly addResult = h("div", { id: "policy-result", role: "status" });
  private readonly mechanisms = new Map<string, string>();
  private visible = false;
  private rendered = "";

  constructor(private readonly api: Api) {
    const upload = h("input", { id: "policy-file", type: "file", accept: ".yaml,.yml,.json,text/yaml" });
    upload.addEventListener("change", () => void this.readUpload(upload));
    const add = h("button", { id: "policy-add", type: "button", class: "primary" }, "Add policy");
    add.addEventListener("click", () => void this.addPolicy());
    this.el = h(
      "section",
      { id: "view-policies", class: "view scroll", hidden: true },
      h("h3", {}, "Sensors"),
      h(
        "p",
        { class: "note" },
        "ListSensors reports each sensor's name and state only. The hook mechanism is not part of it: it is read from each policy sensor's read-only ",
        h("code", {}, "mechanism"),
        " config key (GetSensorConfig); built-in sensors have none.",
      ),
      this.tableError,
      h("table", { class: "sensors" }, h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "state"), h("th", {}, "hook mechanism"), h("th", {}, ""))), this.table),
      h("h3", {}, "Add a tracing policy"),
      h("div", { class: "toolbar" }, h("label", {}, "Upload YAML ", upload), add),
      this.yaml,
      this.addResult,
    );
    setInterval(() => {
      if (this.visible) void this.refresh();
    }, REFRESH_MS);
  }

  show(visible: boolean): void {
    this.visible = visible;
    if (visible) void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const { sensors } = await this.api.fgs.listSensors({}, { timeoutMs: 5000 });
      await Promise.all(sensors.map((s) => this.loadMechanism(s.name)));
      this.render(sensors);
      this.tableError.hidden = true;
    } catch (e) {
      this.showTableError(`ListSensors failed: ${errorText(e)}`);
    }
  }

  private async loadMechanism(name: string): Promise<void> {
    if (this.mechanisms.has(name)) return;
    try {
      const { cfgval } = await this.api.fgs.getSensorConfig({ name, cfgkey: "mechanism" }, { timeoutMs: 5000 });
      this.mechanisms.set(name, cfgval);
    } catch {
      this.mechanisms.set(name, "");
    }
  }

  /** Rebuilds the rows only when something changed, so a click never lands on a replaced button. */
  private render(sensors: SensorStatus[]): void {
    const key = JSON.stringify(sensors.map((s) => [s.name, s.enabled, this.mechanisms.get(s.name)]));
    if (key === this.rendered) return;
    this.rendered = key;
    clear(this.table);
    for (const s of [...sensors].sort((a, b) => a.name.localeCompare(b.name))) {
      const toggle = h("button", { type: "button", class: "toggle", "data-sensor": s.name }, s.enabled ? "Disable" : "Enable");
      toggle.addEventListener("click", () => void this.act(s.enabled ? "disable" : "enable", s.name));
      const remove = h("button", { type: "button", class: "danger remove", "data-sensor": s.name }, "Remove");
      remove.addEventListener("click", () => this.confirmRemove(remove, s.name));
      this.table.append(
        h(
          "tr",
          { "data-sensor": s.name },
          h("td", { class: "s-name" }, s.name),
          h("td", { class: `s-state ${s.enabled ? "on" : "off"}` }, s.enabled ? "enabled" : "disabled"),
          h("td", { class: "s-mechanism" }, this.mechanisms.get(s.name) || "—"),
          h("td", { class: "s-actions" }, toggle, remove),
        ),
      );
    }
  }

  /** Remove asks for a second click, without a modal dialog. */
  private confirmRemove(button: HTMLButtonElement, name: string): void {
    if (button.dataset.armed) {
      void this.act("remove", name);
      return;
    }
    button.dataset.armed = "1";
    button.textContent = "Confirm remove";
    setTimeout(() => {
      delete button.dataset.armed;
      button.textContent = "Remove";
    }, 4000);
  }

  private async act(what: "enable" | "disable" | "remove", name: string): Promise<void> {
    try {
      if (what === "enable") await this.api.fgs.enableSensor({ name });
      else if (what === "disable") await this.api.fgs.disableSensor({ name });
      else await this.api.fgs.removeSensor({ name });
      this.mechanisms.delete(name);
      await this.refresh();
    } catch (e) {
      this.showTableError(`${what} ${name} failed: ${errorText(e)}`);
    }
  }

  private showTableError(message: string): void {
    this.tableError.hidden = false;
    this.tableError.textContent = message;
  }

  private async readUpload(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    if (file) this.yaml.value = await file.text();
  }

  private async addPolicy(): Promise<void> {
    clear(this.addResult);
    this.addResult.className = "";
    try {
      await this.api.fgs.addTracingPolicy({ yaml: this.yaml.value }, { timeoutMs: 30_000 });
      this.addResult.className = "ok";
      this.addResult.textContent = "Policy added.";
      await this.refresh();
    } catch (e) {
      const err = ConnectError.from(e);
      const issues = parseIssues(err.rawMessage);
      this.addResult.className = "inline-error";
      this.addResult.append(
        h("div", {}, `The agent refused the policy (${codeName(err)}):`),
        h("ul", { id: "policy-issues" }, ...issues.map((i) => h("li", {}, i.path ? h("code", { class: "path" }, i.path) : null, i.path ? " " : null, i.reason))),
      );
    }
  }
}

function codeName(err: ConnectError): string {
  return err.message.match(/^\[([a-z_]+)\]/)?.[1] ?? String(err.code);
}
