import { expectEqual, expectTrue, type VmCase } from "../case";
import { execOf, exitOf } from "../harness/select";
import { retryUntil } from "../harness/wait";

/** A known command's exec and exit, as the base sensor reports them. */
const execExit: VmCase = {
  name: "process-exec-exit",
  async run(ctx) {
    const agent = await ctx.startAgent();
    const { run, exec } = await retryUntil("process_exec of vmtest-helper", 40_000, async () => {
      const run = await ctx.runHelper(["exit", "3"]);
      const exec = await agent.events.waitFor("exec", 4000, execOf(run.pid)).catch(() => undefined);
      return exec && { run, exec };
    });
    expectEqual(run.code, 3, "helper exit code");
    const exit = await agent.events.waitFor("process_exit", 10_000, exitOf(run.pid));
    expectEqual(exec.process?.binary, ctx.helper, "exec binary");
    expectEqual(exec.process?.arguments, "exit 3", "exec arguments");
    expectEqual(exec.process?.cwd, ctx.tmp, "exec cwd");
    expectEqual(exec.process?.uid, 0, "exec uid");
    expectEqual(exec.parent?.pid, process.pid, "parent pid");
    expectTrue((exec.process?.execId ?? "") !== "", "exec_id is set");
    expectEqual(exit.process?.execId, exec.process?.execId, "exit exec_id");
    expectEqual(exit.status, 3, "exit status");
    expectEqual(exit.signal, "", "exit signal");
  },
};

export const processCases: readonly VmCase[] = [execExit];
