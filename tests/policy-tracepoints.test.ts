/** Tracepoint policies on the host kernel: arguments typed from the format
 * file (__data_loc strings, inline arrays, pointers), selectors in the kernel. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicyError } from "../src/policy";
import { PolicyHarness, policyYaml } from "./helpers/policy-harness";
import { python, run } from "./helpers/process-run";

let h: PolicyHarness;
let dir: string;

beforeAll(() => {
  h = PolicyHarness.start();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "fgs-tp-")));
}, 60_000);

afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("sched/sched_process_exec", () => {
  test("a __data_loc filename with a Postfix match", async () => {
    const name = `fgs-exec-${process.pid}-marker`;
    const bin = join(dir, name);
    copyFileSync("/bin/true", bin);
    await h.manager.add(policyYaml("exec-marker", `  tracepoints:
  - subsystem: sched
    event: sched_process_exec
    args:
    - {index: 4, type: string}
    - {index: 5, type: int}
    selectors:
    - matchArgs: [{index: 4, operator: Postfix, values: ["/${name}"]}]
`));
    const r = await run([bin]);
    const other = await run(["/bin/true"]);
    expect(r.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === r.pid);
    if (e.kind !== "tracepoint") throw new Error("expected a tracepoint event");
    expect(e.ev.subsys).toBe("sched");
    expect(e.ev.event).toBe("sched_process_exec");
    expect(e.ev.args.map((a) => a.arg)).toEqual([
      { case: "stringArg", value: bin },
      { case: "intArg", value: r.pid },
    ]);
    await h.settle();
    expect(h.of(other.pid)).toEqual([]);
    await h.manager.delete("exec-marker");
  });
});

describe("sock/inet_sock_set_state", () => {
  test("a sock pointer and inline address arrays, matched on state and port", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    await h.manager.add(policyYaml("tcp-connect", `  tracepoints:
  - subsystem: sock
    event: inet_sock_set_state
    args:
    - {index: 4, type: sock}
    - {index: 6, type: int}
    - {index: 8, type: uint32}
    - {index: 12, type: char_buf}
    selectors:
    - matchArgs:
      - {index: 6, operator: Equal, values: [2]}
      - {index: 8, operator: Equal, values: [${port}]}
`));
    const r = await python(`import socket\ns = socket.create_connection(("127.0.0.1", ${port}))\ns.close()`);
    server.stop(true);
    expect(r.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === r.pid);
    if (e.kind !== "tracepoint") throw new Error("expected a tracepoint event");
    const [sock, state, dport, daddr] = e.ev.args;
    expect(sock!.arg.case).toBe("sockArg");
    expect(sock!.arg.value).toMatchObject({ family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_TCP", daddr: "127.0.0.1", dport: port });
    expect(state!.arg).toEqual({ case: "intArg", value: 2 });
    expect(dport!.arg).toEqual({ case: "sizeArg", value: BigInt(port) });
    expect(daddr!.arg).toEqual({ case: "bytesArg", value: new Uint8Array([127, 0, 0, 1]) });
    await h.manager.delete("tcp-connect");
  });
});

describe("syscall tracepoints named directly", () => {
  test("syscalls/sys_enter_unlinkat reads the user's path", async () => {
    await h.manager.add(policyYaml("unlink-dir", `  tracepoints:
  - subsystem: syscalls
    event: sys_enter_unlinkat
    args: [{index: 6, type: string}]
    selectors:
    - matchArgs: [{index: 6, operator: Prefix, values: ["${dir}/"]}]
`));
    const target = join(dir, "gone.txt");
    /* os.unlink calls unlink(2); rmdir with dir_fd calls unlinkat(2) */
    const r = await python(`import os\nos.mkdir(${JSON.stringify(target)})\nos.rmdir(${JSON.stringify(target)}, dir_fd=os.open("/", os.O_RDONLY))`);
    expect(r.exitCode).toBe(0);
    const e = await h.waitFor((x) => x.pid === r.pid);
    expect(e.kind === "tracepoint" && e.ev.args[0]!.arg).toEqual({ case: "stringArg", value: target });
    await h.manager.delete("unlink-dir");
  });

  test("raw_syscalls/sys_enter with a matchPIDs and an id filter", async () => {
    const child = Bun.spawn(["/bin/sh", "-c", "read go; exec /usr/bin/python3 -c 'import os; os.getpgid(0)'"], { stdin: "pipe" });
    await h.manager.add(policyYaml("raw-getpgid", `  tracepoints:
  - subsystem: raw_syscalls
    event: sys_enter
    args: [{index: 4, type: long}]
    selectors:
    - matchPIDs: [{operator: In, values: [${child.pid}]}]
      matchArgs: [{index: 4, operator: Equal, values: [121]}]
`));
    child.stdin.write("go\n");
    child.stdin.end();
    await child.exited;
    const e = await h.waitFor((x) => x.pid === child.pid);
    expect(e.kind === "tracepoint" && e.ev.args[0]!.arg).toEqual({ case: "longArg", value: 121n });
    await h.settle();
    expect(h.of(child.pid).length).toBe(1);
    await h.manager.delete("raw-getpgid");
  });
});

describe("tracepoint argument types are checked against the format", () => {
  test("a string on an int field is refused", async () => {
    const e = await h.manager.add(policyYaml("bad-type", `  tracepoints:
  - subsystem: sched
    event: sched_process_exec
    args: [{index: 5, type: string}]
`)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).message).toBe(`spec.tracepoints[0].args[0].type: string does not fit field 5 "pid" (pid_t, 4 bytes)`);
  });

  test("an index past the last field is refused", async () => {
    const e = await h.manager.add(policyYaml("bad-index", `  tracepoints:
  - subsystem: sched
    event: sched_process_exec
    args: [{index: 9, type: int}]
`)).catch((x: unknown) => x);
    expect((e as PolicyError).message).toBe("spec.tracepoints[0].args[0].index: the tracepoint has 7 fields (0 to 6)");
  });
});
