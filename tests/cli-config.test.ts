// Issue 14, configuration: `fgs agent --config FILE` (YAML, keys = flag names,
// flags win) against the real agent binary, and `fgs agent --help` by topic.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgentToExit, startAgent } from "./helpers/agent";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fgs-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agentUsage(...args: string[]) {
  return runAgentToExit(args);
}

test("--help lists every flag once, grouped by topic", () => {
  const r = agentUsage("--help");
  expect(r.status).toBe(0);
  const headings = r.stdout.split("\n").filter((l) => /^[A-Z][a-z A-Z]+:$/.test(l));
  expect(headings).toEqual(["API server:", "Kernel and sensors:", "Tracing policies:", "Export file:", "Metrics:", "Logging and configuration:", "Examples:"]);
  const flags = r.stdout.split("\n").filter((l) => /^ {2}--/.test(l)).map((l) => l.trim().split(" ")[0]);
  expect(new Set(flags).size).toBe(flags.length);
  for (const f of ["--server-address", "--policy-dir", "--export-file-max-size-mb", "--export-redact", "--metrics-address", "--config"]) expect(flags).toContain(f);
  expect(r.stdout).toContain("A flag given\non the command line wins over the file");
});

test("a config file's mistakes are usage errors naming the file", () => {
  const cases: [string, string][] = [
    ["nope: 1\n", 'unknown key "nope"'],
    ["- a\n- b\n", "expected a mapping of flag names to values"],
    ["metrics-bpf-stats: yes-please\n", "metrics-bpf-stats takes true or false"],
    ["ring-buffer-size: 1000\n", '--ring-buffer-size "1000": must be a power of two'],
    ["event-batch-max-delay: 5000\n", '--event-batch-max-delay "5000": must be a whole number of milliseconds from 0 to 1000'],
    ["log-level: loud\n", "--log-level must be one of"],
    ["a: &a [*a]\n", "config"],
    ["help: true\n", 'unknown key "help"'],
  ];
  for (const [yaml, message] of cases) {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, yaml);
    const r = agentUsage("--config", file);
    expect({ yaml, status: r.status }).toEqual({ yaml, status: 2 });
    expect(r.stderr).toContain(`config ${file}`);
    expect(r.stderr).toContain(message);
  }
  // Values the flag parser accepts are then checked like command-line values.
  const perm = join(dir, "perm.yaml");
  writeFileSync(perm, "export-file: /tmp/x\nexport-file-perm: '666'\n");
  const r = agentUsage("--config", perm);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("--export-file-perm: a world-writable export file is refused");
  const missing = agentUsage("--config", join(dir, "missing.yaml"));
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain("ENOENT");
});

test("the agent takes its flags from the file; the command line wins", async () => {
  if (process.getuid?.() !== 0) throw new Error("this test runs the agent: it needs root");
  const exportPath = join(dir, "events.log");
  const config = join(dir, "agent.yaml");
  writeFileSync(
    config,
    [
      "log-level: error            # the command line's --log-level debug wins (else no 'serving' line)",
      "server-address: 127.0.0.1:1 # the command line's 127.0.0.1:0 wins",
      "metrics-address: 127.0.0.1:0",
      `export-file: ${exportPath}`,
      "export-file-perm: '640'",
      "export-allowlist:           # YAML instead of JSON: passed on as JSON",
      "  - binary_regex: ['^/nonexistent$']",
      "export-redact: ['secret=(\\S+)', 'tok_[a-z]+']",
      "export-file-compress: true",
    ].join("\n"),
  );
  const a = await startAgent(["--config", config]);
  try {
    expect(a.log()).toContain('"serving metrics"');
    expect(a.address).not.toBe("127.0.0.1:1");
    expect(existsSync(exportPath)).toBe(true);
    expect(statSync(exportPath).mode & 0o777).toBe(0o640);
  } finally {
    await a.stop();
  }
});
