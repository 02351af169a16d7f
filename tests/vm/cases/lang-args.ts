// Issue 13 in the guests (kprobes): the argument types dentry, iov_iter,
// load_info, module and perf_event, each read in the kernel, matched where
// they can be, and checked field by field in the event.
import { readFileSync } from "node:fs";
import { TaintedBitsType, type KprobeArgument, type ProcessKprobe } from "../../../gen/tetragon/tetragon_pb";
import { expectEqual, expectTrue, type VmCase, type VmContext } from "../case";
import { onlyBinary } from "../harness/policy";
import { describeArg } from "../harness/select";
import { hookCase, scratchFile, type HookCase } from "./hooks";

function moduleOf(a: KprobeArgument | undefined) {
  return a?.arg.case === "moduleArg" ? a.arg.value : undefined;
}

function bytesOf(a: KprobeArgument | undefined): string | undefined {
  return a?.arg.case === "bytesArg" ? new TextDecoder().decode(a.arg.value) : undefined;
}

/** The path of `file` from the root of the filesystem holding it (what a dentry can tell). */
function pathInItsFilesystem(file: string): string {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m !== "");
  const inside = mounts.filter((m) => m === "/" || file.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0] ?? "/";
  return inside === "/" ? file : file.slice(inside.length);
}

/* what the last trigger did, for check() */
const last = { file: "", mod: undefined as StagedModule | undefined, pmuType: "" };

const dentry: HookCase = {
  name: "lang-kprobe-dentry",
  kprobe: (ctx) => ({
    call: "security_inode_unlink",
    args: [{ index: 1, type: "dentry" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 1, operator: "Postfix", values: ["/dentry.txt"] },
        { index: 1, operator: "FileType", values: ["reg"] },
      ],
    })],
  }),
  trigger: async (ctx) => {
    const file = scratchFile(ctx, "dentry.txt");
    const run = await ctx.runHelper(["unlink", file]);
    expectEqual(run.code, 0, `helper unlink ${file} (${run.output})`);
    last.file = file;
    return { run, matches: () => true };
  },
  check: (event) => {
    const a = event.args[0]?.arg;
    expectEqual(a?.case === "pathArg" ? a.value.path : undefined, pathInItsFilesystem(last.file), `dentry argument (${describeArg(event.args[0])})`);
  },
};

/** generic_perform_write(kiocb, iov_iter): write(2) gives ITER_UBUF, a writev(2) of two parts ITER_IOVEC. */
function iovIter(name: string, parts: readonly string[]): HookCase {
  const text = parts.join("");
  return {
    name,
    kprobe: (ctx) => ({
      call: "generic_perform_write",
      args: [{ index: 0, type: "kiocb" }, { index: 1, type: "iov_iter" }],
      selectors: [onlyBinary(ctx.helper, {
        matchArgs: [
          { index: 0, operator: "Postfix", values: ["/iov.txt"] },
          { index: 1, operator: "Prefix", values: [text.slice(0, 6)] },
        ],
      })],
    }),
    trigger: async (ctx) => {
      const file = `${ctx.tmp}/iov.txt`;
      const run = await ctx.runHelper([parts.length === 1 ? "write" : "writev", file, ...parts]);
      expectEqual(run.code, 0, `helper write ${file} (${run.output})`);
      return { run, matches: () => true };
    },
    check: (event) => {
      expectEqual(bytesOf(event.args[1]), text, `iov_iter argument (${describeArg(event.args[1])})`);
    },
  };
}

interface StagedModule {
  readonly name: string;
  readonly path: string;
  /** the file ends with an appended signature (the distribution's key signed it) */
  readonly signed: boolean;
}

/** The module scripts/vm/mkmodules staged (+NAME in scripts/vm/kernels) for this case. */
function stagedModule(): StagedModule {
  const line = readFileSync("/etc/vmtest-staged-modules", "utf8").split("\n").find((l) => l.startsWith("dummy "));
  expectTrue(line !== undefined, "dummy is not staged (scripts/vm/kernels: +dummy)");
  const path = line!.split(" ")[1]!;
  const tail = readFileSync(path).subarray(-28).toString("latin1");
  return { name: "dummy", path, signed: tail === "~Module signature appended~\n" };
}

async function moduleTrigger(ctx: VmContext) {
  const mod = stagedModule();
  const run = await ctx.runHelper(["module", mod.path, mod.name]);
  expectEqual(run.code, 0, `helper module ${mod.path} (${run.output})`);
  last.mod = mod;
  return { run, matches: () => true };
}

/** add_kallsyms(struct module *, const struct load_info *) runs for every module loaded. */
const loadInfo: HookCase = {
  name: "lang-kprobe-load-info-module",
  kprobe: (ctx) => ({
    call: "add_kallsyms",
    args: [{ index: 0, type: "module" }, { index: 1, type: "load_info" }],
    selectors: [onlyBinary(ctx.helper, {
      matchArgs: [
        { index: 0, operator: "Equal", values: ["dummy"] },
        { index: 1, operator: "Prefix", values: ["dum"] },
      ],
    })],
  }),
  trigger: moduleTrigger,
  check: (event) => {
    const mod = last.mod!;
    const m = moduleOf(event.args[0]);
    const unsigned = mod.signed ? [] : [TaintedBitsType.TAINT_UNSIGNED_MODULE];
    expectEqual(JSON.stringify(m && { name: m.name, sig: m.signatureOk ?? null, tainted: m.tainted }),
      JSON.stringify({ name: "dummy", sig: null, tainted: unsigned }), `module argument (${describeArg(event.args[0])})`);
    const info = moduleOf(event.args[1]);
    expectEqual(info?.name, "dummy", `load_info name (${describeArg(event.args[1])})`);
    expectEqual(info?.signatureOk, mod.signed, `load_info signature_ok (${describeArg(event.args[1])})`);
    expectTrue(info !== undefined && info.tainted.every((t) => t === TaintedBitsType.TAINT_UNSIGNED_MODULE),
      `load_info taints: only TAINT_UNSIGNED_MODULE may be set (${describeArg(event.args[1])})`);
  },
};

function perfEventOf(e: ProcessKprobe) {
  const a = e.args[0]?.arg;
  return a?.case === "perfEventArg" ? a.value : undefined;
}

/** perf_event_open(2) of a kretprobe through the kprobe PMU (attr.config = 1: retprobe). */
const perfEvent: HookCase = {
  name: "lang-kprobe-perf-event",
  kprobe: (ctx) => ({
    call: "security_perf_event_alloc",
    args: [{ index: 0, type: "perf_event" }],
    selectors: [onlyBinary(ctx.helper)],
  }),
  trigger: async (ctx) => {
    const type = readFileSync("/sys/bus/event_source/devices/kprobe/type", "utf8").trim();
    const run = await ctx.runHelper(["perf", type, "security_inode_unlink"]);
    expectEqual(run.code, 0, `helper perf ${type} (${run.output})`);
    last.pmuType = type;
    return { run, matches: () => true };
  },
  check: (event) => {
    const p = perfEventOf(event);
    expectEqual(p && `${p.KprobeFunc} ${p.Type} ${p.Config} ${p.ProbeOffset}`, `security_inode_unlink ${last.pmuType} 1 0`,
      `perf_event argument (${describeArg(event.args[0])})`);
  },
};

export const langArgCases: readonly VmCase[] = [
  hookCase(dentry),
  hookCase(iovIter("lang-kprobe-iov-iter-ubuf", ["fgs-iov-write"])),
  hookCase(iovIter("lang-kprobe-iov-iter-iovec", ["fgs-iov-", "two-parts"])),
  hookCase(loadInfo),
  hookCase(perfEvent),
];
