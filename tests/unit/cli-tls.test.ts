// The client's TLS and token flags against real HTTP/2 TLS servers of the
// FineGuidanceSensors service, with certificates made by openssl: what is sent,
// and the one-line error for each way it can go wrong. (The real agent:
// tests/cli-tls.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FineGuidanceSensors, HealthStatusResult, HealthStatusType } from "../../gen/tetragon/tetragon_pb";
import { runClient, type ClientIo } from "../../src/cli";
import { isLoopbackHost } from "../../src/cli/client-security";

const dir = mkdtempSync(join(tmpdir(), "fgs-cli-tls-"));
const file = (name: string) => join(dir, name);
const TOKEN = "the-bearer-token-of-the-unit-test";

interface Captured {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function fgs(argv: string[], env: Record<string, string> = {}): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const io: ClientIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) !== "" },
    stderr: { write: (chunk: string) => (stderr += chunk) !== "" },
  };
  const exitCode = await runClient(argv, io, env);
  return { exitCode, stdout, stderr };
}

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

function signed(name: string, ca: string, days: string, extfile?: string): void {
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", days, ...(extfile ? ["-extfile", extfile] : [])]);
}

function makeCertificates(): void {
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const ca of ["ca", "rogue"]) openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-subj", `/CN=${ca}`, "-days", "2"]);
  signed("server", "ca", "2", "san.ext");
  // Valid until a day before it was issued: expired from the start.
  signed("expired", "ca", "-1", "san.ext");
  signed("client", "ca", "2");
  signed("old-client", "ca", "-1");
  writeFileSync(file("token"), `${TOKEN}\nsecond line ignored\n`, { mode: 0o600 });
  writeFileSync(file("open-token"), `${TOKEN}\n`, { mode: 0o644 });
  chmodSync(file("open-token"), 0o644);
  writeFileSync(file("empty-token"), "\n", { mode: 0o600 });
  writeFileSync(file("garbage.pem"), "not a certificate\n");
}

interface Seen {
  authorization: string | null;
  clientCertificate: boolean;
}

const seen: Seen[] = [];
const servers: http2.Http2Server[] = [];

/** An HTTP/2 TLS server that asks for (but does not require) a client certificate, like the agent. */
async function serveTls(certName: string): Promise<string> {
  const service: Partial<ServiceImpl<typeof FineGuidanceSensors>> = {
    getVersion: (_, context) => {
      seen.push({ authorization: context.requestHeader.get("authorization"), clientCertificate: lastAuthorized });
      return { version: "9.9.9" };
    },
    getHealth: () => ({ healthStatus: [{ event: HealthStatusType.STATUS, status: HealthStatusResult.HEALTH_STATUS_RUNNING, details: "running" }] }),
  };
  let lastAuthorized = false;
  const routes = (router: ConnectRouter) => router.service(FineGuidanceSensors, service);
  const server = http2.createSecureServer(
    { cert: readFileSync(file(`${certName}.crt`)), key: readFileSync(file(`${certName}.key`)), ca: readFileSync(file("ca.crt")), requestCert: true, rejectUnauthorized: false },
    connectNodeAdapter({ routes }),
  );
  server.on("secureConnection", (socket: TLSSocket) => (lastAuthorized = socket.authorized));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A plain h2c server, to dial with TLS by mistake. */
async function serveClearText(): Promise<string> {
  const routes = (router: ConnectRouter) => router.service(FineGuidanceSensors, { getVersion: () => ({ version: "9.9.9" }) });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let good = "";
let expired = "";
let clear = "";

beforeAll(async () => {
  makeCertificates();
  good = await serveTls("server");
  expired = await serveTls("expired");
  clear = await serveClearText();
});

afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

const CA = ["--tls-ca-file", file("ca.crt")];
const CLIENT = ["--tls-cert-file", file("client.crt"), "--tls-key-file", file("client.key")];

describe("what the client sends", () => {
  test("the agent's CA and a client certificate", async () => {
    seen.length = 0;
    const r = await fgs(["version", "--server-address", good, ...CA, ...CLIENT]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("agent:  9.9.9");
    expect(seen).toEqual([{ authorization: null, clientCertificate: true }]);
  });

  test("a bearer token: the file's first line; $FGS_TOKEN_FILE when --token-file is absent", async () => {
    seen.length = 0;
    expect((await fgs(["version", "--server-address", good, ...CA, "--token-file", file("token")])).exitCode).toBe(0);
    expect((await fgs(["version", "--server-address", good, ...CA], { FGS_TOKEN_FILE: file("token") })).exitCode).toBe(0);
    expect(seen).toEqual([
      { authorization: `Bearer ${TOKEN}`, clientCertificate: false },
      { authorization: `Bearer ${TOKEN}`, clientCertificate: false },
    ]);
  });

  test("localhost is verified against the certificate's DNS name; global flags may come before the command", async () => {
    const port = good.split(":")[1];
    const r = await fgs(["--tls-ca-file", file("ca.crt"), "status", "--server-address", `localhost:${port}`]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("status: running");
  });

  test("every client command lists the flags in its help", async () => {
    for (const command of [["status"], ["getevents"], ["sensors", "list"], ["tracingpolicy", "add"], ["version"]]) {
      const help = (await fgs([...command, "--help"])).stdout;
      for (const flag of ["--tls ", "--tls-ca-file PATH", "--tls-cert-file PATH", "--tls-key-file PATH", "--tls-server-name NAME", "--token-file PATH"]) {
        expect(help).toContain(flag);
      }
    }
  });
});

describe("one clear line for each failure", () => {
  const cases: [string, () => string[], string][] = [
    ["unknown CA", () => ["--server-address", good, "--tls-ca-file", file("rogue.crt")], `cannot verify the agent at ${"GOOD"}: its certificate is not signed by a CA given with --tls-ca-file`],
    ["no CA at all (system CAs)", () => ["--server-address", good, "--tls"], "cannot verify the agent at GOOD: its certificate is not signed by a CA"],
    ["name mismatch", () => ["--server-address", good, ...CA, "--tls-server-name", "agent.example"], 'cannot verify the agent at GOOD: its certificate does not name "agent.example" (it names IP Address:127.0.0.1, DNS:localhost); --tls-server-name NAME sets the name to verify'],
    ["expired", () => ["--server-address", expired, ...CA], "cannot verify the agent at EXPIRED: its certificate has expired (CERT_HAS_EXPIRED)"],
    ["TLS to a clear-text agent", () => ["--server-address", clear, ...CA], "cannot reach the agent at CLEAR over TLS: it does not speak TLS there"],
    ["clear text to a TLS agent", () => ["--server-address", good], "the agent at GOOD closed the connection without answering; if it serves TLS, add --tls-ca-file PATH (or --tls)"],
    ["a CA file without a certificate", () => ["--server-address", good, "--tls-ca-file", file("garbage.pem")], `--tls-ca-file ${file("garbage.pem")}: no PEM certificate in it`],
    ["a missing CA file", () => ["--server-address", good, "--tls-ca-file", file("nope.crt")], `--tls-ca-file ${file("nope.crt")}: no such file`],
    ["a key that is no key", () => ["--server-address", good, ...CA, "--tls-cert-file", file("client.crt"), "--tls-key-file", file("client.crt")], `--tls-key-file ${file("client.crt")}: not a valid unencrypted PEM private key`],
    ["a certificate that is no certificate", () => ["--server-address", good, ...CA, "--tls-cert-file", file("client.key"), "--tls-key-file", file("client.key")], `--tls-cert-file ${file("client.key")}: not a valid PEM certificate`],
    ["the key of another certificate", () => ["--server-address", good, ...CA, "--tls-cert-file", file("client.crt"), "--tls-key-file", file("server.key")], `--tls-key-file ${file("server.key")} is not the private key of --tls-cert-file ${file("client.crt")}`],
    ["an expired client certificate", () => ["--server-address", good, ...CA, "--tls-cert-file", file("old-client.crt"), "--tls-key-file", file("old-client.key")], `--tls-cert-file ${file("old-client.crt")}: the certificate expired on`],
    ["a token file others may read", () => ["--server-address", good, ...CA, "--token-file", file("open-token")], `--token-file ${file("open-token")} is accessible by group or others (mode 0644); run: chmod 600 ${file("open-token")}`],
    ["a missing token file", () => ["--server-address", good, ...CA, "--token-file", file("nope")], `--token-file ${file("nope")}: no such file`],
    ["an empty token", () => ["--server-address", good, ...CA, "--token-file", file("empty-token")], `--token-file ${file("empty-token")}: the first line is empty`],
    ["a token in clear text off loopback", () => ["--server-address", "192.0.2.1:54321", "--token-file", file("token")], `refusing to send the token of --token-file ${file("token")} in clear text to 192.0.2.1:54321: use TLS`],
  ];

  for (const [name, argv, message] of cases) {
    test(name, async () => {
      const r = await fgs(["status", ...argv()]);
      const expected = message.replace("GOOD", good).replace("EXPIRED", expired).replace("CLEAR", clear);
      expect(r.stderr).toStartWith(`fgs: ${expected}`);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
    });
  }

  test("wrong usage is exit 2 with the command's usage hint", async () => {
    const half = await fgs(["status", "--server-address", good, ...CA, "--tls-cert-file", file("client.crt")]);
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toBe(`fgs: --tls-cert-file and --tls-key-file go together\nRun "fgs status --help" for usage.\n`);
    const unix = await fgs(["status", "--server-address", "unix:/run/fgs/fgs.sock", ...CA]);
    expect(unix.exitCode).toBe(2);
    expect(unix.stderr).toContain("TLS is for TCP addresses; unix:/run/fgs/fgs.sock is a unix socket");
  });

  test("version --client reads no TLS or token file", async () => {
    const r = await fgs(["version", "--client", "--tls-ca-file", file("nope.crt"), "--token-file", file("open-token")]);
    expect(r.exitCode).toBe(0);
  });
});

test("loopback hosts, where a token may go in clear text", () => {
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "LOCALHOST"]) expect(isLoopbackHost(host)).toBe(true);
  for (const host of ["192.0.2.1", "localhost.example", "::", "0.0.0.0", "128.0.0.1"]) expect(isLoopbackHost(host)).toBe(false);
});
