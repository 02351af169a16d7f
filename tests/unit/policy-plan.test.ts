/** The kernel plan is a value made before anything loads: per hook the
 * mechanisms a described kernel offers, best first, each compiled, with what
 * to attach. No root: nothing here touches the running kernel. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NAMESPACE_FIELDS, type NamespaceInums } from "../../src/decode/process";
import { NO_KPROBES, type KernelEnvironment } from "../../src/kernel/environment";
import { tracepointExists, tracepointFormat } from "../../src/kernel/tracefs";
import { parsePolicies } from "../../src/policy";
import { syscallSymbols } from "../../src/policy/model/syscalls";
import { HOOK_CFG } from "../../src/policy/plan/layout";
import { planPolicy, type PolicyPlan } from "../../src/policy/plan/policy";
import { openat } from "../fixtures/policies/malformed";

const OPENAT_FORMAT = `name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))
`;

const tracefs = mkdtempSync(join(tmpdir(), "fgs-plan-tracefs-"));
afterAll(() => rmSync(tracefs, { recursive: true, force: true }));
mkdirSync(join(tracefs, "events/syscalls/sys_enter_openat"), { recursive: true });
writeFileSync(join(tracefs, "events/syscalls/sys_enter_openat/format"), OPENAT_FORMAT);

const WRAPPER = syscallSymbols("openat")[0]?.symbol ?? "";
const HOST_NS = Object.fromEntries(NAMESPACE_FIELDS.map((n, i) => [n, 4026531835 + i])) as NamespaceInums;

/** A kernel with the openat wrapper, its syscall tracepoint and BTF, but no kprobes. */
function describedKernel(over: Partial<KernelEnvironment> = {}): KernelEnvironment {
  return {
    release: "6.1.0-described",
    btf: true,
    tracefs,
    kprobesMissing: NO_KPROBES,
    uprobes: false,
    hostNamespaces: HOST_NS,
    missing: [],
    symbolExists: (name) => name === WRAPPER,
    errorInjectable: () => null,
    tracepointExists: (s, e) => tracepointExists(tracefs, s, e),
    tracepointFormat: (s, e) => tracepointFormat(tracefs, s, e),
    ...over,
  };
}

function plan(kernel: KernelEnvironment, allowed?: ReadonlySet<"kprobe" | "fentry" | "tracepoint">): PolicyPlan {
  const [policy] = parsePolicies(openat(""));
  if (!policy) throw new Error("the fixture has no policy");
  let id = 41;
  return planPolicy(policy, () => ++id, { kernel, allowed });
}

describe("the kernel plan of a syscall hook", () => {
  test("without kprobes: fentry on the wrapper, then the syscall tracepoint, each compiled for its hook id", () => {
    const [hook] = plan(describedKernel()).hooks;
    if (!hook?.ok) throw new Error(`not planned: ${hook?.ok === false ? hook.error.message : "no hook"}`);
    expect(hook.plan.id).toBe(42);
    expect(hook.plan.refusals).toEqual([`kprobe: ${NO_KPROBES}`]);
    expect(hook.plan.candidates.map((c) => [c.mechanism, c.object, c.target])).toEqual([
      ["fentry", "generic_fentry", WRAPPER],
      ["tracepoint", "generic_tp", "syscalls/sys_enter_openat"],
    ]);
    const [fentry, tracepoint] = hook.plan.candidates;
    expect(fentry?.btfTarget).toBe(WRAPPER);
    expect(fentry?.attachments).toEqual([{ kind: "trace", program: "gen_fentry_enter" }]);
    expect(tracepoint?.attachments).toEqual([{ kind: "tracepoint", program: "gen_tp_enter", subsystem: "syscalls", event: "sys_enter_openat" }]);
    for (const c of hook.plan.candidates) {
      expect(c.compiled.config.length).toBe(HOOK_CFG.bytes);
      expect(new DataView(c.compiled.config.buffer).getUint32(HOOK_CFG.hookId, true)).toBe(42);
    }
    /* records of the hook report the wrapper, whichever mechanism attaches */
    expect(hook.description).toMatchObject({ kind: "kprobe", functionName: WRAPPER, policyName: "p" });
  });

  test("allowed mechanisms leave the others out, each with its reason", () => {
    const [hook] = plan(describedKernel(), new Set(["tracepoint"])).hooks;
    if (!hook?.ok) throw new Error("not planned");
    expect(hook.plan.candidates.map((c) => c.mechanism)).toEqual(["tracepoint"]);
    expect(hook.plan.refusals).toEqual(["kprobe: not among the allowed hook mechanisms", "fentry: not among the allowed hook mechanisms"]);
  });

  test("a kernel that offers nothing: the plan holds the error, naming each mechanism", () => {
    const [hook] = plan(describedKernel({ btf: false, tracepointFormat: () => null, tracepointExists: () => false })).hooks;
    if (hook?.ok !== false) throw new Error("planned on a kernel that offers nothing");
    expect(hook.error.code).toBe("failed_precondition");
    expect(hook.error.message).toBe(
      `spec.kprobes[0] (sys_openat): cannot attach: kprobe: ${NO_KPROBES}; fentry: the kernel has no BTF (/sys/kernel/btf/vmlinux); syscall tracepoints: no syscalls/sys_enter_openat in tracefs`,
    );
  });
});
