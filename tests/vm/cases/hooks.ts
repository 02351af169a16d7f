import { createServer, type AddressInfo, type Server } from "node:net";
import { writeFileSync } from "node:fs";
import type { ProcessKprobe } from "../../../gen/tetragon/tetragon_pb";
import { expectEqual, expectTrue, type VmCase, type VmContext } from "../case";
import type { HelperRun } from "../harness/helper";
import { addPolicy, kprobePolicy, onlyBinary, type KprobeDoc } from "../harness/policy";
import { describeArg, intOf, kprobeOf, pathOf } from "../harness/select";
import { directCallFunctions, kprobedFunctions } from "../harness/kernel";
import { retryUntil } from "../harness/wait";

/**
 * `fgs agent` flags that restrict kernel-function hooks to fentry/fexit, so
 * that path is tested on kernels that also have kprobes.
 */
export const FENTRY_ONLY_ARGS: readonly string[] = ["--hook-mechanisms", "fentry"];

const MAY_READ = 4;
const CAP_SYS_ADMIN = 21;
const IPPROTO_TCP = 6;

export interface Trigger {
  run: HelperRun;
  /** Accepts the event this trigger caused, or rejects other hits of the hook. */
  matches(event: ProcessKprobe): boolean;
}

export interface HookCase {
  readonly name: string;
  readonly agentArgs?: readonly string[];
  /** Other function_name spellings accepted besides `call`. */
  readonly otherNames?: readonly string[];
  kprobe(ctx: VmContext): KprobeDoc;
  trigger(ctx: VmContext): Promise<Trigger>;
  check(event: ProcessKprobe, trigger: Trigger): void;
  /** Kernel-side checks made while the policy is loaded. */
  checkKernel?(): void;
}

/** Adds the policy, triggers the hook until its event arrives, checks it. */
export function hookCase(spec: HookCase): VmCase {
  return {
    name: spec.name,
    async run(ctx) {
      const agent = await ctx.startAgent(spec.agentArgs);
      const kprobe = spec.kprobe(ctx);
      await addPolicy(agent, kprobePolicy(spec.name, [kprobe]));
      spec.checkKernel?.();
      const { event, trigger } = await retryUntil(`a ${kprobe.call} event`, 40_000, async () => {
        const trigger = await spec.trigger(ctx);
        const select = kprobeOf(trigger.run.pid, kprobe.call, ...(spec.otherNames ?? []));
        const event = await agent.events
          .waitFor(`${kprobe.call} event`, 4000, (e) => {
            const k = select(e);
            return k && trigger.matches(k) ? k : undefined;
          })
          .catch(() => undefined);
        if (!event) ctx.note(`no matching ${kprobe.call} event for helper pid ${trigger.run.pid}; events so far: ${agent.events.count}`);
        return event && { event, trigger };
      });
      spec.check(event, trigger);
    },
  };
}

export function scratchFile(ctx: VmContext, name: string): string {
  const path = `${ctx.tmp}/${name}`;
  writeFileSync(path, "vmtest\n");
  return path;
}

async function openTrigger(ctx: VmContext, file: string, fileArgIndex: number): Promise<Trigger> {
  const run = await ctx.runHelper(["open", file]);
  expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
  return { run, matches: (e) => pathOf(e.args[fileArgIndex]) === file };
}

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

export async function connectTrigger(ctx: VmContext, portOf = sockPort): Promise<Trigger> {
  const server = await listen();
  const port = (server.address() as AddressInfo).port;
  try {
    const run = await ctx.runHelper(["connect", String(port)]);
    expectEqual(run.code, 0, `helper connect ${port} (${run.output})`);
    return { run, matches: (e) => e.args.length === 0 || portOf(e) === port };
  } finally {
    server.close();
  }
}

function sockPort(event: ProcessKprobe): number | undefined {
  const arg = event.args[0]?.arg;
  return arg?.case === "sockArg" ? arg.value.dport : undefined;
}

function skbPort(event: ProcessKprobe): number | undefined {
  const arg = event.args[0]?.arg;
  return arg?.case === "skbArg" ? arg.value.dport : undefined;
}

function expectReturnZero(event: ProcessKprobe): void {
  expectEqual(intOf(event.return), 0, `return value (${describeArg(event.return)})`);
}

function fdInstall(name: string, agentArgs?: readonly string[]): HookCase {
  return {
    name,
    agentArgs,
    kprobe: (ctx) => ({
      call: "fd_install",
      args: [{ index: 0, type: "int" }, { index: 1, type: "file" }],
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: (ctx) => openTrigger(ctx, scratchFile(ctx, "fd-install.txt"), 1),
    check: (event) => {
      expectTrue((intOf(event.args[0]) ?? -1) >= 0, `fd argument (${describeArg(event.args[0])})`);
    },
  };
}

function filePermission(name: string, withReturn: boolean, agentArgs?: readonly string[]): HookCase {
  return {
    name,
    agentArgs,
    kprobe: (ctx) => ({
      call: "security_file_permission",
      args: [{ index: 0, type: "file" }, { index: 1, type: "int" }],
      ...(withReturn ? { return: true, returnArg: { index: 0, type: "int" } } : {}),
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: (ctx) => openTrigger(ctx, scratchFile(ctx, "permission.txt"), 0),
    check: (event) => {
      expectEqual(intOf(event.args[1]), MAY_READ, `mask argument (${describeArg(event.args[1])})`);
      if (withReturn) expectReturnZero(event);
    },
  };
}

function tcpConnect(name: string, withReturn: boolean): HookCase {
  return {
    name,
    kprobe: (ctx) => ({
      call: "tcp_connect",
      args: [{ index: 0, type: "sock" }],
      ...(withReturn ? { return: true, returnArg: { index: 0, type: "int" } } : {}),
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: (ctx) => connectTrigger(ctx),
    check: (event) => {
      const sock = event.args[0]?.arg;
      expectTrue(sock?.case === "sockArg", `sock argument (${describeArg(event.args[0])})`);
      if (sock?.case === "sockArg") expectEqual(sock.value.daddr, "127.0.0.1", "sock daddr");
      if (withReturn) expectReturnZero(event);
    },
  };
}

/**
 * A syscall hooked as a kernel function: in these guests the agent can use
 * a kprobe or fentry on __x64_sys_openat (pt_regs wrapper) instead of the
 * syscall tracepoint the host kernel is limited to.
 */
function syscallOpenat(name: string, agentArgs?: readonly string[]): HookCase {
  return {
    name,
    agentArgs,
    otherNames: ["__x64_sys_openat", "openat"],
    kprobe: (ctx) => ({
      call: "sys_openat",
      syscall: true,
      args: [{ index: 0, type: "int" }, { index: 1, type: "string" }, { index: 2, type: "int" }],
      return: true,
      returnArg: { index: 0, type: "int" },
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: async (ctx) => {
      const file = scratchFile(ctx, "openat.txt");
      const run = await ctx.runHelper(["open", file]);
      expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
      return { run, matches: (e) => e.args[1]?.arg.case === "stringArg" && e.args[1].arg.value === file };
    },
    check: (event) => {
      expectEqual(intOf(event.args[2]), 0, `flags argument O_RDONLY (${describeArg(event.args[2])})`);
      expectTrue((intOf(event.return) ?? -1) >= 0, `return value is an fd (${describeArg(event.return)})`);
    },
  };
}

/** Argument types read through kernel structs: filename, path, cred, skb. */
function filenameArg(): HookCase {
  return {
    name: "kprobe-do-filp-open-filename",
    kprobe: (ctx) => ({
      call: "do_filp_open",
      args: [{ index: 0, type: "int" }, { index: 1, type: "filename" }],
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: async (ctx) => {
      const file = scratchFile(ctx, "filename.txt");
      const run = await ctx.runHelper(["open", file]);
      expectEqual(run.code, 0, `helper open ${file} (${run.output})`);
      return { run, matches: (e) => e.args[1]?.arg.case === "stringArg" && e.args[1].arg.value === file };
    },
    check: () => {},
  };
}

function pathArg(): HookCase {
  return {
    name: "kprobe-inode-getattr-path",
    kprobe: (ctx) => ({
      call: "security_inode_getattr",
      args: [{ index: 0, type: "path" }],
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: async (ctx) => {
      const file = scratchFile(ctx, "path.txt");
      const run = await ctx.runHelper(["stat", file]);
      expectEqual(run.code, 0, `helper stat ${file} (${run.output})`);
      return { run, matches: (e) => pathOf(e.args[0]) === file };
    },
    check: (event) => expectEqual(event.args[0]?.arg.case, "pathArg", `path argument (${describeArg(event.args[0])})`),
  };
}

function credArg(): HookCase {
  return {
    name: "kprobe-commit-creds-cred",
    kprobe: (ctx) => ({
      call: "commit_creds",
      args: [{ index: 0, type: "cred" }],
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: async (ctx) => {
      const run = await ctx.runHelper(["userns"]);
      expectEqual(run.code, 0, `helper userns (${run.output})`);
      return { run, matches: () => true };
    },
    check: (event) => {
      const cred = event.args[0]?.arg;
      // The creds of a new user namespace hold every capability in it.
      expectTrue(cred?.case === "credArg" && cred.value.effective.includes(CAP_SYS_ADMIN), `cred argument (${describeArg(event.args[0])})`);
    },
  };
}

function skbArg(): HookCase {
  return {
    name: "kprobe-dev-queue-xmit-skb",
    kprobe: (ctx) => ({
      call: "__dev_queue_xmit",
      args: [{ index: 0, type: "skb" }],
      selectors: [onlyBinary(ctx.helper)],
    }),
    trigger: (ctx) => connectTrigger(ctx, skbPort),
    check: (event) => {
      const skb = event.args[0]?.arg;
      expectTrue(skb?.case === "skbArg", `skb argument (${describeArg(event.args[0])})`);
      if (skb?.case === "skbArg") {
        expectEqual(skb.value.daddr, "127.0.0.1", "skb daddr");
        expectEqual(skb.value.proto, IPPROTO_TCP, "skb proto");
      }
    },
  };
}

/** The hook must sit on a BPF trampoline, not a kprobe. */
function onTrampoline(symbol: string): () => void {
  return () => {
    expectTrue(!kprobedFunctions().has(symbol), `${symbol} has a kprobe; expected fentry/fexit only`);
    expectTrue(directCallFunctions().has(symbol), `${symbol} has no BPF trampoline in enabled_functions`);
  };
}

export const hookCases: readonly VmCase[] = [
  hookCase(fdInstall("kprobe-fd-install")),
  hookCase(filePermission("kprobe-security-file-permission", false)),
  hookCase(filePermission("kretprobe-security-file-permission", true)),
  hookCase(tcpConnect("kprobe-tcp-connect", false)),
  hookCase(tcpConnect("kretprobe-tcp-connect", true)),
  hookCase(syscallOpenat("kprobe-syscall-openat")),
  hookCase(filenameArg()),
  hookCase(pathArg()),
  hookCase(credArg()),
  hookCase(skbArg()),
];

/** Run after the others: they need an agent started with FENTRY_ONLY_ARGS. */
export const fentryCases: readonly VmCase[] = [
  hookCase({ ...fdInstall("fentry-fd-install", FENTRY_ONLY_ARGS), checkKernel: onTrampoline("fd_install") }),
  hookCase({
    ...filePermission("fexit-security-file-permission", true, FENTRY_ONLY_ARGS),
    checkKernel: onTrampoline("security_file_permission"),
  }),
  hookCase({
    ...syscallOpenat("fentry-syscall-openat", FENTRY_ONLY_ARGS),
    checkKernel: onTrampoline("__x64_sys_openat"),
  }),
];
