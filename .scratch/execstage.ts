import { ProcessCache } from "../src/cache/index";
import { AgentEvent } from "../src/bus/event";
import { OP_EXEC, OP_CLONE, OP_EXIT } from "../src/decode/process";
const ns = { uts: 1, ipc: 2, mnt: 3, pid: 4, pidForChildren: 4, net: 5, time: 6, timeForChildren: 6, cgroup: 7, user: 8 };
const clock = { bootNsToTimestamp: (n: bigint) => ({ seconds: n / 1_000_000_000n, nanos: Number(n % 1_000_000_000n) }) };
const cache = new ProcessCache({ nodeName: "n", clock, hostNamespaces: ns as never });
const N = 20000;
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const pid = 100000 + i, k = BigInt(r * N + i) * 1000n + 5n;
    cache.handle({ op: OP_CLONE, ktime: k, tgid: pid, parentTgid: 1, parentKtime: 0n, startBoottime: k } as never);
    const ex = cache.handle({ op: OP_EXEC, ktime: k + 1n, tgid: pid, tid: pid, parentTgid: 1, parentKtime: 0n, flags: 1, startBoottime: k, cgroupId: 0n, uid: 0, euid: 0, gid: 0, egid: 0, auid: 4294967295, nspid: pid, caps: { effective: 0x1ffffffffffn, permitted: 0x1ffffffffffn, inheritable: 0n }, ns, cwd: "/tmp", binary: "/usr/bin/true", argv: ["true", "lat", String(i)], argsTotal: 3, cgroup: "/user.slice" } as never);
    new AgentEvent(ex!).encoded();
    const ez = cache.handle({ op: OP_EXIT, ktime: k + 1n, tgid: pid, tid: pid, exitCode: 0, startBoottime: k, flags: 1, time: k + 5n } as never);
    new AgentEvent(ez!).encoded();
  }
  console.log("per exec (clone+exec+exit, enrich+encode):", ((performance.now() - t0) * 1000 / N).toFixed(1), "µs");
}
