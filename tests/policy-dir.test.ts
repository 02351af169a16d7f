// Issue 14, --policy-dir: policies added over the API are stored atomically
// (0600 files in a 0700 directory), loaded again after a restart, and their
// files removed when they are deleted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgentToExit, startAgent, type RunningAgent } from "./helpers/agent";

let root: string;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("policy-dir tests need root (they run the agent)");
  root = mkdtempSync(join(tmpdir(), "fgs-policydir-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const policy = (name: string, prefix: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ${name}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - {index: 1, type: string}
    selectors:
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["${prefix}"]}
`;

async function policyNames(a: RunningAgent): Promise<string[]> {
  return (await a.client().listSensors({})).sensors.map((s) => s.name).filter((n) => n !== "process" && n !== "test");
}

/** Opens `target` and waits for the policy's kprobe event on a GetEvents stream. */
async function seesOpen(a: RunningAgent, target: string): Promise<boolean> {
  const abort = new AbortController();
  const found = (async () => {
    try {
      for await (const ev of a.client().getEvents({}, { signal: abort.signal })) {
        if (ev.event.case === "processKprobe" && ev.event.value.args[0]?.arg.value === target) return true;
      }
    } catch {
      /* aborted */
    }
    return false;
  })();
  await Bun.sleep(300);
  spawnSync("/bin/cat", [target]);
  const timer = setTimeout(() => abort.abort(), 5000);
  const seen = await found;
  clearTimeout(timer);
  abort.abort();
  return seen;
}

test("an added policy is stored, survives a restart and still works; deleting it removes the file", async () => {
  const dir = join(root, "store");
  const target = join(root, "watched-file");
  writeFileSync(target, "x");
  const yaml = policy("persisted-openat", target);
  let a = await startAgent(["--policy-dir", dir]);
  try {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await a.client().addTracingPolicy({ yaml });
    const file = join(dir, "persisted-openat.yaml");
    expect(readFileSync(file, "utf8")).toBe(yaml);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["persisted-openat.yaml"]); // no temporary file left
  } finally {
    await a.stop();
  }
  a = await startAgent(["--policy-dir", dir]);
  try {
    expect(await policyNames(a)).toEqual(["persisted-openat"]);
    expect(await seesOpen(a, target)).toBe(true);
    await a.client().deleteTracingPolicy({ yaml: "persisted-openat" });
    expect(readdirSync(dir)).toEqual([]);
  } finally {
    await a.stop();
  }
  a = await startAgent(["--policy-dir", dir]);
  try {
    expect(await policyNames(a)).toEqual([]);
  } finally {
    await a.stop();
  }
});

test("a YAML with two policies is stored as two files and deleted by the same YAML", async () => {
  const dir = join(root, "multi");
  const yaml = `${policy("multi-one", "/nonexistent/one")}---\n${policy("multi-two", "/nonexistent/two")}`;
  const a = await startAgent(["--policy-dir", dir]);
  try {
    await a.client().addTracingPolicy({ yaml });
    expect(readdirSync(dir).sort()).toEqual(["multi-one.yaml", "multi-two.yaml"]);
    expect(readFileSync(join(dir, "multi-two.yaml"), "utf8")).toContain("name: multi-two");
    expect(readFileSync(join(dir, "multi-two.yaml"), "utf8")).not.toContain("multi-one");
    const refused = await a.client().addTracingPolicy({ yaml: "kind: Nonsense" }).then(() => "added", () => "refused");
    expect(refused).toBe("refused");
    expect(readdirSync(dir)).toHaveLength(2);
    await a.client().deleteTracingPolicy({ yaml });
    expect(readdirSync(dir)).toEqual([]);
  } finally {
    await a.stop();
  }
});

test("a stored policy that no longer loads is logged and skipped; the agent starts", async () => {
  const dir = join(root, "broken");
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, "broken.yaml"), "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: broken}\nspec: {kprobes: [{call: 42}]}\n", { mode: 0o600 });
  writeFileSync(join(dir, "good.yaml"), policy("good-one", "/nonexistent/good"), { mode: 0o600 });
  const a = await startAgent(["--policy-dir", dir]);
  try {
    expect(await policyNames(a)).toEqual(["good-one"]);
    expect(a.log()).toContain('"stored policy not loaded"');
    expect(existsSync(join(dir, "broken.yaml"))).toBe(true);
  } finally {
    await a.stop();
  }
});

test("a policy directory others can write to is refused", () => {
  const dir = join(root, "open");
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  const r = runAgentToExit(["--server-address", "127.0.0.1:0", "--policy-dir", dir]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("is writable by group or others");
});
