/** The web console in a real browser (Debian's chromium, headless) against a
 * real agent: live events, filters, policies, the process tree, health, and
 * reconnection. Screenshots of each view go to tests/output/console/. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { CHROMIUM, launchBrowser, markerProgram, openConsole, runMarker, removeMarkers, screenshot, signInAgain } from "./helpers/console";

const WAIT = 15_000;

let agent: RunningAgent;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let marker: string;
let markerPid = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/deps.sh does)`);
  agent = await startAgent();
  browser = await launchBrowser();
  ({ page, errors: pageErrors } = await openConsole(browser, agent));
  marker = markerProgram("/bin/true", "fgs-console-marker");
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  removeMarkers();
});

/** Rows as the list shows them (only the rendered, visible ones). */
async function visibleRows(p: Page): Promise<{ kind: string; pid: string; binary: string; detail: string; outcome: string }[]> {
  return await p.$$eval(".evrow:not([hidden])", (rows) =>
    rows.map((r) => {
      const cell = (c: string) => r.querySelector(`.${c}`)?.textContent ?? "";
      return { kind: cell("c-kind"), pid: cell("c-pid"), binary: cell("c-binary"), detail: cell("c-detail"), outcome: cell("c-outcome") };
    }),
  );
}

async function setInput(p: Page, selector: string, value: string): Promise<void> {
  await p.$eval(selector, (el) => ((el as HTMLInputElement | HTMLTextAreaElement).value = ""));
  if (value) await p.type(selector, value);
  await p.$eval(selector, (el) => el.dispatchEvent(new Event("input", { bubbles: true })));
}

/** The stream is open once an event arrived; processes started before that would be missed. */
async function untilStreaming(p: Page): Promise<void> {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    if ((await p.$eval("#stream-state", (e) => e.textContent)) === "streaming") return;
    await runMarker("/bin/true", []);
    await Bun.sleep(200);
  }
  throw new Error("the console's event stream did not start");
}

describe("live events", () => {
  test("the marker's exec and exit rows appear, and a row opens its JSON", async () => {
    await page.waitForSelector("#tab-live[aria-selected=true]");
    await untilStreaming(page);
    // Enough rows to overflow the list: only the visible ones are in the DOM.
    for (let i = 0; i < 40; i++) await runMarker("/bin/true", [`fill-${i}`]);
    await page.waitForFunction(() => Number(document.querySelector("#live-stats")?.textContent?.split(" ", 1)[0]) >= 80, { timeout: WAIT });
    const rendered = await page.$$eval(".evrow", (rows) => rows.length);
    const fits = await page.$eval(".vlist", (el) => Math.ceil(el.clientHeight / 22) + 1);
    expect(rendered).toBeLessThanOrEqual(fits);
    await screenshot(page, "live-events-all");
    const run = await runMarker(marker, ["console-marker-arg"]);
    markerPid = run.pid;
    expect(run.exitCode).toBe(0);
    await setInput(page, "#find", marker);
    await page.waitForFunction(
      (bin: string) => {
        const rows = [...document.querySelectorAll(".evrow:not([hidden])")];
        const kinds = rows.filter((r) => r.querySelector(".c-binary")?.textContent === bin).map((r) => r.querySelector(".c-kind")?.textContent);
        return kinds.includes("process") && kinds.includes("exit");
      },
      { timeout: WAIT },
      marker,
    );
    const rows = (await visibleRows(page)).filter((r) => r.binary === marker);
    const exec = rows.find((r) => r.kind === "process");
    const exit = rows.find((r) => r.kind === "exit");
    expect(exec).toMatchObject({ pid: String(markerPid), detail: "console-marker-arg" });
    expect(exit).toMatchObject({ pid: String(markerPid), outcome: "0" });
    await page.waitForFunction(() => /exec \d+(\.\d)?\/s/.test(document.querySelector("#live-rates")?.textContent ?? ""), { timeout: WAIT });
    await screenshot(page, "live-events");

    await page.click(".evrow:not([hidden])");
    const json = JSON.parse((await page.$eval("#event-json-text", (e) => e.textContent)) ?? "") as Record<string, { process: { binary: string; pid: number } }>;
    const body = json.process_exec ?? json.process_exit;
    expect(body?.process.binary).toBe(marker);
    expect(body?.process.pid).toBe(markerPid);
    await screenshot(page, "live-event-json");

    // Pause freezes the rows while events keep arriving; resume shows them.
    await page.click("#pause");
    await runMarker(marker, ["while-paused"]);
    await page.waitForFunction(() => /paused/.test(document.querySelector("#live-stats")?.textContent ?? ""), { timeout: WAIT });
    await Bun.sleep(1000);
    expect((await visibleRows(page)).some((r) => r.detail === "while-paused")).toBe(false);
    expect(await page.$eval("#pause", (e) => e.textContent)).toBe("Resume");
    await page.click("#pause");
    await page.waitForFunction(() => [...document.querySelectorAll(".evrow:not([hidden]) .c-detail")].some((e) => e.textContent === "while-paused"), { timeout: WAIT });
    await setInput(page, "#find", "");
  });

  test("a binary filter makes the agent send only matching rows", async () => {
    const name = marker.split("/").pop()!;
    await setInput(page, "#allow-binary", `${name}$`);
    await page.click("#apply-filters");
    await page.waitForFunction(() => document.querySelectorAll(".evrow:not([hidden])").length === 0, { timeout: WAIT });
    // The stream reopens asynchronously; run the marker until its rows arrive.
    const deadline = Date.now() + WAIT;
    while ((await visibleRows(page)).filter((r) => r.kind === "exit").length < 2 && Date.now() < deadline) {
      await runMarker(marker, ["filtered"]);
      await runMarker("/bin/true", ["not-matching"]);
      await Bun.sleep(300);
    }
    const rows = await visibleRows(page);
    expect(rows.filter((r) => r.kind === "exit").length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.binary === marker)).toBe(true);
    await screenshot(page, "live-filtered");
  });

  test("an invalid filter shows the agent's error inline", async () => {
    await setInput(page, "#allow-binary", "(unclosed");
    await page.click("#apply-filters");
    await page.waitForSelector("#filter-error:not([hidden])", { timeout: WAIT });
    const text = await page.$eval("#filter-error", (e) => e.textContent ?? "");
    expect(text).toContain("rejected");
    expect(text).toContain("(unclosed");
    expect(await page.$eval("#stream-state", (e) => e.textContent)).toBe("rejected");
    await setInput(page, "#allow-pid", "12x");
    await page.click("#apply-filters");
    await page.waitForFunction(() => document.querySelector("#filter-error")?.textContent?.includes("12x"), { timeout: WAIT });
    await page.click("#clear-filters");
    await page.waitForSelector("#filter-error[hidden]", { timeout: WAIT });
  });
});

describe("policies and sensors", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-console-policy-")));
  const policyName = `console-openat-${Math.random().toString(16).slice(2, 8)}`;
  const policy = (type: string, operator: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${policyName}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 0
      type: int
    - index: 1
      type: ${type}
    selectors:
    - matchArgs:
      - index: 1
        operator: ${operator}
        values: ["${dir}"]
`;

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a malformed policy shows its errors at their field paths", async () => {
    await page.click("#tab-policies");
    await page.waitForSelector("#view-policies:not([hidden]) tr[data-sensor=process]", { timeout: WAIT });
    // Uploaded from a file (the valid one below is pasted).
    const file = join(dir, "malformed.yaml");
    writeFileSync(file, policy("nosuchtype", "Bogus"));
    const upload = await page.$("input#policy-file");
    await upload!.uploadFile(file);
    await page.waitForFunction(() => (document.querySelector("#policy-yaml") as HTMLTextAreaElement).value.includes("nosuchtype"), { timeout: WAIT });
    await page.click("#policy-add");
    await page.waitForSelector("#policy-issues li", { timeout: WAIT });
    const paths = await page.$$eval("#policy-issues code.path", (els) => els.map((e) => e.textContent));
    expect(paths).toEqual(["spec.kprobes[0].args[1].type", "spec.kprobes[0].selectors[0].matchArgs[0].operator"]);
    expect(await page.$eval("#policy-issues", (e) => e.textContent)).toContain('unknown type "nosuchtype"');
    await screenshot(page, "policies-error");
  });

  test("a valid policy is listed with its hook mechanism, then disabled and removed", async () => {
    await setInput(page, "#policy-yaml", policy("string", "Prefix"));
    await page.click("#policy-add");
    const row = `tr[data-sensor="${policyName}"]`;
    await page.waitForSelector(row, { timeout: 30_000 });
    expect(await page.$eval("#policy-result", (e) => e.textContent)).toBe("Policy added.");
    expect(await page.$eval(`${row} .s-state`, (e) => e.textContent)).toBe("enabled");
    expect(await page.$eval(`${row} .s-mechanism`, (e) => e.textContent)).toBe("sys_openat=tracepoint syscalls/sys_enter_openat");

    // Its events reach the live view as syscall rows.
    writeFileSync(join(dir, "seen.txt"), "x");
    await page.click("#tab-live");
    await page.click("#clear-filters");
    await untilStreaming(page);
    await setInput(page, "#find", dir);
    const deadline = Date.now() + WAIT;
    while (!(await visibleRows(page)).some((r) => r.kind === "syscall") && Date.now() < deadline) {
      await runMarker("/bin/cat", [join(dir, "seen.txt")]);
      await Bun.sleep(300);
    }
    const syscall = (await visibleRows(page)).find((r) => r.kind === "syscall");
    expect(syscall?.detail).toContain(`sys_openat`);
    expect(syscall?.detail).toContain(join(dir, "seen.txt"));
    await screenshot(page, "live-syscall");
    await setInput(page, "#find", "");

    await page.click("#tab-policies");
    await page.waitForSelector(`${row} button.toggle`, { timeout: WAIT });
    await page.click(`${row} button.toggle`);
    await page.waitForFunction((r: string) => document.querySelector(`${r} .s-state`)?.textContent === "disabled", { timeout: WAIT }, row);
    const { sensors } = await agent.client().listSensors({});
    expect(sensors.find((s) => s.name === policyName)?.enabled).toBe(false);
    await screenshot(page, "policies");

    await page.click(`${row} button.remove`);
    await page.click(`${row} button.remove`);
    await page.waitForFunction((r: string) => !document.querySelector(r), { timeout: WAIT }, row);
    expect((await agent.client().listSensors({})).sensors.some((s) => s.name === policyName)).toBe(false);
  });
});

describe("process tree", () => {
  test("finds the marker and its parent chain up to this test process; a click filters the events to its pid set", async () => {
    const sleeper = markerProgram("/bin/sleep", "fgs-console-sleeper");
    const proc = spawn([sleeper, "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      await page.click("#tab-processes");
      await setInput(page, "#tree-find", marker.split("/").pop()!);
      const markerRow = `.trow:not([hidden])`;
      await page.waitForFunction((bin: string) => [...document.querySelectorAll(".trow:not([hidden]) .t-binary")].some((e) => e.textContent === bin), { timeout: WAIT }, marker);
      await page.$$eval(markerRow, (rows, bin) => (rows.find((r) => r.querySelector(".t-binary")?.textContent === bin) as HTMLElement | undefined)?.click(), marker);
      await page.waitForSelector("#parent-chain li", { timeout: WAIT });
      const chain = await page.$$eval("#parent-chain li", (els) => els.map((e) => e.textContent ?? ""));
      expect(chain[0]).toStartWith(`${marker} (`);
      expect(chain[0]).toEndWith("exited");
      expect(chain.some((l) => l.includes(`(${process.pid})`))).toBe(true);

      // A live process: the sleeper, a child of this test process.
      await page.click("#tree-reload");
      await setInput(page, "#tree-find", String(proc.pid));
      await page.waitForFunction((bin: string) => [...document.querySelectorAll(".trow:not([hidden]) .t-binary")].some((e) => e.textContent === bin), { timeout: WAIT }, sleeper);
      await page.$$eval(markerRow, (rows, bin) => (rows.find((r) => r.querySelector(".t-binary")?.textContent === bin) as HTMLElement | undefined)?.click(), sleeper);
      await page.waitForFunction((bin: string) => document.querySelector("#parent-chain li")?.textContent?.startsWith(bin), { timeout: WAIT }, sleeper);
      const sleeperChain = await page.$$eval("#parent-chain li", (els) => els.map((e) => e.textContent ?? ""));
      expect(sleeperChain[0]).toBe(`${sleeper} (${proc.pid})`);
      expect(sleeperChain[1]).toContain(`(${process.pid})`);
      await screenshot(page, "process-tree");

      await page.click("#tree-filter-events");
      await page.waitForSelector("#tab-live[aria-selected=true]", { timeout: WAIT });
      expect(await page.$eval("#allow-pidset", (e) => (e as HTMLInputElement).value)).toBe(String(proc.pid));
      await Bun.sleep(500);
      proc.kill("SIGTERM");
      await page.waitForFunction(() => [...document.querySelectorAll(".evrow:not([hidden]) .c-outcome")].some((e) => e.textContent === "SIGTERM"), { timeout: WAIT });
      const rows = await visibleRows(page);
      expect(rows.every((r) => r.pid === String(proc.pid))).toBe(true);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});

describe("health", () => {
  test("shows GetHealth, the loss counters by stage and the rate chart", async () => {
    await page.click("#tab-health");
    await page.waitForFunction(() => document.querySelector("#health-status")?.textContent === "running", { timeout: WAIT });
    const details = await page.$eval("#health-details", (e) => e.textContent ?? "");
    expect(details).toContain("sensors: process=enabled");
    const counters = await page.$eval("#loss-counters", (e) => e.textContent ?? "");
    expect(counters).toContain("lost_events");
    expect(counters).toContain("events not kept");
    await screenshot(page, "health");
  });

  test("dark mode is readable", async () => {
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
    await page.click("#tab-live");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe("rgb(13, 17, 23)");
    await screenshot(page, "live-events-dark");
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
  });
});

describe("a firehose", () => {
  test("keeps 10,000 events, counts the rest, renders only the visible rows", async () => {
    await page.click("#tab-policies");
    const row = 'tr[data-sensor="test"]';
    await page.waitForSelector(`${row} button.toggle`, { timeout: WAIT });
    await page.click(`${row} button.toggle`);
    await page.waitForFunction((r: string) => document.querySelector(`${r} .s-state`)?.textContent === "enabled", { timeout: WAIT }, row);
    try {
      await page.click("#tab-live");
      await page.click("#clear-filters");
      await page.click("#allow-type-test");
      await page.click("#apply-filters");
      await untilStreaming(page).catch(() => {});
      // The test sensor emits one event per getppid(2): 15,000 at about 5,000/s
      // (an unpaced burst would overflow the agent's per-stream queue instead).
      const script = "import os, time\nfor i in range(15000):\n  os.getppid()\n  if i % 100 == 99: time.sleep(0.02)";
      const burst = spawn(["python3", "-c", script], { stdout: "ignore", stderr: "inherit" });
      expect(await burst.exited).toBe(0);
      await page.waitForFunction(() => /^10000 kept .* [1-9]\d* not kept/.test(document.querySelector("#live-stats")?.textContent ?? ""), { timeout: 30_000 });
      const started = Date.now();
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
      expect(Date.now() - started).toBeLessThan(2000);
      const rendered = await page.$$eval(".evrow", (rows) => rows.length);
      expect(rendered).toBeLessThanOrEqual(await page.$eval(".vlist", (el) => Math.ceil(el.clientHeight / 22) + 1));
      expect((await visibleRows(page)).every((r) => r.kind === "test")).toBe(true);
      await screenshot(page, "live-firehose");
    } finally {
      await page.click("#tab-policies");
      await page.waitForSelector(`${row} button.toggle`, { timeout: WAIT });
      await page.click(`${row} button.toggle`);
      await page.waitForFunction((r: string) => document.querySelector(`${r} .s-state`)?.textContent === "disabled", { timeout: WAIT }, row);
      await page.click("#tab-live");
      await page.click("#clear-filters");
    }
  });
});

describe("agent restarts", () => {
  test("a banner while it is down, then automatic reconnection", async () => {
    const address = agent.address;
    expect(await agent.stop()).toBe(0);
    await page.waitForFunction(() => document.querySelector("#banner:not([hidden])")?.textContent?.includes("unreachable"), { timeout: WAIT });
    await screenshot(page, "agent-down");
    agent = await startAgent(["--server-address", address]);
    await signInAgain(browser, agent);
    await page.waitForFunction(() => document.querySelector("#banner")?.textContent?.includes("reconnected"), { timeout: WAIT });
    // Still streaming, from the new agent: the marker's exec arrives.
    await page.click("#clear-filters");
    await untilStreaming(page);
    await setInput(page, "#find", marker);
    const deadline = Date.now() + WAIT;
    while (!(await visibleRows(page)).some((r) => r.binary === marker) && Date.now() < deadline) {
      await runMarker(marker, ["after-restart"]);
      await Bun.sleep(300);
    }
    expect((await visibleRows(page)).some((r) => r.binary === marker && r.detail === "after-restart")).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
