import { heapStats } from "bun:jsc";
import { ProcessCache } from "../src/cache/index";
import { OP_EXEC } from "../src/decode/process";
const ns = { uts: 1, ipc: 2, mnt: 3, pid: 4, pidForChildren: 4, net: 5, time: 6, timeForChildren: 6, cgroup: 7, user: 8 };
const clock = { bootNsToTimestamp: (n: bigint) => ({ seconds: n / 1_000_000_000n, nanos: Number(n % 1_000_000_000n) }) };
const cache = new ProcessCache({ nodeName: "n", clock, hostNamespaces: ns as never, procRoot: "/nonexistent" });
cache.handle({ op: OP_EXEC, ktime: 1n, tgid: 1, tid: 1, parentTgid: 0, parentKtime: 0n, flags: 1, startBoottime: 1n, cgroupId: 0n, uid: 0, euid: 0, gid: 0, egid: 0, auid: 4294967295, nspid: 1, caps: { effective: 0x1ffffffffffn, permitted: 0x1ffffffffffn, inheritable: 0n }, ns, cwd: "/", binary: "/sbin/init", argv: ["init"], argsTotal: 1, cgroup: "/" } as never);
Bun.gc(true);
const before = heapStats().heapSize;
for (let i = 0; i < 5000; i++) {
  const pid = 1000 + i, k = BigInt(i + 10) * 1000n;
  cache.handle({ op: OP_EXEC, ktime: k, tgid: pid, tid: pid, parentTgid: 1, parentKtime: 1n, flags: 1, startBoottime: k, cgroupId: 0n, uid: 0, euid: 0, gid: 0, egid: 0, auid: 4294967295, nspid: pid, caps: { effective: 0x1ffffffffffn, permitted: 0x1ffffffffffn, inheritable: 0n }, ns, cwd: "/tmp", binary: "/usr/bin/sleep", argv: ["sleep", "1000", "x".repeat(50)], argsTotal: 3, cgroup: "/user.slice/user-0.slice/session-1.scope" } as never);
}
Bun.gc(true);
console.log("heap per live process (bytes):", Math.round((heapStats().heapSize - before) / 5000), "entries", cache.stats().entries);
