/* The decoders in src/decode read kernel records at fixed offsets; this test
 * reads the layouts the compiler actually produced (the object's BTF) and the
 * flag macros of the C headers, so the two sides cannot drift apart. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bpfObjectBytes, ROOT } from "./helpers/process-kernel";
import {
  CAPS,
  CLONE,
  CONFIG,
  EXEC,
  EXIT,
  HEADER,
  NAMESPACE_FIELDS,
  NAMESPACES_BYTES,
  OP_CLONE,
  OP_EXEC,
  OP_EXIT,
  ProcFlag,
  STATE,
} from "../src/decode/process";

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

function loadBtf(objectName: string): Map<number, BtfType> {
  bpfObjectBytes(objectName); // builds if stale
  const path = join(ROOT, "bpf", "build", `${objectName}.bpf.o`);
  const out = spawnSync(["bpftool", "btf", "dump", "file", path, "-j"], { stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(`bpftool btf dump failed: ${out.stderr.toString()}`);
  const types = (JSON.parse(out.stdout.toString()) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

const btf = loadBtf("process");

function sizeOf(id: number): number {
  const t = btf.get(id);
  if (!t) throw new Error(`no BTF type ${id}`);
  if (t.kind === "TYPEDEF" || t.kind === "VOLATILE" || t.kind === "CONST") return sizeOf(t.type_id ?? 0);
  if (t.kind === "ARRAY") return (t.nr_elems ?? 0) * sizeOf(t.type_id ?? 0);
  if (t.size === undefined) throw new Error(`BTF type ${id} (${t.kind}) has no size`);
  return t.size;
}

function struct(name: string): { size: number; members: Map<string, { offset: number; size: number }> } {
  const t = [...btf.values()].find((x) => x.kind === "STRUCT" && x.name === name);
  if (!t?.members) throw new Error(`struct ${name} is not in the object's BTF`);
  const members = new Map(t.members.map((m) => [m.name, { offset: m.bits_offset / 8, size: sizeOf(m.type_id) }]));
  return { size: t.size ?? 0, members };
}

/** Checks the decoder's offsets and the widths it reads them with. */
function expectLayout(name: string, offsets: Record<string, number>, widths: Record<string, number>): void {
  const s = struct(name);
  expect({ struct: name, size: s.size }).toEqual({ struct: name, size: offsets.bytes });
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
    out.set(m[1], 1 << Number(m[2]));
  }
  return out;
}

describe("constants match the C headers", () => {
  test("record ops", () => {
    const text = readFileSync(join(ROOT, "bpf", "records.h"), "utf8");
    const op = (name: string) => Number(new RegExp(`${name} = (\\d+)`).exec(text)?.[1]);
    expect([op("FGS_OP_EXEC"), op("FGS_OP_CLONE"), op("FGS_OP_EXIT")]).toEqual([OP_EXEC, OP_CLONE, OP_EXIT]);
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
