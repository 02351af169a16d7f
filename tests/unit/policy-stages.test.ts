/* The policy engine's stages import only upstream: spec → model, plan → model,
 * load → plan, spec, model (docs/ARCHITECTURE.md). A new import against the
 * flow, or a new stage folder without a place in it, fails here. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const POLICY = resolve(import.meta.dir, "../../src/policy");
const UPSTREAM: Readonly<Record<string, readonly string[]>> = {
  model: [],
  spec: ["model"],
  plan: ["model"],
  load: ["model", "spec", "plan"],
};
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** "load" for src/policy/load/loader.ts, "" for a file directly in src/policy, null outside. */
function stageOf(path: string): string | null {
  const rel = relative(POLICY, path);
  if (rel.startsWith("..")) return null;
  const parts = rel.split("/");
  return parts.length === 1 ? "" : (parts[0] ?? "");
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function policyEdges(): Edge[] {
  return sources(POLICY).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(SPECIFIER)].flatMap((m) => {
      const target = resolve(dirname(file), m[1] ?? "");
      return stageOf(target) === null ? [] : [{ from: relative(POLICY, file), to: relative(POLICY, target) }];
    }));
}

test("each file of src/policy sits in a known stage folder (index.ts is the entry point)", () => {
  const misplaced = sources(POLICY)
    .map((f) => relative(POLICY, f))
    .filter((f) => f !== "index.ts" && !((stageOf(join(POLICY, f)) ?? "") in UPSTREAM));
  expect(misplaced).toEqual([]);
});

test("stages import only upstream stages, never the entry point", () => {
  const edges = policyEdges();
  /* the scan sees the flow it guards: a broken pattern would find nothing */
  expect(edges.some((e) => e.from.startsWith("load/") && e.to.startsWith("plan/"))).toBe(true);
  expect(edges.some((e) => e.from.startsWith("spec/") && e.to.startsWith("model/"))).toBe(true);
  const against = edges.filter((e) => {
    const from = stageOf(join(POLICY, e.from)) ?? "";
    const to = stageOf(join(POLICY, e.to)) ?? "";
    if (from === "") return false;
    return to !== from && !(UPSTREAM[from] ?? []).includes(to);
  });
  expect(against.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
});
