import { writeFileSync } from "node:fs";
import { KprobeAction } from "../../../gen/tetragon/tetragon_pb";
import { expectEqual, expectTrue, type VmCase, type VmContext } from "../case";
import { addPolicy, kprobePolicy, onlyBinary, type ActionDoc } from "../harness/policy";
import { errorInjectableFunctions } from "../harness/kernel";
import { exitOf, kprobeOf } from "../harness/select";
import { retryUntil } from "../harness/wait";

const EPERM = 1;

function scratchFiles(ctx: VmContext): { target: string; other: string } {
  const target = `${ctx.tmp}/target.txt`;
  const other = `${ctx.tmp}/other.txt`;
  writeFileSync(target, "vmtest\n");
  writeFileSync(other, "vmtest\n");
  return { target, other };
}

/**
 * security_file_open on one file, with an action. Debian's kernels lack
 * CONFIG_FUNCTION_ERROR_INJECTION, so Override on them needs fmod_ret or BPF
 * LSM, which allow security_* hooks.
 */
function fileOpenPolicy(ctx: VmContext, name: string, target: string, action: ActionDoc): string {
  return kprobePolicy(name, [{
    call: "security_file_open",
    args: [{ index: 0, type: "file" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [{ index: 0, operator: "Equal", values: [target] }],
      matchActions: [action],
    })],
  }]);
}

const overrideFileOpen: VmCase = {
  name: "override-security-file-open",
  async run(ctx) {
    const agent = await ctx.startAgent();
    const { target, other } = scratchFiles(ctx);
    await addPolicy(agent, fileOpenPolicy(ctx, "override-file-open", target, { action: "Override", argError: -EPERM }));
    const event = await retryUntil("an Override event", 40_000, async () => {
      const run = await ctx.runHelper(["open", target]);
      expectEqual(run.code, 1, `helper open of the target should fail (${run.output})`);
      expectTrue(run.output.includes(`errno ${EPERM} `), `open should fail with EPERM: ${run.output}`);
      return agent.events.waitFor("Override event", 4000, kprobeOf(run.pid, "security_file_open")).catch(() => undefined);
    });
    expectEqual(event.action, KprobeAction.OVERRIDE, "event action");
    const untouched = await ctx.runHelper(["open", other]);
    expectEqual(untouched.code, 0, `open of another file must succeed (${untouched.output})`);
  },
};

/** Override where neither error injection nor fmod_ret can work: refused up front. */
const overrideRefused: VmCase = {
  name: "override-refused-not-injectable",
  async run(ctx) {
    const call = "fd_install";
    expectTrue(!(errorInjectableFunctions()?.has(call) ?? false), `${call} is error-injectable here`);
    const agent = await ctx.startAgent();
    const yaml = kprobePolicy("override-refused", [{
      call,
      args: [{ index: 0, type: "int" }],
      selectors: [onlyBinary(ctx.helper, { matchActions: [{ action: "Override", argError: -EPERM }] })],
    }]);
    const refusal = await addPolicy(agent, yaml).then(() => undefined, (e: Error) => e.message);
    expectTrue(refusal !== undefined, "AddTracingPolicy accepted Override on a function that cannot be overridden");
    expectTrue(refusal?.includes(call) ?? false, `the refusal should name ${call}: ${refusal}`);
    const sensors = await agent.client.listSensors({});
    expectTrue(!sensors.sensors.some((s) => s.name === "override-refused"), "a refused policy left a sensor behind");
  },
};

const sigkillFileOpen: VmCase = {
  name: "sigkill-security-file-open",
  async run(ctx) {
    const agent = await ctx.startAgent();
    const { target, other } = scratchFiles(ctx);
    await addPolicy(agent, fileOpenPolicy(ctx, "sigkill-file-open", target, { action: "Sigkill" }));
    const { event, pid } = await retryUntil("a Sigkill event", 40_000, async () => {
      const run = await ctx.runHelper(["open", target]);
      expectEqual(run.signal, "SIGKILL", `helper should die of SIGKILL (code ${run.code}, ${run.output})`);
      const event = await agent.events.waitFor("Sigkill event", 4000, kprobeOf(run.pid, "security_file_open")).catch(() => undefined);
      return event && { event, pid: run.pid };
    });
    expectEqual(event.action, KprobeAction.SIGKILL, "event action");
    const exit = await agent.events.waitFor("process_exit", 10_000, exitOf(pid));
    expectEqual(exit.signal, "SIGKILL", "exit signal");
    const untouched = await ctx.runHelper(["open", other]);
    expectEqual(untouched.code, 0, `open of another file must succeed (${untouched.output})`);
  },
};

export const enforceCases: readonly VmCase[] = [overrideFileOpen, overrideRefused, sigkillFileOpen];
