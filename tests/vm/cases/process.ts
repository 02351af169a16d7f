import { readlinkSync } from "node:fs";
import type { Process } from "../../../gen/tetragon/tetragon_pb";
import { expectEqual, expectTrue, type VmCase } from "../case";
import { execOf, exitOf } from "../harness/select";
import { retryUntil } from "../harness/wait";

const NAMESPACES = ["uts", "ipc", "mnt", "pid", "net", "cgroup", "user"] as const;

/** The inode of one of our own namespaces: "mnt:[4026531841]" → 4026531841. */
function namespaceInode(kind: string): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${kind}`))?.[1]);
}

/** The helper shares the driver's namespaces; the kernel read them at exec. */
function expectOurNamespaces(proc: Process | undefined): void {
  for (const kind of NAMESPACES) {
    expectEqual(proc?.ns?.[kind]?.inum, namespaceInode(kind), `ns.${kind}.inum`);
  }
}

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
    expectTrue((exec.process?.cap?.effective.length ?? 0) > 0, "root's effective capabilities are reported");
    expectOurNamespaces(exec.process);
    expectEqual(exit.process?.execId, exec.process?.execId, "exit exec_id");
    expectEqual(exit.status, 3, "exit status");
    expectEqual(exit.signal, "", "exit signal");
  },
};

/** A process killed by SIGKILL: the exit event names the signal. */
const killedExit: VmCase = {
  name: "process-sigkill-exit",
  async run(ctx) {
    const agent = await ctx.startAgent();
    const exit = await retryUntil("process_exit of a killed helper", 40_000, async () => {
      const running = ctx.startHelper(["sleep", "60000"]);
      await agent.events.waitFor("exec", 4000, execOf(running.pid)).catch(() => undefined);
      running.kill("SIGKILL");
      const run = await running.done;
      expectEqual(run.signal, "SIGKILL", "helper end");
      return agent.events.waitFor("process_exit", 4000, exitOf(run.pid)).catch(() => undefined);
    });
    expectEqual(exit.signal, "SIGKILL", "exit signal");
    expectEqual(exit.process?.binary, ctx.helper, "exit binary");
  },
};

export const processCases: readonly VmCase[] = [execExit, killedExit];
