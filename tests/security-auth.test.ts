// Issue 11, items 1-3: only root (or --api-group members) may call any method;
// browsers need a console session; CORS off unless listed; Host names the
// listen address; the unix socket is 0600/0660 and never replaces a file.
// Real uid switching (setpriv), real curl with Origin headers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";
import { grpcJsClient, grpcStream, grpcUnary } from "./helpers/grpc-js";

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const DAEMON = ["setpriv", "--reuid=1", "--regid=1", "--clear-groups"];
const VERSION = "/tetragon.FineGuidanceSensors/GetVersion";

if (process.getuid?.() !== 0) throw new Error("security tests need root (they switch uid with setpriv)");

const dir = mkdtempSync(join(tmpdir(), "fgs-sec-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Curl {
  status: number;
  headers: string;
  body: string;
}

function curl(as: string[], url: string, args: string[] = []): Curl {
  const r = spawnSync(as[0] ?? "curl", [...as.slice(1), ...(as.length ? ["curl"] : []), "-sS", "-i", "--max-time", "10", ...args, url], { encoding: "utf8" });
  const text = r.stdout.replace(/^HTTP\/1.1 100 Continue\r\n\r\n/, "");
  const [head = "", ...rest] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), headers: head.toLowerCase(), body: rest.join("\r\n\r\n") };
}

const json = ["-X", "POST", "-H", "content-type: application/json", "--data-binary", "{}"];

describe("loopback TCP", () => {
  let agent: RunningAgent;
  const tokenFile = join(dir, "console-token");
  beforeAll(async () => {
    agent = await startAgent(["--console-token-file", tokenFile]);
  });
  afterAll(async () => {
    await agent?.stop();
  });
  const url = (path: string) => `${agent.baseUrl}${path}`;

  test("root keeps working: grpc-js, Connect JSON, the fgs CLI", async () => {
    const c = grpcJsClient("tetragon", agent.address);
    expect((await grpcUnary<{ version: string }>(c, "GetVersion", {})).version).toMatch(/^\d/);
    c.close();
    expect(curl([], url(VERSION), json).status).toBe(200);
    const cli = spawnSync(FGS, ["version", "--server-address", agent.address], { encoding: "utf8", timeout: 20000 });
    expect(cli.stdout).toContain("agent:");
  });

  test("nobody is refused on every protocol, GetEvents and policy changes included", () => {
    const r = curl(NOBODY, url(VERSION), json);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ code: "permission_denied" });
    expect(JSON.parse(r.body).message).toContain("uid 65534");
    const grpc = curl(NOBODY, url("/tetragon.FineGuidanceSensors/GetEvents"), ["--http2-prior-knowledge", "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@/dev/null"]);
    expect(grpc.headers).toContain("grpc-status: 7");
    const frame = join(dir, "frame");
    writeFileSync(frame, Buffer.from([0, 0, 0, 0, 2, 0x7b, 0x7d]));
    chmodSync(frame, 0o644);
    const stream = curl(NOBODY, url("/tetragon.FineGuidanceSensors/GetEvents"), ["-X", "POST", "-H", "content-type: application/connect+json", "--data-binary", `@${frame}`]);
    expect(stream.body).toContain("permission_denied");
    const policy = join(dir, "kill.yaml");
    writeFileSync(policy, "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: sec-kill\nspec:\n  kprobes: []\n");
    chmodSync(policy, 0o644);
    const cli = spawnSync(NOBODY[0]!, [...NOBODY.slice(1), FGS, "tracingpolicy", "add", policy, "--server-address", agent.address], { encoding: "utf8", timeout: 20000 });
    expect(cli.status).not.toBe(0);
    expect(cli.stderr).toContain("permission_denied");
    const disable = curl(NOBODY, url("/tetragon.FineGuidanceSensors/DisableSensor"), ["-X", "POST", "-H", "content-type: application/json", "--data-binary", '{"name":"process"}']);
    expect(disable.status).toBe(403);
    expect(curl([], url("/tetragon.FineGuidanceSensors/ListSensors"), json).body).toContain('"enabled":true');
  });

  test("root over grpc-js GetEvents still streams", async () => {
    const c = grpcJsClient("tetragon", agent.address);
    const s = grpcStream(c, "GetEvents", {});
    const got = new Promise<unknown>((resolve, reject) => {
      s.once("data", resolve);
      s.once("error", reject);
    });
    spawnSync("/bin/true");
    await got;
    s.cancel();
    c.close();
  });

  test("Host must name the listen address (DNS rebinding)", () => {
    const r = curl([], url(VERSION), [...json, "-H", "Host: rebind.example:80"]);
    expect(r.status).toBe(403);
    expect(r.body).toContain("Host");
    const port = agent.address.split(":").pop();
    expect(curl([], url(VERSION), [...json, "-H", `Host: localhost:${port}`]).status).toBe(200);
  });

  test("browsers: CORS off, Origin checked, session cookie required even for root", () => {
    const pre = curl([], url(VERSION), ["-X", "OPTIONS", "-H", "Origin: http://evil.example", "-H", "Access-Control-Request-Method: POST"]);
    expect(pre.status).toBe(403);
    expect(pre.headers).not.toContain("access-control-allow-origin");
    const cross = curl([], url(VERSION), [...json, "-H", "Origin: http://evil.example"]);
    expect(cross.status).toBe(403);
    expect(cross.headers).not.toContain("access-control-allow-origin");
    const same = curl([], url(VERSION), [...json, "-H", `Origin: ${agent.baseUrl}`]);
    expect(same.status).toBe(403);
    expect(same.body).toContain("console session");
    const fetchSite = curl([], url(VERSION), [...json, "-H", "Sec-Fetch-Site: same-site"]);
    expect(fetchSite.status).toBe(403);
  });

  test("console token: 0600 file, constant login URL, HttpOnly SameSite=Strict cookie", () => {
    const st = statSync(tokenFile);
    expect(st.mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(agent.log()).toContain(`/login?token=${token}`);
    expect(curl([], url("/login?token=wrong")).status).toBe(403);
    const login = curl([], url(`/login?token=${token}`));
    expect(login.status).toBe(303);
    expect(login.headers).toContain("location: /");
    const cookie = /set-cookie: (fgs_session=[^;\r\n]+)([^\r\n]*)/.exec(login.headers);
    expect(cookie).not.toBeNull();
    expect(cookie![2]).toContain("httponly");
    expect(cookie![2]).toContain("samesite=strict");
    expect(cookie![2]).toContain("path=/");
    // The cookie value is case-sensitive: take it from a raw header.
    const raw = spawnSync("curl", ["-sS", "-i", url(`/login?token=${token}`)], { encoding: "utf8" }).stdout;
    const session = /fgs_session=([^;\r\n]+)/.exec(raw)![1]!;
    const ok = curl([], url(VERSION), [...json, "-H", `Origin: ${agent.baseUrl}`, "-H", `Cookie: fgs_session=${session}`]);
    expect(ok.status).toBe(200);
    const otherPort = curl([], url(VERSION), [...json, "-H", "Origin: http://127.0.0.1:1", "-H", `Cookie: fgs_session=${session}`]);
    expect(otherPort.status).toBe(403);
    expect(curl([], url(VERSION), [...json, "-H", `Origin: ${agent.baseUrl}`, "-H", "Cookie: fgs_session=forged"]).status).toBe(403);
  });
});

describe("unix socket", () => {
  test("0600 socket; root CLI works; others cannot connect", async () => {
    const path = join(dir, "a.sock");
    const agent = await startAgent(["--server-address", `unix:${path}`]);
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const cli = spawnSync(FGS, ["sensors", "list", "--server-address", `unix:${path}`], { encoding: "utf8", timeout: 20000 });
      expect(cli.stdout).toContain("process");
      const r = curl(NOBODY, "http://localhost" + VERSION, ["--unix-socket", path, ...json]);
      expect(r.status).toBeNaN(); // connection refused by the file mode
      expect(existsSync(join(dir, "console-token"))).toBe(true);
      // Even if the mode were opened, SO_PEERCRED still refuses the uid.
      chmodSync(path, 0o666);
      const peer = curl(NOBODY, "http://localhost" + VERSION, ["--unix-socket", path, ...json]);
      expect(peer.status).toBe(403);
      expect(peer.body).toContain("uid 65534");
    } finally {
      await agent.stop();
    }
  });

  test("--api-group: 0660 group socket, members allowed, others refused; --cors-allow-origin lists origins", async () => {
    const path = join(dir, "g.sock");
    const agent = await startAgent(["--server-address", `unix:${path}`, "--api-group", "nogroup", "--cors-allow-origin", "http://page.example"]);
    try {
      const st = statSync(path);
      expect(st.mode & 0o777).toBe(0o660);
      expect(st.gid).toBe(65534);
      expect(curl(NOBODY, "http://localhost" + VERSION, ["--unix-socket", path, ...json]).status).toBe(200);
      chmodSync(path, 0o666);
      const other = curl(DAEMON, "http://localhost" + VERSION, ["--unix-socket", path, ...json]);
      expect(other.status).toBe(403);
      const pre = curl([], "http://localhost" + VERSION, ["--unix-socket", path, "-X", "OPTIONS", "-H", "Origin: http://page.example", "-H", "Access-Control-Request-Method: POST"]);
      expect(pre.status).toBe(204);
      expect(pre.headers).toContain("access-control-allow-origin: http://page.example");
      const evil = curl([], "http://localhost" + VERSION, ["--unix-socket", path, "-X", "OPTIONS", "-H", "Origin: http://evil.example", "-H", "Access-Control-Request-Method: POST"]);
      expect(evil.headers).not.toContain("access-control-allow-origin");
    } finally {
      await agent.stop();
    }
  });

  test("a regular file at the unix: path is never deleted", async () => {
    const path = join(dir, "precious");
    writeFileSync(path, "keep me");
    const err = await startAgent(["--server-address", `unix:${path}`]).then(
      async (a) => {
        await a.stop();
        return "started";
      },
      (e: Error) => e.message,
    );
    expect(err).toContain("not a socket");
    expect(readFileSync(path, "utf8")).toBe("keep me");
  });
});

describe("exposure", () => {
  test("a non-loopback address without TLS and a credential is refused at start", async () => {
    const r = spawnSync(FGS, ["agent", "--server-address", "0.0.0.0:0"], { encoding: "utf8", timeout: 30000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refusing to serve on non-loopback address");
  });

  test("--api-unsafe-allow-all opens access, with a warning", async () => {
    const agent = await startAgent(["--api-unsafe-allow-all", "--console-token-file", join(dir, "t2")]);
    try {
      expect(agent.log()).toContain("--api-unsafe-allow-all");
      expect(curl(NOBODY, `${agent.baseUrl}${VERSION}`, json).status).toBe(200);
    } finally {
      await agent.stop();
    }
  });
});
