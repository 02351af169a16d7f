import { createApi } from "./api";
import { Connection } from "./connection";
import { byId, h } from "./dom";
import { HealthView } from "./health-view";
import { LiveView } from "./live-view";
import { PoliciesView } from "./policies-view";
import { TreeView } from "./tree-view";

type Tab = "live" | "processes" | "policies" | "health";
const TABS: readonly [Tab, string][] = [
  ["live", "Live events"],
  ["processes", "Process tree"],
  ["policies", "Policies & sensors"],
  ["health", "Health"],
];

function main(): void {
  const api = createApi(location.origin);
  const conn = new Connection(api, byId("banner"));
  const live = new LiveView(api, conn);
  const tree = new TreeView(api, (pid) => {
    live.setFilters({ pidSet: [pid] }, {});
    select("live");
  });
  const policies = new PoliciesView(api);
  const health = new HealthView(live);
  live.onEvent = (ev) => tree.observe(ev);
  const views: Record<Tab, { el: HTMLElement; show?(v: boolean): void }> = { live, processes: tree, policies, health };
  const nav = byId("tabs");
  const buttons = new Map<Tab, HTMLButtonElement>();
  for (const [tab, label] of TABS) {
    const b = h("button", { type: "button", id: `tab-${tab}`, role: "tab" }, label);
    b.addEventListener("click", () => select(tab));
    buttons.set(tab, b);
    nav.append(b);
  }
  const main = byId("main");
  for (const v of Object.values(views)) main.append(v.el);

  function select(tab: Tab): void {
    for (const [t, v] of Object.entries(views) as [Tab, (typeof views)[Tab]][]) {
      v.el.hidden = t !== tab;
      v.show?.(t === tab);
      buttons.get(t)?.setAttribute("aria-selected", String(t === tab));
    }
    if (location.hash !== `#${tab}`) history.replaceState(null, "", `#${tab}`);
  }

  conn.start((h) => {
    health.update(h);
    byId("agent-status").textContent = h.healthStatus[0]?.details.split("; ", 1)[0] ?? "";
  });
  void api.fgs.getVersion({}).then((v) => (byId("agent-version").textContent = `fgs ${v.version}`)).catch(() => {});
  const initial = location.hash.slice(1) as Tab;
  select(TABS.some(([t]) => t === initial) ? initial : "live");
  live.restart();
}

main();
