/** Policy lifecycle on the host kernel: enable/disable/remove as bpftool
 * sees it, mechanism visibility, refusals that leave nothing loaded. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createPolicyEngine, PolicyError, PolicyManager } from "../src/policy";
import { createLogger } from "../src/log/logger";
import { SensorManager } from "../src/sensors/manager";
import { bpfObjectImages } from "./helpers/build";
import { tracepointOnlyKernel } from "./helpers/kernel";
import { bpftoolAttachedProgIds, bpftoolProgIds, logLines, PolicyHarness, policyYaml, progIdOfFd } from "./helpers/policy-harness";
import { python } from "./helpers/process-run";

let h: PolicyHarness;

beforeAll(() => {
  h = PolicyHarness.start();
}, 60_000);

afterAll(async () => {
  await h.stop();
});

const unamePolicy = (name: string) =>
  policyYaml(name, `  kprobes:
  - call: sys_newuname
    syscall: true
    return: true
    returnArg: {index: 0, type: int}
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_getpgid
`);

async function refusal(yaml: string): Promise<PolicyError> {
  try {
    await h.manager.add(yaml);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error("policy was accepted");
}

/** BPF programs this process holds (others load programs concurrently). */
function genPrograms(): string[] {
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf-prog" ? fd : null;
      } catch {
        return null;
      }
    })
    .filter((fd): fd is string => fd !== null);
}

describe("enable, disable, remove", () => {
  test("bpftool shows the programs attached, detached, then gone", async () => {
    const [sensor] = await h.manager.add(unamePolicy("lifecycle"));
    expect(h.sensors.list().map((s) => s.name)).toContain("lifecycle");
    const ids = sensor!.hooks.flatMap((hk) => hk.programFds()).map(progIdOfFd);
    expect(ids.length).toBe(3); /* enter + exit of newuname, enter of getpgid */
    for (const id of ids) expect(bpftoolProgIds().has(id)).toBe(true);
    for (const id of ids) expect(bpftoolAttachedProgIds().has(id)).toBe(true);

    const on = await python("import os\nos.uname()\nos.getpgid(0)");
    await h.waitFor((e) => e.pid === on.pid && e.kind === "tracepoint");
    await h.waitFor((e) => e.pid === on.pid && e.kind === "kprobe");

    await h.sensors.disable("lifecycle");
    expect(sensor!.enabled).toBe(false);
    for (const id of ids) expect(bpftoolAttachedProgIds().has(id)).toBe(false);
    const off = await python("import os\nos.uname()\nos.getpgid(0)");
    await h.settle();
    expect(h.of(off.pid)).toEqual([]);

    await h.sensors.enable("lifecycle");
    for (const id of ids) expect(bpftoolAttachedProgIds().has(id)).toBe(true);
    const again = await python("import os\nos.uname()");
    await h.waitFor((e) => e.pid === again.pid);

    await h.sensors.remove("lifecycle");
    const listed = bpftoolProgIds();
    for (const id of ids) expect(listed.has(id)).toBe(false);
    expect(h.manager.list()).toEqual([]);
    expect(h.sensors.has("lifecycle")).toBe(false);
  });

  test("the mechanism is a sensor config key and a log line", async () => {
    await h.manager.add(unamePolicy("visible"));
    expect(h.sensors.getConfig("visible", "mechanism")).toBe(
      "sys_newuname=tracepoint syscalls/sys_enter_newuname+sys_exit_newuname, syscalls/sys_enter_getpgid=tracepoint syscalls/sys_enter_getpgid",
    );
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "policy hook attached" && l.policy === "visible" && l.hook === "spec.kprobes[0]");
    expect(line?.mechanism).toBe("tracepoint");
    expect(line?.target).toBe("syscalls/sys_enter_newuname+sys_exit_newuname");
    await expect(h.sensors.setConfig("visible", "mechanism", "kprobe")).rejects.toThrow("read-only");
    await h.manager.delete(unamePolicy("visible"));
    expect(h.sensors.has("visible")).toBe(false);
  });

  test("a duplicate name is refused", async () => {
    await h.manager.add(unamePolicy("twice"));
    const e = await refusal(unamePolicy("twice"));
    expect(e.code).toBe("already_exists");
    expect(e.message).toBe(`metadata.name: failed to add tracing policy "twice": a sensor collection with the name already exists (the tracing policy "twice"; delete it first)`);
    await h.manager.delete("twice");
  });

  test("deleting an unknown policy is refused", async () => {
    await expect(h.manager.delete("no-such-policy")).rejects.toThrow(`tracing policy "no-such-policy" not found`);
  });
});

describe("refusals leave nothing loaded", () => {
  test("a kernel function without kprobes or fentry names the hook and what is missing", async () => {
    const before = genPrograms();
    const e = await refusal(policyYaml("fd-install", `  kprobes:
  - call: fd_install
    args: [{index: 0, type: int}, {index: 1, type: file}]
`));
    expect(e.code).toBe("failed_precondition");
    expect(e.message).toBe(
      "spec.kprobes[0] (fd_install): cannot attach: kprobe: the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is not set); fentry: the kernel has no BTF (/sys/kernel/btf/vmlinux); syscall tracepoints: not a syscall",
    );
    expect(genPrograms()).toEqual(before);
    expect(h.sensors.has("fd-install")).toBe(false);
  });

  test("Override without kprobes and error injection is refused", async () => {
    // BTF, so fmod_ret is considered, and a function that allows no error injection.
    const kernel = { ...tracepointOnlyKernel(), btf: true, errorInjectable: () => false };
    const manager = new PolicyManager({ images: bpfObjectImages(), sharedMaps: h.manager.sharedMaps(), sensors: new SensorManager(), log: createLogger({ write() {} }), kernel });
    const e = await manager.add(policyYaml("override", `  kprobes:
  - call: sys_openat
    syscall: true
    selectors:
    - matchActions: [{action: Override, argError: -1}]
`)).then(() => undefined, (x: unknown) => x);
    await manager.close();
    if (!(e instanceof PolicyError)) throw new Error(`expected a PolicyError, got ${String(e)}`);
    expect(e.code).toBe("failed_precondition");
    expect(e.message).toBe(
      "spec.kprobes[0].selectors[0].matchActions[0]: Override on sys_openat is not possible: kprobe: the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is not set); fentry: cannot override a return value; fmod_ret: __x64_sys_openat is neither a security_ hook nor error-injectable; syscall tracepoints: cannot override a return value",
    );
  });

  test("a later document that cannot attach unloads the earlier ones", async () => {
    const before = genPrograms();
    const e = await refusal(`${unamePolicy("first-ok")}---\n${policyYaml("second-bad", "  tracepoints:\n  - subsystem: sched\n    event: no_such_event\n")}`);
    expect(e.message).toBe("spec.tracepoints[0]: tracepoint sched/no_such_event does not exist (no events/sched/no_such_event in tracefs)");
    expect(genPrograms()).toEqual(before);
    expect(h.sensors.has("first-ok")).toBe(false);
    expect(h.manager.list()).toEqual([]);
  });

  test("a syscall argument past the syscall's arity is refused", async () => {
    const e = await refusal(policyYaml("arity", `  kprobes:
  - call: sys_close
    args: [{index: 1, type: int}]
`));
    expect(e.code).toBe("invalid_argument");
    expect(e.message).toBe("spec.kprobes[0].args[0].index: close takes 1 argument (index 0 to 0)");
  });
});

describe("mechanism restrictions and fmod_ret", () => {
  test("Override on a security_ hook needs kprobes with error injection or fmod_ret, which needs BTF", async () => {
    const e = await refusal(policyYaml("override-lsm", `  kprobes:
  - call: security_file_open
    args: [{index: 0, type: file}]
    selectors:
    - matchActions: [{action: Override, argError: -1}]
`));
    expect(e.code).toBe("failed_precondition");
    expect(e.message).toBe(
      "spec.kprobes[0].selectors[0].matchActions[0]: Override on security_file_open is not possible: kprobe: the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is not set); fentry: cannot override a return value; fmod_ret: the kernel has no BTF (/sys/kernel/btf/vmlinux); syscall tracepoints: not a syscall",
    );
  });

  test("allowed mechanisms restrict kernel-function hooks", async () => {
    const sensors = new SensorManager();
    const log = createLogger({ write() {} });
    const only = (allowed: ("kprobe" | "fentry" | "tracepoint")[]) =>
      new PolicyManager({ images: bpfObjectImages(), sharedMaps: h.manager.sharedMaps(), sensors, log, kernel: tracepointOnlyKernel(), allowedMechanisms: allowed });
    const fentryOnly = only(["fentry"]);
    const e = await fentryOnly.add(unamePolicy("fentry-only")).catch((x: unknown) => x as PolicyError);
    expect((e as PolicyError).message).toBe(
      "spec.kprobes[0] (sys_newuname): cannot attach: kprobe: not among the allowed hook mechanisms; fentry: the kernel has no BTF (/sys/kernel/btf/vmlinux); tracepoint: not among the allowed hook mechanisms",
    );
    await fentryOnly.close();
    const tracepointOnly = only(["tracepoint"]);
    const [s] = await tracepointOnly.add(unamePolicy("tracepoint-only"));
    expect(s!.mechanisms()).toStartWith("sys_newuname=tracepoint ");
    await sensors.remove("tracepoint-only");
    await tracepointOnly.close();
  });
});

describe("the agent-facing engine", () => {
  test("the service answers with Connect codes and the handler decodes records", async () => {
    const sensors = new SensorManager();
    const engine = createPolicyEngine({
      images: bpfObjectImages(), sharedMaps: h.manager.sharedMaps(), sensors, log: createLogger({ write() {} }), kernel: tracepointOnlyKernel(),
      nodeName: "n1", bootNsToWallTime: () => ({ seconds: 1, nanos: 0 }), describe: () => undefined,
    });
    const code = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: unknown) => e)) as ConnectError | undefined)?.code;
    expect(await code(engine.service.add("kind: nope"))).toBe(Code.InvalidArgument);
    expect(await code(engine.service.delete("missing"))).toBe(Code.NotFound);
    await engine.service.add(unamePolicy("engine"));
    expect(await code(engine.service.add(unamePolicy("engine")))).toBe(Code.AlreadyExists);
    expect(sensors.list().map((s) => s.name)).toEqual(["engine"]);
    expect(engine.ops).toEqual([5, 6]);
    await engine.service.delete(unamePolicy("engine"));
    expect(sensors.list()).toEqual([]);
    await engine.close();
  });
});

describe("policy files at start", () => {
  test("a directory loads every *.yaml and *.yml; errors name the file", async () => {
    const d = mkdtempSync(join(tmpdir(), "fgs-policies-"));
    writeFileSync(join(d, "a.yaml"), unamePolicy("from-file-a"));
    writeFileSync(join(d, "b.yml"), unamePolicy("from-file-b"));
    writeFileSync(join(d, "ignored.txt"), "not yaml");
    const added = await h.manager.addFiles([d]);
    expect(added.map((s) => s.name)).toEqual(["from-file-a", "from-file-b"]);
    await h.manager.delete("from-file-a");
    await h.manager.delete("from-file-b");
    writeFileSync(join(d, "c.yaml"), "kind: TracingPolicy\n");
    writeFileSync(join(d, "d.yaml"), "kind: ConfigMap\n");
    // Every bad file is reported; the good ones are not left loaded.
    const e = await h.manager.addFiles([d]).catch((x: unknown) => x as PolicyError);
    expect((e as PolicyError).issues).toEqual([
      `${join(d, "c.yaml")}: metadata: required field is missing`,
      `${join(d, "c.yaml")}: spec: required field is missing`,
      `${join(d, "d.yaml")}: not a TracingPolicy: its kind is "ConfigMap" (expected kind: TracingPolicy or TracingPolicyNamespaced, apiVersion: cilium.io/v1alpha1)`,
    ]);
    expect(h.sensors.has("from-file-a")).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });
});
