/** The byte layouts src/policy/layout.ts writes and reads, checked against
 * the BTF the compiler produced for bpf/generic/*.h. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { join } from "node:path";
import {
  ACTION, ARG_CFG, ARG_HDR, ARG_M, BIN_KEY, CAP_M, CRED, HOOK_CFG, LPM_KEY, NS_M, PID_M, RECORD, SELECTOR,
  SKB, SOCK, STR_KEY,
} from "../src/policy/layout";
import { buildImages, ROOT } from "./fixtures/policies/harness";

interface BtfMember { name: string; type_id: number; bits_offset: number }
interface BtfType { id: number; kind: string; name?: string; size?: number; type_id?: number; nr_elems?: number; members?: BtfMember[] }

function loadBtf(object: string): BtfType[] {
  buildImages();
  const out = spawnSync(["bpftool", "btf", "dump", "file", join(ROOT, "bpf", "build", `${object}.bpf.o`), "-j"], { stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(out.stderr.toString());
  return (JSON.parse(out.stdout.toString()) as { types: BtfType[] }).types;
}

const types = loadBtf("generic_tp");
const byId = new Map(types.map((t) => [t.id, t]));

function structLayout(name: string): { bytes: number; offsets: Record<string, number> } {
  const t = types.find((x) => x.kind === "STRUCT" && x.name === name);
  if (!t) throw new Error(`no struct ${name} in the BTF`);
  const offsets: Record<string, number> = {};
  for (const m of t.members ?? []) offsets[m.name] = m.bits_offset / 8;
  return { bytes: t.size ?? 0, offsets };
}

/** Every field of the TS layout (camelCase) at the offset of its C member (snake_case). */
function check(name: string, layout: Record<string, number>, rename: Record<string, string> = {}): void {
  const c = structLayout(name);
  for (const [field, off] of Object.entries(layout)) {
    if (field === "bytes") {
      expect(`${name} size ${c.bytes}`).toBe(`${name} size ${off}`);
      continue;
    }
    const member = rename[field] ?? field.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`);
    expect(`${name}.${member} at ${c.offsets[member]}`).toBe(`${name}.${member} at ${off}`);
  }
}

describe("bpf/generic layouts", () => {
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
  });
  test("the BTF is read at all", () => expect(byId.size).toBeGreaterThan(100));
});
