// Two agents on one machine, neither given --console-token-file: each writes
// its own token file (/run/fgs/console-token-PORT), so neither overwrites the
// other's and both console logins work. The file goes away when its agent stops.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { startAgent, type RunningAgent } from "./helpers/agent";

if (process.getuid?.() !== 0) throw new Error("security-console-token writes to /run/fgs: it needs root");

interface ConsoleLog {
  url: string;
  token_file: string;
}

function consoleLine(agent: RunningAgent): ConsoleLog {
  const line = agent.log().split("\n").find((l) => l.includes('"msg":"console"'));
  if (!line) throw new Error(`no console line in the agent's log:\n${agent.log()}`);
  return JSON.parse(line) as ConsoleLog;
}

function tokenOf(url: string): string {
  return new URL(url).searchParams.get("token") ?? "";
}

/** GET /login?token=T; then, with the cookie it set, a browser-style API call. */
function login(agent: RunningAgent, token: string): { status: number; cookie: string | undefined; apiStatus: number | undefined } {
  const r = spawnSync("curl", ["-sS", "-i", "--max-time", "10", `${agent.baseUrl}/login?token=${token}`], { encoding: "utf8" });
  const status = Number(r.stdout.split(" ")[1]);
  const cookie = /set-cookie: (fgs_session=[^;\r\n]+)/i.exec(r.stdout)?.[1];
  if (!cookie) return { status, cookie, apiStatus: undefined };
  const api = spawnSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-X", "POST", "-H", "content-type: application/json", "-H", `Origin: ${agent.baseUrl}`, "-H", `Cookie: ${cookie}`, "--data-binary", "{}", `${agent.baseUrl}/tetragon.FineGuidanceSensors/GetVersion`], { encoding: "utf8" });
  return { status, cookie, apiStatus: Number(api.stdout) };
}

describe("the default console token file is per listen address", () => {
  let first: RunningAgent;
  let second: RunningAgent;
  beforeAll(async () => {
    first = await startAgent();
    second = await startAgent();
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  test("each agent writes its own 0600 file, named by its port, holding its token", () => {
    for (const agent of [first, second]) {
      const { url, token_file: path } = consoleLine(agent);
      expect(path).toBe(`/run/fgs/console-token-${agent.address.split(":")[1]}`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, "utf8")).toBe(`${tokenOf(url)}\n`);
    }
    expect(consoleLine(first).token_file).not.toBe(consoleLine(second).token_file);
  });

  test("both console logins work, each with its own token only", () => {
    for (const [agent, other] of [[first, second], [second, first]] as const) {
      const token = readFileSync(consoleLine(agent).token_file, "utf8").trim();
      const ok = login(agent, token);
      expect(ok.status).toBe(303);
      expect(ok.apiStatus).toBe(200);
      const crossed = login(agent, readFileSync(consoleLine(other).token_file, "utf8").trim());
      expect(crossed.status).toBe(403);
    }
  });

  test("the file is removed when its agent stops; the other agent's stays", async () => {
    const path = consoleLine(first).token_file;
    await first.stop();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(consoleLine(second).token_file)).toBe(true);
  });
});
