/** Sets of code points (character classes, `.`, case-folded literals).
 * Membership is decided by a one-class JavaScript RegExp with the `u` flag
 * (and `i` for case folding): JS and RE2 both fold with Unicode simple case
 * folding, and JS has the Unicode tables, so we borrow them. A one-class
 * RegExp tested on a single code point cannot backtrack. */

export const MAX_CODE_POINT = 0x10ffff;

export type Range = readonly [number, number];

export interface CharSetSpec {
  readonly negated: boolean;
  readonly fold: boolean;
  readonly ranges: readonly Range[];
  /** Already-translated JS class members, e.g. `\p{Script=Greek}`. */
  readonly jsParts: readonly string[];
}

const CACHE_LIMIT = 512;

export class CharSet {
  readonly source: string;
  private readonly re: RegExp;
  private readonly ascii = new Uint8Array(128);
  private readonly cache = new Map<number, boolean>();

  /** Throws a SyntaxError when a translated part is not valid JS. */
  constructor(spec: CharSetSpec) {
    this.source = classSource(spec);
    this.re = new RegExp(this.source, spec.fold ? "iu" : "u");
    for (let cp = 0; cp < 128; cp++) this.ascii[cp] = this.re.test(String.fromCharCode(cp)) ? 1 : 0;
  }

  has(cp: number): boolean {
    if (cp < 128) return this.ascii[cp] === 1;
    const hit = this.cache.get(cp);
    if (hit !== undefined) return hit;
    const result = this.re.test(String.fromCodePoint(cp));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(cp, result);
    return result;
  }
}

export function classSource(spec: CharSetSpec): string {
  const members = spec.ranges.map(rangeSource).join("") + spec.jsParts.join("");
  return `[${spec.negated ? "^" : ""}${members}]`;
}

function rangeSource([lo, hi]: Range): string {
  return lo === hi ? cpEscape(lo) : `${cpEscape(lo)}-${cpEscape(hi)}`;
}

function cpEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** Complement of sorted-or-not ranges over [0, MAX_CODE_POINT]. */
export function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

const r = (a: string, b: string = a): Range => [a.codePointAt(0) ?? 0, b.codePointAt(0) ?? 0];

/** RE2's Perl classes are ASCII-only (unlike JS `\s`, which is Unicode). */
export const PERL_CLASSES: Readonly<Record<string, readonly Range[]>> = {
  d: [r("0", "9")],
  s: [r("\t", "\n"), r("\f", "\r"), r(" ")],
  w: [r("0", "9"), r("A", "Z"), r("_"), r("a", "z")],
};

export const POSIX_CLASSES: Readonly<Record<string, readonly Range[]>> = {
  alnum: [r("0", "9"), r("A", "Z"), r("a", "z")],
  alpha: [r("A", "Z"), r("a", "z")],
  ascii: [[0, 0x7f]],
  blank: [r("\t"), r(" ")],
  cntrl: [[0, 0x1f], [0x7f, 0x7f]],
  digit: [r("0", "9")],
  graph: [r("!", "~")],
  lower: [r("a", "z")],
  print: [r(" ", "~")],
  punct: [r("!", "/"), r(":", "@"), r("[", "`"), r("{", "~")],
  space: [r("\t", "\r"), r(" ")],
  upper: [r("A", "Z")],
  word: [r("0", "9"), r("A", "Z"), r("_"), r("a", "z")],
  xdigit: [r("0", "9"), r("A", "F"), r("a", "f")],
};

/** General categories RE2 knows; JS accepts these bare inside `\p{}`. */
const GENERAL_CATEGORIES = new Set(
  ("C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps " +
    "S Sc Sk Sm So Z Zl Zp Zs").split(" "),
);

/** Translate an RE2 Unicode class name to a JS class member, or undefined
 * when the name is neither a general category nor a script. */
export function unicodeClassPart(name: string, negated: boolean): string | undefined {
  if (name === "Any") return negated ? "" : `\\u{0}-\\u{${MAX_CODE_POINT.toString(16)}}`;
  const p = negated ? "P" : "p";
  if (GENERAL_CATEGORIES.has(name)) return `\\${p}{${name}}`;
  if (!/^[A-Z][A-Za-z_]*$/.test(name)) return undefined;
  const part = `\\${p}{Script=${name}}`;
  try {
    new RegExp(`[${part}]`, "u");
    return part;
  } catch {
    return undefined;
  }
}
