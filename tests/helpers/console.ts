/** Shared by tests/console-*.test.ts: the console's URL, a headless Chromium,
 * and marker programs with unique names. */
import { spawn } from "bun";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { ROOT, type RunningAgent } from "./agent";

export const CHROMIUM = "/usr/bin/chromium";
export const OUTPUT_DIR = join(ROOT, "tests", "output", "console");

/** What a user opens: the login URL the agent printed (session cookie, then
 * a redirect to /) when the agent prints one, else the console itself. */
export function consoleUrl(agent: RunningAgent): string {
  const login = agent.log().match(/https?:\/\/[^\s"\\]+\/login\?token=[^\s"\\]+/);
  return login ? login[0] : `${agent.baseUrl}/`;
}

/** After an agent restart: when it prints a new login URL, sign in again in
 * another tab (the cookie is per origin), leaving the console's tab alone. */
export async function signInAgain(browser: Browser, agent: RunningAgent): Promise<void> {
  const url = consoleUrl(agent);
  if (!url.includes("/login?")) return;
  const tab = await browser.newPage();
  try {
    await tab.goto(url, { waitUntil: "load", timeout: 15_000 });
  } finally {
    await tab.close();
  }
}

export async function launchBrowser(): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it does not get here.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: 30_000,
  });
}

/** Opens the console on a laptop-sized screen; page errors are collected for the test to check. */
export async function openConsole(browser: Browser, agent: RunningAgent, scheme: "light" | "dark" = "light"): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // The page must work under its own Content-Security-Policy.
  page.on("console", (m) => {
    if (/content security policy/i.test(m.text())) errors.push(m.text());
  });
  await page.setViewport({ width: 1366, height: 768 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
  page.setDefaultTimeout(15_000);
  await page.goto(consoleUrl(agent), { waitUntil: "load", timeout: 15_000 });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path: path as `${string}.png` });
  return path;
}

const markerDirs: string[] = [];

/** A copy of a system program under a unique name, so its rows are unmistakable. */
export function markerProgram(program: string, stem: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-console-")));
  markerDirs.push(dir);
  const path = join(dir, `${stem}-${Math.random().toString(16).slice(2, 10)}`);
  copyFileSync(program, path);
  chmodSync(path, 0o755);
  return path;
}

export async function runMarker(path: string, args: string[]): Promise<{ pid: number; exitCode: number }> {
  const proc = spawn([path, ...args], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return { pid: proc.pid, exitCode: await proc.exited };
}

export function removeMarkers(): void {
  for (const dir of markerDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
