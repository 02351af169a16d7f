import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  FineGuidanceSensors,
  HealthStatusResult,
  HealthStatusType,
} from "../../gen/tetragon/tetragon_pb";
import { parseArguments, type FlagSpec } from "../../src/cli/args";
import { parseServerAddress } from "../../src/server/address";
import { runClient, type ClientIo } from "../../src/cli";

const repoRoot = join(import.meta.dir, "..", "..");
const bun = process.execPath;

interface Captured {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function fgs(...argv: string[]): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const io: ClientIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) !== "" },
    stderr: { write: (chunk: string) => (stderr += chunk) !== "" },
  };
  const exitCode = await runClient(argv, io);
  return { exitCode, stdout, stderr };
}

/** Runs runClient in a fresh `bun -e` process with the real stdout/stderr,
 * optionally behind a command prefix (e.g. one that enters a new namespace). */
function fgsInChildProcess(argv: readonly string[], prefix: readonly string[] = []): Captured {
  const script = [
    `import { runClient } from ${JSON.stringify(join(repoRoot, "src/cli/index.ts"))};`,
    `process.exitCode = await runClient(${JSON.stringify(argv)}, { stdout: process.stdout, stderr: process.stderr });`,
  ].join("\n");
  const child = Bun.spawnSync([...prefix, bun, "-e", script], { cwd: repoRoot, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { exitCode: child.exitCode ?? -1, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
}

/** A TCP port that nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("argument parser", () => {
  const flags: FlagSpec[] = [
    { name: "output", short: "o", valueName: "FORMAT", choices: ["json", "compact"], defaultValue: "json", description: "" },
    { name: "pid", valueName: "N", repeatable: true, description: "", validate: (v) => (/^\d+$/.test(v) ? undefined : "not a number") },
    { name: "verbose", description: "" },
  ];
  const positionals = [{ name: "NAME", description: "" }];

  test("--flag value, --flag=value, -f value, -f=value, repeats and --", () => {
    const parsed = parseArguments(["-o", "compact", "--pid=1", "--pid", "2", "x", "--verbose"], flags, positionals);
    expect(parsed.value("output")).toBe("compact");
    expect(parsed.values("pid")).toEqual(["1", "2"]);
    expect(parsed.isTrue("verbose")).toBe(true);
    expect(parsed.positionals).toEqual(["x"]);
    expect(parseArguments(["-o=compact", "--", "--pid"], flags, positionals).positionals).toEqual(["--pid"]);
  });

  test("defaults apply to flags that were not given", () => {
    const parsed = parseArguments(["x"], flags, positionals);
    expect(parsed.value("output")).toBe("json");
    expect(parsed.has("output")).toBe(false);
    expect(parsed.isTrue("verbose")).toBe(false);
    expect(parsed.values("pid")).toEqual([]);
  });

  test("wrong usage is reported precisely", () => {
    const cases: [string[], string][] = [
      [["x", "--nope"], 'unknown flag "--nope"'],
      [["x", "-z"], 'unknown flag "-z"'],
      [["x", "-o"], "--output needs a value (FORMAT)"],
      [["x", "-o", "xml"], '--output must be one of json, compact (got "xml")'],
      [["x", "-o", "json", "-o", "compact"], "--output given more than once"],
      [["x", "--pid", "abc"], '--pid "abc": not a number'],
      [["x", "--verbose=yes"], '--verbose takes no value (got "yes")'],
      [[], "missing NAME"],
      [["x", "y"], 'unexpected argument "y"'],
    ];
    for (const [tokens, message] of cases) {
      expect(() => parseArguments(tokens, flags, positionals)).toThrow(message);
    }
  });

  test("a negative number is a positional, not a flag", () => {
    expect(parseArguments(["-5"], flags, positionals).positionals).toEqual(["-5"]);
  });
});

describe("server addresses", () => {
  test("host:port, [ipv6]:port, :port and unix sockets", () => {
    expect(parseServerAddress("localhost:54321")).toMatchObject({ kind: "tcp", host: "localhost", port: 54321 });
    expect(parseServerAddress("[::1]:7")).toMatchObject({ kind: "tcp", host: "[::1]", port: 7 });
    expect(parseServerAddress(":9")).toMatchObject({ kind: "tcp", host: "localhost", port: 9 });
    expect(parseServerAddress("unix:/run/fgs.sock")).toMatchObject({ kind: "unix", path: "/run/fgs.sock" });
    expect(parseServerAddress("unix:///run/fgs.sock")).toMatchObject({ kind: "unix", path: "/run/fgs.sock" });
  });

  test("malformed addresses are rejected with a reason", () => {
    for (const text of ["localhost", "host:0", "host:70000", "http://host:1", "unix:", "a b:1"]) {
      expect(typeof parseServerAddress(text)).toBe("string");
    }
  });
});

describe("usage and help", () => {
  const commands = [
    ["version"],
    ["status"],
    ["getevents"],
    ["sensors", "list"],
    ["sensors", "enable"],
    ["sensors", "disable"],
    ["tracingpolicy", "add"],
    ["tracingpolicy", "delete"],
  ];

  test("--help works on every command, without contacting the agent", async () => {
    for (const command of commands) {
      for (const helpFlag of ["--help", "-h"]) {
        const result = await fgs(...command, helpFlag, "--server-address", "127.0.0.1:1");
        expect({ command, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ command, exitCode: 0, stderr: "" });
        expect(result.stdout).toStartWith(`Usage: fgs ${command.join(" ")}`);
        expect(result.stdout).toContain("--server-address host:port|unix:/path");
      }
    }
  });

  test("top-level and group help", async () => {
    const top = await fgs("--help");
    expect(top.exitCode).toBe(0);
    for (const word of ["agent", "version", "status", "getevents", "sensors", "tracingpolicy"]) {
      expect(top.stdout).toContain(`  ${word}`);
    }
    const viaHelpCommand = await fgs("help", "sensors", "enable");
    expect(viaHelpCommand.stdout).toStartWith("Usage: fgs sensors enable NAME");
    const group = await fgs("sensors", "--help");
    expect(group.exitCode).toBe(0);
    expect(group.stdout).toContain("  disable");
  });

  test("getevents help lists its formats and colour modes", async () => {
    const help = await fgs("getevents", "--help");
    expect(help.stdout).toContain("-o, --output json|compact");
    expect(help.stdout).toContain("--color auto|always|never");
  });

  test("wrong usage: message on stderr, exit 2, nothing on stdout", async () => {
    const cases: [string[], string][] = [
      [[], "fgs: missing command"],
      [["bogus"], 'fgs: unknown command "bogus"'],
      [["sensors"], "fgs: missing sensors command"],
      [["sensors", "frobnicate"], 'fgs: unknown sensors command "frobnicate"'],
      [["sensors", "enable"], "fgs: missing NAME"],
      [["sensors", "disable", "a", "b"], 'fgs: unexpected argument "b"'],
      [["tracingpolicy", "add"], "fgs: missing FILE"],
      [["version", "extra"], 'fgs: unexpected argument "extra"'],
      [["status", "--verbose"], 'fgs: unknown flag "--verbose"'],
      [["getevents", "-o", "yaml"], 'fgs: --output must be one of json, compact (got "yaml")'],
      [["getevents", "--color", "sometimes"], "fgs: --color must be one of auto, always, never"],
      [["status", "--server-address", "nowhere"], 'fgs: --server-address "nowhere": expected host:port'],
      [["status", "--server-address"], "fgs: --server-address needs a value"],
    ];
    for (const [argv, message] of cases) {
      const result = await fgs(...argv);
      expect({ argv, exitCode: result.exitCode, stdout: result.stdout }).toEqual({ argv, exitCode: 2, stdout: "" });
      expect(result.stderr).toStartWith(message);
    }
  });

  test("the usage hint names the command", async () => {
    const result = await fgs("sensors", "enable");
    expect(result.stderr).toBe('fgs: missing NAME\nRun "fgs sensors enable --help" for usage.\n');
  });

  test("version --client needs no agent", async () => {
    const result = await fgs("version", "--client", "--server-address", "127.0.0.1:1");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^client: \d+\.\d+\.\d+ \(commit [^)]+\)\n$/);
  });

  test("an unreadable policy file is one clear line and exit 1", async () => {
    const result = await fgs("tracingpolicy", "add", "/nonexistent/policy.yaml");
    expect(result).toEqual({ exitCode: 1, stdout: "", stderr: "fgs: cannot read /nonexistent/policy.yaml: no such file\n" });
    const deleteByPath = await fgs("tracingpolicy", "delete", "./missing.yaml");
    expect(deleteByPath.stderr).toBe("fgs: cannot read ./missing.yaml: no such file\n");
  });
});

describe("unreachable agent (separate process, real stdout/stderr)", () => {
  test("TCP: one line naming the address and the reason, exit 1, no stack trace", async () => {
    const port = await closedPort();
    for (const argv of [["status"], ["sensors", "list"], ["getevents", "-o", "compact"], ["sensors", "enable", "x"]]) {
      const result = fgsInChildProcess([...argv, "--server-address", `127.0.0.1:${port}`]);
      expect({ argv, ...result }).toEqual({
        argv,
        exitCode: 1,
        stdout: "",
        stderr: `fgs: cannot reach the agent at 127.0.0.1:${port}: connection refused\n`,
      });
    }
  });

  test("default address when nothing listens there", () => {
    // A new network namespace (loopback only) has nothing on the default port,
    // whatever runs on this host's.
    const freshNetwork = ["unshare", "--map-root-user", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'];
    const result = fgsInChildProcess(["status"], freshNetwork);
    expect(result.stderr).toBe("fgs: cannot reach the agent at localhost:54321: connection refused\n");
    expect(result.exitCode).toBe(1);
  });

  test("unix socket that does not exist", () => {
    const result = fgsInChildProcess(["version", "--server-address", "unix:/nonexistent/fgs.sock"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe("fgs: cannot reach the agent at unix:/nonexistent/fgs.sock: no such socket\n");
  });
});

// A stand-in for the agent: a real gRPC (h2c) server of the generated
// service, so the client's transport, unix-socket dialling, output and error
// mapping run for real until the agent exists. End-to-end tests against the
// agent itself live elsewhere.
describe("against a gRPC server of the FineGuidanceSensors service", () => {
  const scratch = mkdtempSync(join(tmpdir(), "fgs-cli-"));
  const socketPath = join(scratch, "fgs.sock");
  const receivedPolicies: string[] = [];
  const enabledSensors = new Set(["process"]);
  const servers = new Map<string, { server: http2.Http2Server; sessions: Set<http2.ServerHttp2Session> }>();
  let tcpAddress = "";
  let endlessAddress = "";

  const agent: Partial<ServiceImpl<typeof FineGuidanceSensors>> = {
    getVersion: () => ({ version: "9.9.9 (commit standin)" }),
    getHealth: () => ({
      healthStatus: [
        {
          event: HealthStatusType.STATUS,
          status: HealthStatusResult.HEALTH_STATUS_RUNNING,
          details: "sensors: process\nlost events: 0",
        },
      ],
    }),
    listSensors: () => ({ sensors: [...new Set([...enabledSensors, "test"])].map((name) => ({ name, enabled: enabledSensors.has(name) })) }),
    enableSensor: ({ name }) => {
      if (name !== "test") throw new ConnectError(`sensor "${name}" not found`, Code.NotFound);
      enabledSensors.add(name);
      return {};
    },
    addTracingPolicy: ({ yaml }) => {
      receivedPolicies.push(yaml);
      if (yaml.includes("strng")) {
        throw new ConnectError('spec.kprobes[0].args[1].type: unknown type "strng"\nsecond\u001b[2J', Code.InvalidArgument);
      }
      return {};
    },
    deleteTracingPolicy: ({ yaml }) => {
      receivedPolicies.push(yaml);
      return {};
    },
    async *getEvents() {
      yield {
        nodeName: "node1",
        event: { case: "processExec", value: { process: { binary: "/usr/bin/curl", arguments: "example.com" } } },
      };
      yield {
        nodeName: "node1",
        event: { case: "processExit", value: { process: { binary: "/usr/bin/curl", arguments: "example.com" }, signal: "SIGKILL" } },
      };
    },
  };

  const endless: Partial<ServiceImpl<typeof FineGuidanceSensors>> = {
    async *getEvents() {
      for (let count = 0; ; count += 1) {
        yield { nodeName: "node1", event: { case: "test", value: { arg0: BigInt(count) } } };
        await Bun.sleep(1);
      }
    },
  };

  async function serve(implementation: Partial<ServiceImpl<typeof FineGuidanceSensors>>, listenOn: string | number): Promise<string> {
    const routes = (router: ConnectRouter) => router.service(FineGuidanceSensors, implementation);
    const server = http2.createServer(connectNodeAdapter({ routes }));
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (session) => sessions.add(session));
    if (typeof listenOn === "string") {
      await new Promise<void>((resolve) => server.listen(listenOn, resolve));
    } else {
      await new Promise<void>((resolve) => server.listen(listenOn, "127.0.0.1", resolve));
    }
    const address =
      typeof listenOn === "string" ? `unix:${listenOn}` : `127.0.0.1:${(server.address() as AddressInfo).port}`;
    servers.set(address, { server, sessions });
    return address;
  }

  function stopServing(address: string): void {
    const served = servers.get(address);
    served?.server.close();
    for (const session of served?.sessions ?? []) session.destroy();
  }

  beforeAll(async () => {
    tcpAddress = await serve(agent, 0);
    await serve(agent, socketPath);
    endlessAddress = await serve(endless, 0);
  });

  afterAll(() => {
    for (const address of servers.keys()) stopServing(address);
    rmSync(scratch, { recursive: true, force: true });
  });

  test("version over TCP and over a unix socket", async () => {
    for (const address of [tcpAddress, `unix:${socketPath}`, `unix://${socketPath}`]) {
      const result = await fgs("version", "--server-address", address);
      expect({ address, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ address, exitCode: 0, stderr: "" });
      expect(result.stdout).toMatch(/^client: .*\nagent:  9\.9\.9 \(commit standin\)\n$/);
    }
  });

  test("status prints the status and every line of the details", async () => {
    const result = await fgs("status", "--server-address", tcpAddress);
    expect(result).toEqual({
      exitCode: 0,
      stdout: "status: running\ndetails:\n  sensors: process\n  lost events: 0\n",
      stderr: "",
    });
  });

  test("sensors list, enable, and the agent's not_found", async () => {
    expect((await fgs("sensors", "list", "--server-address", tcpAddress)).stdout).toBe("process  enabled\ntest     disabled\n");
    const enabled = await fgs("sensors", "enable", "test", "--server-address", tcpAddress);
    expect(enabled).toEqual({ exitCode: 0, stdout: "sensor test enabled\n", stderr: "" });
    expect((await fgs("sensors", "list", "--server-address", tcpAddress)).stdout).toBe("process  enabled\ntest     enabled\n");
    const missing = await fgs("sensors", "enable", "nope", "--server-address", tcpAddress);
    expect(missing).toEqual({ exitCode: 1, stdout: "", stderr: 'fgs: sensors enable: not_found: sensor "nope" not found\n' });
  });

  test("a method the server lacks answers unimplemented", async () => {
    const result = await fgs("sensors", "disable", "test", "--server-address", tcpAddress);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toStartWith("fgs: sensors disable: unimplemented: ");
  });

  test("tracingpolicy add sends the file; delete sends a file's YAML or the bare name", async () => {
    const policyFile = join(scratch, "policy.yaml");
    writeFileSync(policyFile, "metadata:\n  name: openat-etc\n");
    receivedPolicies.length = 0;
    expect((await fgs("tracingpolicy", "add", policyFile, "--server-address", tcpAddress)).exitCode).toBe(0);
    expect((await fgs("tracingpolicy", "delete", policyFile, "--server-address", tcpAddress)).exitCode).toBe(0);
    expect((await fgs("tracingpolicy", "delete", "openat-etc", "--server-address", tcpAddress)).exitCode).toBe(0);
    expect(receivedPolicies).toEqual(["metadata:\n  name: openat-etc\n", "metadata:\n  name: openat-etc\n", "openat-etc"]);
  });

  test("the agent's invalid_argument keeps its lines but not its escape sequences", async () => {
    const policyFile = join(scratch, "bad.yaml");
    writeFileSync(policyFile, "type: strng\n");
    const result = await fgs("tracingpolicy", "add", policyFile, "--server-address", tcpAddress);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'fgs: tracingpolicy add: invalid_argument: spec.kprobes[0].args[1].type: unknown type "strng"\nsecond\\e[2J\n',
    );
  });

  test("getevents prints one line per event until the stream ends", async () => {
    const json = await fgs("getevents", "--server-address", tcpAddress);
    expect(json.exitCode).toBe(0);
    const lines = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((line) => Object.keys(line))).toEqual([
      ["process_exec", "node_name"],
      ["process_exit", "node_name"],
    ]);
    const compact = await fgs("getevents", "-o", "compact", "--color", "never", "--server-address", tcpAddress);
    expect(compact.stdout).toBe(
      "🚀 process node1 /usr/bin/curl example.com\n💥 exit    node1 /usr/bin/curl example.com SIGKILL\n",
    );
    const coloured = await fgs("getevents", "-o", "compact", "--color", "always", "--server-address", tcpAddress);
    expect(coloured.stdout).toContain("\u001b[");
    const auto = await fgs("getevents", "-o", "compact", "--server-address", tcpAddress);
    expect(auto.stdout).not.toContain("\u001b["); // not a terminal
  });

  test("getevents stops quietly when its reader goes away (| head)", async () => {
    const script = [
      `import { runClient } from ${JSON.stringify(join(repoRoot, "src/cli/index.ts"))};`,
      `process.exitCode = await runClient(["getevents", "--server-address", "${endlessAddress}"], { stdout: process.stdout, stderr: process.stderr });`,
    ].join("\n");
    const pipeline = `"${bun}" -e '${script}' | head -n 2; echo "exit=\${PIPESTATUS[0]}" >&2`;
    // Asynchronous: the server answering it runs in this process.
    const child = Bun.spawn(["bash", "-c", pipeline], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    const stdoutLines = stdout.trimEnd().split("\n");
    expect(stdoutLines.map((line) => JSON.parse(line).test.arg0 ?? "0")).toEqual(["0", "1"]);
    expect(stderr).toBe("exit=0\n");
  }, 30_000);

  test("an agent that goes away mid-stream is reported in one line", async () => {
    const address = await serve(endless, 0);
    setTimeout(() => stopServing(address), 200);
    const result = await fgs("getevents", "--server-address", address);
    expect(result.stdout.split("\n").length).toBeGreaterThan(3);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`fgs: lost the connection to the agent at ${address}: the call ended without a status\n`);
  }, 30_000);
});
