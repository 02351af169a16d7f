/* The decoders and encoders in src read and write kernel records and map
 * values at fixed offsets; this test reads the layouts the compiler actually
 * produced (each object's BTF) and the op codes and flag macros of the C
 * headers, so the two sides cannot drift apart. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bpfObjectBytes, ROOT } from "./helpers/build";
import {
  CAPS,
  CLONE,
  CONFIG,
  EXEC,
  EXIT,
  NAMESPACE_FIELDS,
  NAMESPACES_BYTES,
  ProcFlag,
  STATE,
} from "../src/decode/process";
import { HEADER, OP_CLONE, OP_EXEC, OP_EXIT, OP_KPROBE, OP_TEST, OP_TRACEPOINT } from "../src/decode/records";
import { ARG_HDR, ArgHdrFlag, BPF_ATTR, BPF_MAP, CRED, GenType, PERF_EVENT, RECORD, SKB, SOCK, SOCKADDR, USER_NS } from "../src/decode/generic-layout";
import { ACTION, ARG_CFG, ARG_M, BIN_KEY, CAP_M, HOOK_CFG, LPM_KEY, NS_M, PID_M, SELECTOR, STR_KEY } from "../src/policy/plan/layout";

interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
}
interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
}

interface Struct {
  size: number;
  members: Map<string, { offset: number; size: number }>;
}

/** The structs of one BPF object's BTF (built first if stale). */
function loadBtf(objectName: string): (name: string) => Struct {
  bpfObjectBytes(objectName);
  const path = join(ROOT, "bpf", "build", `${objectName}.bpf.o`);
  const out = spawnSync(["bpftool", "btf", "dump", "file", path, "-j"], { stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(`bpftool btf dump failed: ${out.stderr.toString()}`);
  const types = (JSON.parse(out.stdout.toString()) as { types: BtfType[] }).types;
  const byId = new Map(types.map((t) => [t.id, t]));
  if (byId.size < 100) throw new Error(`${objectName}: only ${byId.size} BTF types`);
  const sizeOf = (id: number): number => {
    const t = byId.get(id);
    if (!t) throw new Error(`no BTF type ${id}`);
    if (t.kind === "TYPEDEF" || t.kind === "VOLATILE" || t.kind === "CONST") return sizeOf(t.type_id ?? 0);
    if (t.kind === "ARRAY") return (t.nr_elems ?? 0) * sizeOf(t.type_id ?? 0);
    if (t.size === undefined) throw new Error(`BTF type ${id} (${t.kind}) has no size`);
    return t.size;
  };
  return (name) => {
    const t = types.find((x) => x.kind === "STRUCT" && x.name === name);
    if (!t?.members) throw new Error(`struct ${name} is not in ${objectName}'s BTF`);
    const members = new Map(t.members.map((m) => [m.name, { offset: m.bits_offset / 8, size: sizeOf(m.type_id) }]));
    return { size: t.size ?? 0, members };
  };
}

const struct = loadBtf("process");

/** Checks the decoder's offsets and the widths it reads them with. */
function expectLayout(name: string, offsets: Record<string, number>, widths: Record<string, number>): void {
  const s = struct(name);
  expect({ struct: name, size: s.size }).toEqual({ struct: name, size: offsets.bytes ?? -1 });
  for (const [field, width] of Object.entries(widths)) {
    const m = s.members.get(field);
    expect({ field: `${name}.${field}`, present: m !== undefined }).toEqual({ field: `${name}.${field}`, present: true });
    expect({ field: `${name}.${field}`, offset: m?.offset, size: m?.size }).toEqual({
      field: `${name}.${field}`,
      offset: offsets[field],
      size: width,
    });
  }
}

const u16 = 2;
const u32 = 4;
const u64 = 8;

describe("record layouts in BTF match src/decode/process.ts", () => {
  test("fgs_record_header", () => {
    expectLayout("fgs_record_header", HEADER, { op: u32, size: u32, ktime: u64 });
  });

  test("fgs_caps and fgs_namespaces", () => {
    expectLayout("fgs_caps", CAPS, { effective: u64, permitted: u64, inheritable: u64 });
    const ns = struct("fgs_namespaces");
    expect(ns.size).toBe(NAMESPACES_BYTES);
    expect([...ns.members.keys()]).toEqual([...NAMESPACE_FIELDS]);
    NAMESPACE_FIELDS.forEach((f, i) => expect(ns.members.get(f)).toEqual({ offset: i * 4, size: u32 }));
  });

  test("fgs_exec_record", () => {
    expectLayout("fgs_exec_record", EXEC, {
      tgid: u32,
      tid: u32,
      parent_tgid: u32,
      flags: u32,
      start_boottime: u64,
      parent_ktime: u64,
      cgroup_id: u64,
      uid: u32,
      euid: u32,
      gid: u32,
      egid: u32,
      auid: u32,
      nspid: u32,
      caps: CAPS.bytes,
      ns: NAMESPACES_BYTES,
      cwd_len: u16,
      binary_len: u16,
      args_len: u16,
      cgroup_len: u16,
      args_total: u32,
    });
    // The variable part is sent right after the fixed part.
    const buf = struct("fgs_exec_buf");
    expect(buf.members.get("data")?.offset).toBe(EXEC.bytes);
  });

  test("fgs_clone_record", () => {
    expectLayout("fgs_clone_record", CLONE, {
      tgid: u32,
      parent_tgid: u32,
      start_boottime: u64,
      parent_ktime: u64,
      flags: u32,
      nspid: u32,
    });
  });

  test("fgs_exit_record", () => {
    expectLayout("fgs_exit_record", EXIT, {
      tgid: u32,
      tid: u32,
      ktime: u64,
      start_boottime: u64,
      exit_code: u32,
      flags: u32,
    });
  });

  test("fgs_process_state (execve_map value) and fgs_config", () => {
    expectLayout("fgs_process_state", STATE, {
      ktime: u64,
      parent_ktime: u64,
      parent_tgid: u32,
      flags: u32,
      uid: u32,
      euid: u32,
      auid: u32,
      binary_len: u32,
      caps: CAPS.bytes,
      ns: NAMESPACES_BYTES,
      binary: STATE.binary_bytes,
    });
    expectLayout("fgs_config", CONFIG, { max_argv_bytes: u32, flags: u32 });
  });
});

function defines(header: string, prefix: string): Map<string, number> {
  const text = readFileSync(join(ROOT, "bpf", header), "utf8");
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`#define (${prefix}\\w+)\\s+\\(1U << (\\d+)\\)`, "g"))) {
    const [, name, bit] = m;
    if (name !== undefined) out.set(name, 1 << Number(bit));
  }
  return out;
}

describe("constants match the C headers", () => {
  test("record ops", () => {
    const text = readFileSync(join(ROOT, "bpf", "records.h"), "utf8");
    const op = (name: string) => Number(new RegExp(`${name} = (\\d+)`).exec(text)?.[1]);
    expect([op("FGS_OP_EXEC"), op("FGS_OP_CLONE"), op("FGS_OP_EXIT"), op("FGS_OP_TEST"), op("FGS_OP_KPROBE"), op("FGS_OP_TRACEPOINT")])
      .toEqual([OP_EXEC, OP_CLONE, OP_EXIT, OP_TEST, OP_KPROBE, OP_TRACEPOINT]);
  });

  test("process flags", () => {
    const c = defines("process.h", "FGS_PROC_");
    const cName = (word: string) => `FGS_PROC_${word.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`;
    const alias: Record<string, string> = {
      procFS: "FGS_PROC_PROCFS",
      nocwd: "FGS_PROC_NO_CWD",
      rootcwd: "FGS_PROC_ROOT_CWD",
      errorCWD: "FGS_PROC_ERROR_CWD",
    };
    const ts = new Map(Object.entries(ProcFlag).map(([w, v]) => [alias[w] ?? cName(w), v]));
    expect(ts).toEqual(c);
  });

  test("config flags", () => {
    expect(defines("maps.h", "FGS_CFG_").get("FGS_CFG_NO_CWD")).toBe(1);
  });
});

const genericStruct = loadBtf("generic_tp");

/** Every field of the TS layout (camelCase) at the offset of its C member (snake_case). */
function check(name: string, layout: Record<string, number>, rename: Record<string, string> = {}): void {
  const c = genericStruct(name);
  for (const [field, off] of Object.entries(layout)) {
    if (field === "bytes") {
      expect(`${name} size ${c.size}`).toBe(`${name} size ${off}`);
      continue;
    }
    const member = rename[field] ?? field.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`);
    expect(`${name}.${member} at ${c.members.get(member)?.offset}`).toBe(`${name}.${member} at ${off}`);
  }
}

describe("generic (tracing policy) layouts in BTF match src/policy/plan/layout.ts and src/decode/generic-layout.ts", () => {
  test("gen_arg_cfg", () => check("gen_arg_cfg", ARG_CFG));
  test("gen_pid_m", () => check("gen_pid_m", PID_M));
  test("gen_arg_m", () => check("gen_arg_m", ARG_M));
  test("gen_ns_m", () => check("gen_ns_m", NS_M));
  test("gen_cap_m", () => check("gen_cap_m", CAP_M, { nsCap: "ns_cap" }));
  test("gen_action_cfg", () => check("gen_action_cfg", ACTION));
  test("gen_selector", () => check("gen_selector", SELECTOR));
  test("gen_hook_cfg", () => check("gen_hook_cfg", HOOK_CFG));
  test("keys", () => {
    check("gen_str_key", STR_KEY);
    check("gen_lpm_key", LPM_KEY);
    check("gen_bin_key", BIN_KEY);
  });
  test("gen_record", () => {
    const { op, size, ktime, ...rest } = RECORD;
    check("fgs_record_header", { op, size, ktime });
    check("gen_record", { ...rest, hdr: 0 });
  });
  test("payloads", () => {
    check("gen_arg_hdr", ARG_HDR);
    check("gen_skb", SKB);
    check("gen_sock", SOCK);
    check("gen_cred", CRED);
    check("gen_sockaddr", SOCKADDR);
    check("gen_bpf_attr", BPF_ATTR, { progType: "prog_type", insnCnt: "insn_cnt", progName: "prog_name" });
    check("gen_bpf_map", BPF_MAP, { name: "name" });
    check("gen_user_ns", USER_NS);
    check("gen_perf_event", PERF_EVENT);
  });
  test("argument types and flags (enum gen_arg_type, GEN_AF_*)", () => {
    const text = readFileSync(join(ROOT, "bpf", "generic", "records.h"), "utf8");
    const camel = (n: string) => n.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const rename: Record<string, string> = { userNs: "userNamespace" };
    const inC = [...text.matchAll(/GEN_T_(\w+) = (\d+)/g)].map((m) => [rename[camel(m[1] ?? "")] ?? camel(m[1] ?? ""), Number(m[2])]);
    expect(Object.fromEntries(inC)).toEqual({ ...GenType });
    const flags = defines("generic/records.h", "GEN_AF_");
    const ts = Object.fromEntries(Object.entries(ArgHdrFlag).map(([k, v]) => [`GEN_AF_${k.replace(/[A-Z]/g, (x) => `_${x}`).toUpperCase()}`, v]));
    expect(Object.fromEntries(flags)).toEqual(ts);
  });
});
