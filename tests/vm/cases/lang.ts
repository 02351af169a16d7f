// Issue 13 in the guests (kprobes): socket operators evaluated in the kernel
// on sock, skb, socket and sockaddr arguments, and the kernel-struct types
// socket, sockaddr and linux_binprm read through kprobes.
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { KprobeAction, type ProcessKprobe } from "../../../gen/tetragon/tetragon_pb";
import { expectEqual, expectTrue, Mismatch, type VmCase } from "../case";
import { addPolicy, kprobePolicy, onlyBinary } from "../harness/policy";
import { describeArg, kprobeOf } from "../harness/select";
import { retryUntil } from "../harness/wait";
import { connectTrigger, hookCase, scratchFile, type HookCase } from "./hooks";

function sockOf(e: ProcessKprobe, i: number) {
  const a = e.args[i]?.arg;
  return a?.case === "sockArg" ? a.value : undefined;
}

function sockaddrOf(e: ProcessKprobe, i: number) {
  const a = e.args[i]?.arg;
  return a?.case === "sockaddrArg" ? a.value : undefined;
}

const sockOperators: HookCase = {
  name: "lang-kprobe-sock-operators",
  kprobe: (ctx) => ({
    call: "tcp_connect",
    args: [{ index: 0, type: "sock" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 0, operator: "DAddr", values: ["127.0.0.0/8"] },
        { index: 0, operator: "NotDAddr", values: ["10.0.0.0/8", "::1/128"] },
        { index: 0, operator: "DPort", values: ["1024:65535"] },
        { index: 0, operator: "Family", values: ["AF_INET"] },
        { index: 0, operator: "Protocol", values: ["IPPROTO_TCP"] },
      ],
    })],
  }),
  trigger: (ctx) => connectTrigger(ctx, (e) => sockOf(e, 0)?.dport),
  check: (event) => {
    const sock = sockOf(event, 0);
    expectTrue(sock !== undefined, `sock argument (${describeArg(event.args[0])})`);
    expectEqual(sock?.daddr, "127.0.0.1", "sock daddr");
    expectEqual(sock?.state, "TCP_SYN_SENT", "sock state");
  },
};

const sockState: HookCase = {
  name: "lang-kprobe-sock-state",
  kprobe: (ctx) => ({
    call: "tcp_connect",
    args: [{ index: 0, type: "sock" }],
    selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 0, operator: "State", values: ["TCP_SYN_SENT"] }] })],
  }),
  trigger: (ctx) => connectTrigger(ctx, (e) => sockOf(e, 0)?.dport),
  check: (event) => expectEqual(sockOf(event, 0)?.state, "TCP_SYN_SENT", "sock state"),
};

const skbOperators: HookCase = {
  name: "lang-kprobe-skb-operators",
  kprobe: (ctx) => ({
    call: "__dev_queue_xmit",
    args: [{ index: 0, type: "skb" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 0, operator: "DAddr", values: ["127.0.0.1/32"] },
        { index: 0, operator: "SAddr", values: ["127.0.0.0/8"] },
        { index: 0, operator: "NotDPortPriv", values: [] },
        { index: 0, operator: "Protocol", values: ["6"] },
      ],
    })],
  }),
  trigger: (ctx) => connectTrigger(ctx, (e) => {
    const a = e.args[0]?.arg;
    return a?.case === "skbArg" ? a.value.dport : undefined;
  }),
  check: (event) => {
    const a = event.args[0]?.arg;
    expectTrue(a?.case === "skbArg" && a.value.daddr === "127.0.0.1", `skb argument (${describeArg(event.args[0])})`);
  },
};

const socketSockaddr: HookCase = {
  name: "lang-kprobe-socket-sockaddr",
  kprobe: (ctx) => ({
    call: "security_socket_connect",
    args: [{ index: 0, type: "socket" }, { index: 1, type: "sockaddr" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 0, operator: "Family", values: ["AF_INET"] },
        { index: 1, operator: "SAddr", values: ["127.0.0.0/8"] },
        { index: 1, operator: "SPort", values: ["1024:65535"] },
      ],
    })],
  }),
  trigger: (ctx) => connectTrigger(ctx, (e) => sockaddrOf(e, 1)?.port),
  check: (event) => {
    expectEqual(sockOf(event, 0)?.family, "AF_INET", `socket argument (${describeArg(event.args[0])})`);
    expectEqual(sockaddrOf(event, 1)?.addr, "127.0.0.1", `sockaddr argument (${describeArg(event.args[1])})`);
  },
};

const linuxBinprm: HookCase = {
  name: "lang-kprobe-linux-binprm",
  kprobe: (ctx) => ({
    call: "security_bprm_check",
    args: [{ index: 0, type: "linux_binprm" }],
    /* at this point the process still runs its parent's binary: match the new one */
    selectors: [{ matchArgs: [{ index: 0, operator: "Equal", values: [ctx.helper] }] }],
  }),
  trigger: async (ctx) => {
    const run = await ctx.runHelper(["exit", "0"]);
    return { run, matches: () => true };
  },
  check: (event) => {
    const a = event.args[0]?.arg;
    expectTrue(a?.case === "linuxBinprmArg", `linux_binprm argument (${describeArg(event.args[0])})`);
  },
};

const kiocbArg: HookCase = {
  name: "lang-kprobe-kiocb",
  kprobe: (ctx) => ({
    call: "shmem_file_read_iter",
    args: [{ index: 0, type: "kiocb" }],
    selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 0, operator: "Postfix", values: ["/kiocb.txt"] }] })],
  }),
  trigger: async (ctx) => {
    const file = scratchFile(ctx, "kiocb.txt");
    const run = await ctx.runHelper(["open", file]);
    expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
    return { run, matches: (e) => e.args[0]?.arg.case === "fileArg" && e.args[0].arg.value.path === file };
  },
  check: () => {},
};

const netDevice: HookCase = {
  name: "lang-kprobe-net-device",
  kprobe: (ctx) => ({
    call: "dev_hard_start_xmit",
    args: [{ index: 0, type: "skb" }, { index: 1, type: "net_device" }],
    selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 1, operator: "Equal", values: ["lo"] }] })],
  }),
  trigger: (ctx) => connectTrigger(ctx, (e) => {
    const a = e.args[0]?.arg;
    return a?.case === "skbArg" ? a.value.dport : undefined;
  }),
  check: (event) => {
    const a = event.args[1]?.arg;
    expectEqual(a?.case === "netDevArg" ? a.value.name : undefined, "lo", `net_device argument (${describeArg(event.args[1])})`);
  },
};

async function bpfTrigger(ctx: Parameters<HookCase["trigger"]>[0]) {
  const run = await ctx.runHelper(["bpf"]);
  expectEqual(run.code, 0, `helper bpf (${run.output})`);
  return { run, matches: () => true };
}

const bpfMap: HookCase = {
  name: "lang-kprobe-bpf-map",
  kprobe: (ctx) => ({
    call: "security_bpf_map",
    args: [{ index: 0, type: "bpf_map" }],
    selectors: [onlyBinary(ctx.helper)],
  }),
  trigger: bpfTrigger,
  check: (event) => {
    const a = event.args[0]?.arg;
    const m = a?.case === "bpfMapArg" ? a.value : undefined;
    expectEqual(m ? `${m.MapType} ${m.KeySize} ${m.ValueSize} ${m.MaxEntries} ${m.MapName}` : undefined,
      "BPF_MAP_TYPE_ARRAY 4 8 1 vmtest", `bpf_map argument (${describeArg(event.args[0])})`);
  },
};

const bpfAttr: HookCase = {
  name: "lang-kprobe-bpf-attr",
  kprobe: (ctx) => ({
    call: "security_bpf",
    args: [{ index: 0, type: "int" }, { index: 1, type: "bpf_attr" }],
    /* BPF_PROG_LOAD */
    selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 0, operator: "Equal", values: ["5"] }] })],
  }),
  trigger: bpfTrigger,
  check: (event) => {
    const a = event.args[1]?.arg;
    const p = a?.case === "bpfAttrArg" ? a.value : undefined;
    expectEqual(p ? `${p.ProgType} ${p.InsnCnt} ${p.ProgName}` : undefined,
      "BPF_PROG_TYPE_SOCKET_FILTER 2 vmtest", `bpf_attr argument (${describeArg(event.args[1])})`);
  },
};

/* CAP_BPF: creating a map checks it (bpf_capable), against the initial user namespace */
const capCapable: HookCase = {
  name: "lang-kprobe-cap-capable",
  kprobe: (ctx) => ({
    call: "cap_capable",
    args: [{ index: 1, type: "user_namespace" }, { index: 2, type: "capability" }],
    selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 2, operator: "Equal", values: ["CAP_BPF"] }] })],
  }),
  trigger: bpfTrigger,
  check: (event) => {
    const ns = event.args[0]?.arg;
    expectTrue(ns?.case === "userNsArg" && ns.value.ns?.isHost === true && ns.value.level === 0, `user_namespace argument (${describeArg(event.args[0])})`);
    const cap = event.args[1]?.arg;
    expectEqual(cap?.case === "capabilityArg" ? cap.value.name : undefined, "CAP_BPF", `capability argument (${describeArg(event.args[1])})`);
  },
};

const fileType: HookCase = {
  name: "lang-kprobe-filetype",
  kprobe: (ctx) => ({
    call: "security_file_permission",
    args: [{ index: 0, type: "file" }, { index: 1, type: "int" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 0, operator: "FileType", values: ["reg"] },
        { index: 0, operator: "NotFileType", values: ["dir", "sock", "fifo"] },
        { index: 0, operator: "Postfix", values: ["/filetype.txt"] },
      ],
    })],
  }),
  trigger: async (ctx) => {
    const file = scratchFile(ctx, "filetype.txt");
    const run = await ctx.runHelper(["open", file]);
    expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
    return { run, matches: (e) => e.args[0]?.arg.case === "fileArg" && e.args[0].arg.value.path === file };
  },
  check: () => {},
};

/** NotDAddr on the trigger's own address: the kernel must drop every hit. */
const notDAddr: VmCase = {
  name: "lang-kprobe-sock-notdaddr",
  async run(ctx) {
    const agent = await ctx.startAgent();
    await addPolicy(agent, kprobePolicy("lang-kprobe-sock-notdaddr", [{
      call: "tcp_connect",
      args: [{ index: 0, type: "sock" }],
      selectors: [onlyBinary(ctx.helper, { matchArgs: [{ index: 0, operator: "NotDAddr", values: ["127.0.0.0/8"] }] })],
    }]));
    const trigger = await connectTrigger(ctx);
    const hit = await agent.events
      .waitFor("a tcp_connect event", 3000, (e) => kprobeOf(trigger.run.pid, "tcp_connect")(e))
      .catch(() => undefined);
    if (hit) throw new Mismatch(`NotDAddr 127.0.0.0/8 let through a connect to 127.0.0.1 (${describeArg(hit.args[0])})`);
  },
};

export const langCases: readonly VmCase[] = [
  hookCase(sockOperators),
  hookCase(sockState),
  hookCase(skbOperators),
  hookCase(socketSockaddr),
  hookCase(linuxBinprm),
  hookCase(kiocbArg),
  hookCase(netDevice),
  hookCase(bpfMap),
  hookCase(bpfAttr),
  hookCase(capCapable),
  hookCase(fileType),
  notDAddr,
  lsmCase("lang-lsm-file-open", false),
  lsmCase("lang-lsm-file-open-override", true),
];

/** spec.lsmhooks on file_open: a ProcessLsm event, then Override denies the open. */
function lsmCase(name: string, override: boolean): VmCase {
  return {
    name,
    async run(ctx) {
      const agent = await ctx.startAgent();
      const file = `${ctx.tmp}/lsm.txt`;
      writeFileSync(file, "vmtest\n");
      await addPolicy(agent, stringify({
        apiVersion: "cilium.io/v1alpha1",
        kind: "TracingPolicy",
        metadata: { name },
        spec: {
          lsmhooks: [{
            hook: "file_open",
            message: "watched file opened",
            args: [{ index: 0, type: "file" }],
            selectors: [{
              ...onlyBinary(ctx.helper),
              matchArgs: [{ index: 0, operator: "Equal", values: [file] }],
              ...(override ? { matchActions: [{ action: "Override", argError: -1 }] } : {}),
            }],
          }],
        },
      }));
      const event = await retryUntil("a file_open LSM event", 40_000, async () => {
        const run = await ctx.runHelper(["open", file]);
        if (override) expectTrue(run.code !== 0, `helper open ${file} should fail with EPERM (${run.output})`);
        else expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
        return agent.events
          .waitFor("processLsm", 4000, (e) => (e.event.case === "processLsm" && e.event.value.process?.pid === run.pid ? e.event.value : undefined))
          .catch(() => undefined);
      });
      expectEqual(event.functionName, "file_open", "function_name");
      expectEqual(event.policyName, name, "policy_name");
      expectEqual(event.message, "watched file opened", "message");
      const a = event.args[0]?.arg;
      expectEqual(a?.case === "fileArg" ? a.value.path : undefined, file, `file argument (${describeArg(event.args[0])})`);
      expectEqual(event.action, override ? KprobeAction.OVERRIDE : KprobeAction.POST, "action");
    },
  };
}

