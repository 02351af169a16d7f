/** Compiles an RE2 AST to a Thompson-NFA program and runs it in time linear
 * in the input (Pike VM without captures). JS RegExp backtracks, so a
 * pattern like `(a+)+$` or `.*.*.*x` could stall the agent on a long binary
 * path chosen by the workload being watched; this cannot. */
import type { AssertKind, Node } from "./ast.ts";
import { Re2SyntaxError } from "./ast.ts";
import type { CharSet } from "./charset.ts";

export const MAX_INSTRUCTIONS = 20_000;

type Inst =
  | { op: "lit"; cp: number; next: number }
  | { op: "set"; set: CharSet; next: number }
  | { op: "split"; a: number; b: number }
  | { op: "assert"; at: AssertKind; next: number }
  | { op: "match" };

export interface Program {
  readonly insts: readonly Inst[];
  readonly start: number;
  /** Every match starts at position 0 (pattern begins with `^`/`\A`). */
  readonly anchored: boolean;
}

export function compileProgram(root: Node): Program {
  const insts: Inst[] = [{ op: "match" }];
  let work = 0;
  // Counting calls, not only instructions: `((){1000}){1000}` emits nothing.
  const emit = (inst: Inst | undefined): number => {
    if (++work > MAX_INSTRUCTIONS * 4 || insts.length >= MAX_INSTRUCTIONS) {
      throw new Re2SyntaxError("expression too large");
    }
    if (inst === undefined) return -1;
    insts.push(inst);
    return insts.length - 1;
  };
  const start = compileNode(root, 0, emit, insts);
  return { insts, start, anchored: startsAnchored(root) };
}

/** Emits an instruction; with undefined only counts work against the budget. */
type Emit = (inst: Inst | undefined) => number;

/** Compiles backwards: code for `node` that continues at `next`; returns its entry. */
function compileNode(node: Node, next: number, emit: Emit, insts: Inst[]): number {
  emit(undefined);
  switch (node.kind) {
    case "empty":
      return next;
    case "lit":
      return emit({ op: "lit", cp: node.cp, next });
    case "set":
      return emit({ op: "set", set: node.set, next });
    case "assert":
      return emit({ op: "assert", at: node.at, next });
    case "cat":
      return node.items.reduceRight((to, item) => compileNode(item, to, emit, insts), next);
    case "alt":
      return node.items
        .map((item) => compileNode(item, next, emit, insts))
        .reduceRight((b, a) => emit({ op: "split", a, b }));
    case "rep":
      return compileRepeat(node.item, node.min, node.max, next, emit, insts);
  }
}

function compileRepeat(item: Node, min: number, max: number, next: number, emit: Emit, insts: Inst[]): number {
  let tail = next;
  if (max === -1) {
    const loop = emit({ op: "split", a: -1, b: next });
    const body = compileNode(item, loop, emit, insts);
    (insts[loop] as { a: number }).a = body;
    tail = loop;
  } else {
    for (let k = min; k < max; k++) tail = emit({ op: "split", a: compileNode(item, tail, emit, insts), b: next });
  }
  for (let k = 0; k < min; k++) tail = compileNode(item, tail, emit, insts);
  return tail;
}

function startsAnchored(node: Node): boolean {
  if (node.kind === "assert") return node.at === "beginText";
  if (node.kind === "cat") return node.items[0] !== undefined && startsAnchored(node.items[0]);
  if (node.kind === "alt") return node.items.every(startsAnchored);
  return false;
}

// ---- execution -------------------------------------------------------------

class SparseSet {
  private readonly dense: Int32Array;
  private readonly sparse: Int32Array;
  size = 0;
  constructor(n: number) {
    this.dense = new Int32Array(n);
    this.sparse = new Int32Array(n);
  }
  has(v: number): boolean {
    const k = this.sparse[v] ?? 0;
    return k < this.size && this.dense[k] === v;
  }
  add(v: number): void {
    this.sparse[v] = this.size;
    this.dense[this.size++] = v;
  }
  at(k: number): number {
    return this.dense[k] ?? 0;
  }
}

const isWord = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a));

function holds(at: AssertKind, cps: readonly number[], pos: number): boolean {
  const prev = cps[pos - 1];
  const next = cps[pos];
  switch (at) {
    case "beginText":
      return pos === 0;
    case "endText":
      return pos === cps.length;
    case "beginLine":
      return pos === 0 || prev === 10;
    case "endLine":
      return pos === cps.length || next === 10;
    case "wordBoundary":
      return isWord(prev) !== isWord(next);
    case "notWordBoundary":
      return isWord(prev) === isWord(next);
  }
}

/** Adds pc and its epsilon closure at pos; true when the closure reaches match. */
function addThread(prog: Program, list: SparseSet, pc: number, cps: readonly number[], pos: number): boolean {
  const stack = [pc];
  let matched = false;
  while (stack.length > 0) {
    const p = stack.pop() as number;
    if (list.has(p)) continue;
    list.add(p);
    const inst = prog.insts[p] as Inst;
    if (inst.op === "match") matched = true;
    else if (inst.op === "split") stack.push(inst.b, inst.a);
    else if (inst.op === "assert" && holds(inst.at, cps, pos)) stack.push(inst.next);
  }
  return matched;
}

/** Whether the program matches anywhere in input (unanchored search). */
export function runProgram(prog: Program, input: string): boolean {
  const cps = Array.from(input, (c) => c.codePointAt(0) ?? 0);
  let clist = new SparseSet(prog.insts.length);
  let nlist = new SparseSet(prog.insts.length);
  for (let pos = 0; pos <= cps.length; pos++) {
    if ((pos === 0 || !prog.anchored) && addThread(prog, clist, prog.start, cps, pos)) return true;
    if (pos === cps.length || clist.size === 0) break;
    const c = cps[pos] as number;
    nlist.size = 0;
    for (let k = 0; k < clist.size; k++) {
      const inst = prog.insts[clist.at(k)] as Inst;
      const advance = (inst.op === "lit" && inst.cp === c) || (inst.op === "set" && inst.set.has(c));
      if (advance && addThread(prog, nlist, (inst as { next: number }).next, cps, pos + 1)) return true;
    }
    [clist, nlist] = [nlist, clist];
  }
  return false;
}
