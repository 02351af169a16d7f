/** Parser for RE2 syntax (as Go's regexp accepts it), producing ./ast.ts nodes.
 * Syntax RE2 does not have (lookaround, backreferences, atomic groups,
 * possessive quantifiers) is rejected, as RE2 rejects it. */
import type { AssertKind, Node } from "./ast.ts";
import { Re2SyntaxError } from "./ast.ts";
import { CharSet, complement, PERL_CLASSES, POSIX_CLASSES, unicodeClassPart } from "./charset.ts";
import type { CharSetSpec, Range } from "./charset.ts";

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const MAX_REPEAT = 1000;
const MAX_DEPTH = 1000;

const cp = (c: string): number => c.codePointAt(0) ?? 0;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isOctal = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && /[0-9A-Fa-f]/.test(String.fromCharCode(c));
const isAlnum = (c: number): boolean => /[0-9A-Za-z]/.test(String.fromCodePoint(c));
const isQuantifier = (c: number | undefined): boolean => c === cp("*") || c === cp("+") || c === cp("?");

export function parseRe2(pattern: string): Node {
  return new Parser(pattern).parse();
}

class Parser {
  private readonly cps: number[];
  private pos = 0;
  private depth = 0;
  private readonly names = new Set<string>();

  constructor(pattern: string) {
    this.cps = Array.from(pattern, cp);
  }

  parse(): Node {
    const node = this.alternation({ i: false, m: false, s: false, U: false });
    if (this.pos < this.cps.length) throw new Re2SyntaxError("unexpected ): unmatched closing parenthesis");
    return node;
  }

  // ---- cursor ------------------------------------------------------------

  private peek(ahead = 0): number | undefined {
    return this.cps[this.pos + ahead];
  }

  private next(): number {
    const c = this.cps[this.pos++];
    if (c === undefined) throw new Re2SyntaxError("unexpected end of expression");
    return c;
  }

  private accept(s: string): boolean {
    const want = Array.from(s, cp);
    if (!want.every((c, k) => this.peek(k) === c)) return false;
    this.pos += want.length;
    return true;
  }

  // ---- structure ---------------------------------------------------------

  /** Flags set by `(?i)` last until the end of the enclosing group, across `|`. */
  private alternation(outer: Flags): Node {
    const flags = { ...outer };
    const items = [this.concat(flags)];
    while (this.accept("|")) items.push(this.concat(flags));
    return items.length === 1 ? (items[0] as Node) : { kind: "alt", items };
  }

  private concat(flags: Flags): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === cp("|") || c === cp(")")) break;
      if (isQuantifier(c) || (c === cp("{") && this.repeatAhead())) {
        const last = items.pop();
        if (last === undefined) throw new Re2SyntaxError(`missing argument to repetition operator: ${String.fromCodePoint(c)}`);
        items.push(this.repetition(last));
        continue;
      }
      items.push(...this.atom(flags));
    }
    if (items.length === 0) return { kind: "empty" };
    return items.length === 1 ? (items[0] as Node) : { kind: "cat", items };
  }

  private repetition(item: Node): Node {
    const c = this.next();
    let min = 0;
    let max = -1;
    if (c === cp("+")) min = 1;
    else if (c === cp("?")) max = 1;
    else if (c === cp("{")) [min, max] = this.repeatCounts();
    this.accept("?"); // lazy: irrelevant to whether a match exists
    const after = this.peek();
    if (isQuantifier(after) || (after === cp("{") && this.repeatAhead())) {
      throw new Re2SyntaxError("invalid nested repetition operator");
    }
    return { kind: "rep", item, min, max };
  }

  /** Whether the text at pos is `{n}`, `{n,}` or `{n,m}`; otherwise `{` is a literal. */
  private repeatAhead(): boolean {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 24));
    return /^\{\d+(,\d*)?\}/.test(rest);
  }

  private repeatCounts(): [number, number] {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 23));
    const m = /^(\d+)(,(\d*))?\}/.exec(rest);
    if (m === null) throw new Re2SyntaxError("invalid repeat");
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
      throw new Re2SyntaxError(`invalid repeat count: {${m[0]}`);
    }
    return [min, max];
  }

  private atom(flags: Flags): Node[] {
    const c = this.next();
    switch (String.fromCodePoint(c)) {
      case "(":
        return this.group(flags);
      case "[":
        return [this.charClass(flags)];
      case ".":
        return [set({ negated: !flags.s, fold: false, ranges: flags.s ? [] : [[10, 10]], jsParts: [] }, flags.s)];
      case "^":
        return [{ kind: "assert", at: flags.m ? "beginLine" : "beginText" }];
      case "$":
        return [{ kind: "assert", at: flags.m ? "endLine" : "endText" }];
      case "\\":
        return this.escape(flags);
      default:
        return [literal(c, flags)];
    }
  }

  // ---- groups ------------------------------------------------------------

  private group(flags: Flags): Node[] {
    if (!this.accept("?")) return [this.groupBody(flags)];
    if (this.accept(":")) return [this.groupBody(flags)];
    const c = this.peek();
    if (c === cp("=") || c === cp("!") || this.accept("<=") || this.accept("<!")) {
      throw new Re2SyntaxError("lookahead and lookbehind are not supported by RE2");
    }
    if (this.accept("P<") || this.accept("<")) {
      this.captureName();
      return [this.groupBody(flags)];
    }
    if (this.accept("P=") || this.accept("P>")) throw new Re2SyntaxError("backreferences are not supported by RE2");
    return this.flagGroup(flags);
  }

  private groupBody(flags: Flags): Node {
    if (++this.depth > MAX_DEPTH) throw new Re2SyntaxError("expression nests too deeply");
    const node = this.alternation(flags);
    if (!this.accept(")")) throw new Re2SyntaxError("missing closing )");
    this.depth--;
    return node;
  }

  private captureName(): void {
    let name = "";
    for (let c = this.peek(); c !== undefined && c !== cp(">"); c = this.peek()) name += String.fromCodePoint(this.next());
    if (!this.accept(">")) throw new Re2SyntaxError(`invalid named capture: missing >`);
    if (!/^\w+$/.test(name)) throw new Re2SyntaxError(`invalid named capture: "${name}"`);
    if (this.names.has(name)) throw new Re2SyntaxError(`duplicate capture group name: "${name}"`);
    this.names.add(name);
  }

  /** `(?flags)` changes the current group; `(?flags:re)` only re. */
  private flagGroup(flags: Flags): Node[] {
    const changed = { ...flags };
    let sign = true;
    let sawFlag = false;
    for (;;) {
      const ch = this.peek() === undefined ? "" : String.fromCodePoint(this.next());
      if (ch === "i" || ch === "m" || ch === "s" || ch === "U") {
        changed[ch] = sign;
        sawFlag = true;
      } else if (ch === "-" && sign) {
        sign = false;
        sawFlag = false;
      } else if ((ch === ":" || ch === ")") && sawFlag) {
        if (ch === ":") return [this.groupBody(changed)];
        Object.assign(flags, changed);
        return [];
      } else {
        throw new Re2SyntaxError("invalid or unsupported Perl syntax after (?");
      }
    }
  }

  // ---- escapes -----------------------------------------------------------

  private escape(flags: Flags): Node[] {
    const c = this.peek();
    if (c === undefined) throw new Re2SyntaxError("trailing backslash at end of expression");
    const assertion = ESCAPE_ASSERTIONS[String.fromCodePoint(c)];
    if (assertion !== undefined) {
      this.pos++;
      return [{ kind: "assert", at: assertion }];
    }
    if (this.accept("Q")) return this.quoted(flags);
    const cls = this.classEscape(flags.i);
    if (cls !== undefined) return [set(cls)];
    return [literal(this.escapeChar(), flags)];
  }

  /** `\Q...\E`: everything up to `\E` (or the end) is literal. */
  private quoted(flags: Flags): Node[] {
    const out: Node[] = [];
    while (this.peek() !== undefined && !this.accept("\\E")) out.push(literal(this.next(), flags));
    return out;
  }

  /** `\d \s \w`, their negations and `\p`/`\P` as a set spec, or undefined. */
  private classEscape(fold: boolean): CharSetSpec | undefined {
    const c = this.peek();
    if (c === undefined) return undefined;
    const ch = String.fromCodePoint(c);
    const perl = PERL_CLASSES[ch.toLowerCase()];
    if (perl !== undefined) {
      this.pos++;
      return { negated: ch !== ch.toLowerCase(), fold, ranges: perl, jsParts: [] };
    }
    if (ch !== "p" && ch !== "P") return undefined;
    this.pos++;
    return { negated: false, fold, ranges: [], jsParts: [this.unicodeClass(ch === "P")] };
  }

  private unicodeClass(negatedByP: boolean): string {
    let name: string;
    if (this.accept("{")) {
      name = "";
      for (let c = this.peek(); c !== undefined && c !== cp("}"); c = this.peek()) name += String.fromCodePoint(this.next());
      if (!this.accept("}")) throw new Re2SyntaxError("invalid character class range: missing }");
    } else {
      name = String.fromCodePoint(this.next());
    }
    let negated = negatedByP;
    if (name.startsWith("^")) {
      negated = !negated;
      name = name.slice(1);
    }
    const part = unicodeClassPart(name, negated);
    if (part === undefined) throw new Re2SyntaxError(`invalid character class range: unknown Unicode class \\p{${name}}`);
    return part;
  }

  /** One escaped character (after the backslash); shared by classes. */
  private escapeChar(): number {
    const c = this.next();
    const ch = String.fromCodePoint(c);
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) return simple;
    if (ch === "x") return this.hexEscape();
    if (isOctal(c)) return this.octalEscape(c);
    if (isDigit(c)) throw new Re2SyntaxError(`backreferences are not supported by RE2: \\${ch}`);
    if (c < 128 && !isAlnum(c)) return c;
    if (ch === "Z") throw new Re2SyntaxError("\\Z is not supported by RE2 (use \\z for end of text)");
    if (ch === "C") throw new Re2SyntaxError("\\C (any byte) is not supported");
    if (ch === "k") throw new Re2SyntaxError("backreferences are not supported by RE2: \\k");
    throw new Re2SyntaxError(`invalid escape sequence: \\${ch}`);
  }

  private hexEscape(): number {
    let digits = "";
    if (this.accept("{")) {
      while (isHex(this.peek())) digits += String.fromCodePoint(this.next());
      if (!this.accept("}") || digits === "") throw new Re2SyntaxError("invalid escape sequence: \\x{");
    } else {
      for (let k = 0; k < 2; k++) {
        if (!isHex(this.peek())) throw new Re2SyntaxError("invalid escape sequence: \\x needs two hex digits");
        digits += String.fromCodePoint(this.next());
      }
    }
    const value = parseInt(digits, 16);
    if (value > 0x10ffff) throw new Re2SyntaxError(`invalid escape sequence: \\x{${digits}}`);
    return value;
  }

  /** `\0`, `\012`, `\12`; a lone `\1`..`\7` is a backreference in Perl: rejected. */
  private octalEscape(first: number): number {
    if (first !== cp("0") && !isOctal(this.peek())) {
      throw new Re2SyntaxError(`backreferences are not supported by RE2: \\${String.fromCodePoint(first)}`);
    }
    let value = first - 0x30;
    for (let k = 1; k < 3 && isOctal(this.peek()); k++) value = value * 8 + (this.next() - 0x30);
    return value;
  }

  // ---- character classes -------------------------------------------------

  private charClass(flags: Flags): Node {
    const negated = this.accept("^");
    const ranges: Range[] = [];
    const jsParts: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Re2SyntaxError("missing closing ]");
      if (c === cp("]") && !first) break;
      first = false;
      this.classItem(ranges, jsParts, flags.i);
    }
    this.pos++;
    return set({ negated, fold: flags.i, ranges, jsParts });
  }

  private classItem(ranges: Range[], jsParts: string[], fold: boolean): void {
    const posix = this.posixClass();
    if (posix !== undefined) {
      ranges.push(...posix);
      return;
    }
    if (this.peek() === cp("\\")) {
      this.pos++;
      const cls = this.classEscape(fold);
      if (cls !== undefined) {
        ranges.push(...(cls.negated ? complement(cls.ranges) : cls.ranges));
        jsParts.push(...cls.jsParts);
        return;
      }
      this.pos--;
    }
    const lo = this.classChar();
    if (this.peek() === cp("-") && this.peek(1) !== cp("]") && this.peek(1) !== undefined) {
      this.pos++;
      const hi = this.classChar();
      if (hi < lo) throw new Re2SyntaxError("invalid character class range: high end below low end");
      ranges.push([lo, hi]);
      return;
    }
    ranges.push([lo, lo]);
  }

  private classChar(): number {
    const c = this.next();
    if (c !== cp("\\")) return c;
    const d = this.peek();
    if (d !== undefined && /[dDsSwWpP]/.test(String.fromCodePoint(d))) {
      throw new Re2SyntaxError("invalid character class range: a class cannot end a range");
    }
    return this.escapeChar();
  }

  /** `[:alpha:]` / `[:^alpha:]` inside a class; undefined when not one. */
  private posixClass(): Range[] | undefined {
    if (this.peek() !== cp("[") || this.peek(1) !== cp(":")) return undefined;
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 16));
    const m = /^\[:(\^?)([a-z]*):\]/.exec(rest);
    if (m === null) return undefined;
    const ranges = POSIX_CLASSES[m[2] ?? ""];
    if (ranges === undefined) throw new Re2SyntaxError(`invalid character class range: [:${m[2]}:]`);
    this.pos += m[0].length;
    return m[1] === "^" ? complement(ranges) : [...ranges];
  }
}

const ESCAPE_ASSERTIONS: Readonly<Record<string, AssertKind>> = {
  A: "beginText",
  z: "endText",
  b: "wordBoundary",
  B: "notWordBoundary",
};

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

function set(spec: CharSetSpec, anyChar = false): Node {
  if (anyChar) return { kind: "set", set: new CharSet({ ...spec, negated: true, ranges: [] }) };
  try {
    return { kind: "set", set: new CharSet(spec) };
  } catch (e) {
    throw new Re2SyntaxError(`invalid character class: ${(e as Error).message}`);
  }
}

/** A literal; under `(?i)` a letter becomes the set of its case variants. */
function literal(c: number, flags: Flags): Node {
  const ch = String.fromCodePoint(c);
  if (!flags.i || ch.toLowerCase() === ch.toUpperCase()) return { kind: "lit", cp: c };
  return set({ negated: false, fold: true, ranges: [[c, c]], jsParts: [] });
}
