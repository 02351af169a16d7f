// Issue 11: remote access needs TLS plus a client certificate or a bearer
// token. The agent listens on this machine's non-loopback address; curl is a
// remote caller there (the guard never looks up uids for such peers).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";

const dir = mkdtempSync(join(tmpdir(), "fgs-tls-"));
const IP = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
if (!IP) throw new Error("security-tls needs a non-loopback IPv4 address on this machine");
const TOKEN = "s3cret-token-for-the-tls-test-0123456789";

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

function makeCertificates(): void {
  writeFileSync(join(dir, "san.ext"), `subjectAltName=IP:${IP},DNS:localhost\n`);
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=fgs-test-ca", "-days", "2"]);
  for (const who of ["server", "client"]) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`]);
    openssl(["x509", "-req", "-in", `${who}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${who}.crt`, "-days", "2", ...(who === "server" ? ["-extfile", "san.ext"] : [])]);
  }
  // A client certificate from a CA the agent does not trust.
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.crt", "-subj", "/CN=rogue", "-days", "2"]);
  writeFileSync(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
}

let agent: RunningAgent;
let base: string;

beforeAll(async () => {
  makeCertificates();
  agent = await startAgent(["--server-address", `${IP}:0`, "--tls-cert-file", join(dir, "server.crt"), "--tls-key-file", join(dir, "server.key"), "--tls-client-ca-file", join(dir, "ca.crt"), "--api-token-file", join(dir, "token"), "--console-token-file", join(dir, "console-token")]);
  base = `https://${agent.address}`;
});
afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function call(args: string[], path = "/tetragon.FineGuidanceSensors/GetVersion"): { status: number; out: string } {
  const r = spawnSync("curl", ["-sS", "--max-time", "10", "--cacert", join(dir, "ca.crt"), "-w", "\n%{http_code}", "-X", "POST", "-H", "content-type: application/json", "--data-binary", "{}", ...args, `${base}${path}`], { encoding: "utf8" });
  const lines = r.stdout.trimEnd().split("\n");
  return { status: Number(lines.pop()), out: lines.join("\n") + r.stderr };
}

describe("remote access over TLS", () => {
  test("no credential: permission_denied", () => {
    const r = call([]);
    expect(r.status).toBe(403);
    expect(r.out).toContain("client certificate or a bearer token");
  });

  test("a bearer token over HTTP/1.1 and HTTP/2; a wrong one is refused", () => {
    expect(call(["--http1.1", "-H", `Authorization: Bearer ${TOKEN}`]).status).toBe(200);
    expect(call(["--http2", "-H", `Authorization: Bearer ${TOKEN}`]).status).toBe(200);
    expect(call(["-H", `Authorization: Bearer ${TOKEN}x`]).status).toBe(403);
  });

  test("a client certificate from the configured CA; a rogue one is refused", () => {
    expect(call(["--cert", join(dir, "client.crt"), "--key", join(dir, "client.key")]).status).toBe(200);
    expect(call(["--http2", "--cert", join(dir, "client.crt"), "--key", join(dir, "client.key")]).status).toBe(200);
    expect(call(["--cert", join(dir, "rogue.crt"), "--key", join(dir, "rogue.key")]).status).toBe(403);
  });

  test("gRPC over TLS with a token", () => {
    const frame = join(dir, "empty.grpc");
    writeFileSync(frame, new Uint8Array([0, 0, 0, 0, 0]));
    const r = spawnSync("curl", ["-sS", "-i", "--http2", "--cacert", join(dir, "ca.crt"), "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", `Authorization: Bearer ${TOKEN}`, "--data-binary", `@${frame}`, `${base}/tetragon.FineGuidanceSensors/GetVersion`], { encoding: "latin1" });
    expect(r.stdout).toContain("grpc-status: 0");
  });

  test("plaintext to the TLS port gets nothing", () => {
    const r = spawnSync("curl", ["-sS", "--max-time", "5", "-X", "POST", "-H", "content-type: application/json", "--data-binary", "{}", `http://${agent.address}/tetragon.FineGuidanceSensors/GetVersion`], { encoding: "utf8" });
    expect(r.stdout).not.toContain("version");
  });

  test("non-loopback with TLS but no client authentication is refused at start", () => {
    const r = spawnSync(FGS, ["agent", "--server-address", `${IP}:0`, "--tls-cert-file", join(dir, "server.crt"), "--tls-key-file", join(dir, "server.key")], { encoding: "utf8", timeout: 30000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--api-token-file");
  });
});
