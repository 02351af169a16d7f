// The fgs CLI against remote agents (issue 11's gap): TLS with a client
// certificate, TLS with a bearer token. The agents listen on this machine's
// non-loopback address, where the guard treats every caller as remote (root's
// uid does not count there), so only the certificate or the token lets a call in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { FGS, startAgent, type RunningAgent } from "./helpers/agent";

if (process.getuid?.() !== 0) throw new Error("cli-tls starts agents: it needs root");
const dir = mkdtempSync(join(tmpdir(), "fgs-cli-tls-"));
const file = (name: string) => join(dir, name);
const IP = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
if (!IP) throw new Error("cli-tls needs a non-loopback IPv4 address on this machine");
const TOKEN = "cli-tls-test-token-0123456789abcdef";

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

function makeCertificates(): void {
  writeFileSync(file("san.ext"), `subjectAltName=IP:${IP},DNS:localhost\n`);
  for (const ca of ["ca", "rogue"]) openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-subj", `/CN=${ca}`, "-days", "2"]);
  for (const who of ["server", "client"]) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`]);
    openssl(["x509", "-req", "-in", `${who}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${who}.crt`, "-days", "2", ...(who === "server" ? ["-extfile", "san.ext"] : [])]);
  }
  writeFileSync(file("agent-token"), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(file("token"), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(file("wrong-token"), `${TOKEN}-not\n`, { mode: 0o600 });
  writeFileSync(file("open-token"), `${TOKEN}\n`);
  chmodSync(file("open-token"), 0o644);
}

const SERVER_TLS = () => ["--tls-cert-file", file("server.crt"), "--tls-key-file", file("server.key")];
const CA = () => ["--tls-ca-file", file("ca.crt")];
const CLIENT_CERT = () => ["--tls-cert-file", file("client.crt"), "--tls-key-file", file("client.key")];

let certAgent: RunningAgent;
let tokenAgent: RunningAgent;

beforeAll(async () => {
  makeCertificates();
  certAgent = await startAgent(["--server-address", `${IP}:0`, ...SERVER_TLS(), "--tls-client-ca-file", file("ca.crt"), "--console-token-file", file("console-1")]);
  tokenAgent = await startAgent(["--server-address", `${IP}:0`, ...SERVER_TLS(), "--api-token-file", file("agent-token"), "--console-token-file", file("console-2")]);
});

afterAll(async () => {
  await certAgent?.stop();
  await tokenAgent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function fgs(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(FGS, args, { encoding: "utf8", timeout: 40_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("an agent that takes client certificates", () => {
  test("fgs status with the agent's CA and a client certificate", () => {
    const r = fgs(["status", "--server-address", certAgent.address, ...CA(), ...CLIENT_CERT()]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("status: running");
    expect(r.status).toBe(0);
  });

  test("a wrong CA: the agent is not verified, one line", () => {
    const r = fgs(["status", "--server-address", certAgent.address, "--tls-ca-file", file("rogue.crt"), ...CLIENT_CERT()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toStartWith(`fgs: cannot verify the agent at ${certAgent.address}: its certificate is not signed by a CA given with --tls-ca-file`);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("no client certificate: the agent refuses the call", () => {
    const r = fgs(["status", "--server-address", certAgent.address, ...CA()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("fgs: status: permission_denied: permission denied: a remote caller needs a client certificate or a bearer token\n");
  });

  test("without TLS: a hint to use it", () => {
    const r = fgs(["status", "--server-address", certAgent.address]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("if it serves TLS, add --tls-ca-file PATH");
  });

  test("the name to verify: --tls-server-name", () => {
    const port = certAgent.address.split(":")[1];
    const r = fgs(["sensors", "list", "--server-address", `${IP}:${port}`, ...CA(), ...CLIENT_CERT(), "--tls-server-name", "localhost"]);
    expect(r.stdout).toContain("process");
    const wrong = fgs(["sensors", "list", "--server-address", certAgent.address, ...CA(), ...CLIENT_CERT(), "--tls-server-name", "agent.example"]);
    expect(wrong.stderr).toContain(`its certificate does not name "agent.example" (it names IP Address:${IP}, DNS:localhost)`);
  });

  test("fgs getevents streams over TLS", async () => {
    const proc = spawn([FGS, "getevents", "--server-address", certAgent.address, ...CA(), ...CLIENT_CERT(), "--event-types", "process_exec"], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      const first = (async () => {
        let text = "";
        while (!text.includes("\n")) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += new TextDecoder().decode(chunk.value);
        }
        return text;
      })();
      // Exec until the stream shows one (it may open after the first execs).
      let line = "";
      void first.then((text) => (line = text));
      for (let i = 0; i < 100 && line === ""; i++) {
        spawnSync("/bin/true");
        await Bun.sleep(100);
      }
      await Promise.race([first, Bun.sleep(5000)]);
      expect(line).toContain('"process_exec"');
      expect(JSON.parse(line.split("\n")[0] ?? "")).toHaveProperty("process_exec.process.binary");
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
});

describe("an agent that takes a bearer token", () => {
  test("fgs status --token-file", () => {
    const r = fgs(["status", "--server-address", tokenAgent.address, ...CA(), "--token-file", file("token")]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("status: running");
    expect(r.status).toBe(0);
  });

  test("a wrong token: the agent refuses the call", () => {
    const r = fgs(["status", "--server-address", tokenAgent.address, ...CA(), "--token-file", file("wrong-token")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("fgs: status: permission_denied: permission denied: a remote caller needs a client certificate or a bearer token\n");
  });

  test("a token file others may read is refused before connecting", () => {
    const r = fgs(["status", "--server-address", tokenAgent.address, ...CA(), "--token-file", file("open-token")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`fgs: --token-file ${file("open-token")} is accessible by group or others (mode 0644); run: chmod 600 ${file("open-token")}\n`);
  });

  test("the token never goes in clear text off loopback", () => {
    const r = fgs(["status", "--server-address", tokenAgent.address, "--token-file", file("token")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("in clear text");
  });
});
