/** RE2 expressions for `binary_regex`, on the re2js package (a port of RE2:
 * same syntax, linear-time matching). Bounds: FILTER_LIMITS in ../limits.ts. */
import { RE2JS, RE2JSException } from "re2js";
import { FILTER_LIMITS } from "../limits.ts";

export class Re2SyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Re2SyntaxError";
  }
}

const MEMO_LIMIT = 4096;

/** Constructs whose RE2 error would not say why: named plainly. */
const EXPLAINED: readonly (readonly [RegExp, string])[] = [
  [/\(\?<?[=!]/, "lookahead and lookbehind are not supported by RE2"],
  [/(?<!\\)(?:\\\\)*\\[1-9](?![0-9])|\\k<|\(\?P=/, "backreferences are not supported by RE2"],
  [/\(\?\)/, "invalid or unsupported Perl syntax: `(?)`"],
  [/(?<!\\)(?:\\\\)*\\Z/, "\\Z is not supported by RE2 (use \\z)"],
  [/(?<!\\)(?:\\\\)*\\C/, "\\C (any byte) is not supported"],
];

/* RE2's Unicode classes: one- and two-letter general categories, scripts, Any. */
const CATEGORY = /^(?:[CLMNPSZ]|C[cfos]|L[lmotu]|M[cen]|N[dlo]|P[cdefios]|S[ckmo]|Z[lps])$/;

function unicodeClassKnown(name: string): boolean {
  if (name === "Any" || CATEGORY.test(name)) return true;
  try {
    new RegExp(`\\p{Script=${name}}`, "u");
    return true;
  } catch {
    return false;
  }
}

function explain(pattern: string): string | undefined {
  const stripped = pattern.replace(/\\Q[\s\S]*?(?:\\E|$)/g, "");
  const reason = EXPLAINED.find(([re]) => re.test(stripped))?.[1];
  if (reason) return reason;
  for (const m of stripped.matchAll(/(?<!\\)(?:\\\\)*\\[pP]\{\^?([^}]*)\}/g)) {
    if (!unicodeClassKnown(m[1] ?? "")) return `unknown Unicode class \\p{${m[1]}}`;
  }
  return undefined;
}

/** A compiled RE2 expression. `test` searches (unanchored, like Go's
 * MatchString); results are memoized per input since binaries repeat. */
export class Re2 {
  private readonly re: RE2JS;
  private readonly memo = new Map<string, boolean>();
  /** RE2's instruction count: matching costs at most this many steps per input character. */
  readonly programSize: number;

  /** Throws Re2SyntaxError for syntax RE2 rejects and for expressions over the size limits. */
  constructor(readonly pattern: string) {
    if (pattern.length > FILTER_LIMITS.regexLength) {
      throw new Re2SyntaxError(`expression too large: ${pattern.length} characters, at most ${FILTER_LIMITS.regexLength} (regexLength)`);
    }
    const reason = explain(pattern);
    if (reason) throw new Re2SyntaxError(reason);
    try {
      this.re = RE2JS.compile(pattern);
    } catch (e) {
      if (e instanceof RE2JSException) throw new Re2SyntaxError(e.message.replace(/^error parsing regexp: /, ""));
      throw e;
    }
    this.programSize = this.re.programSize();
    if (this.programSize > FILTER_LIMITS.regexProgramSize) {
      throw new Re2SyntaxError(`expression too large: program of ${this.programSize} instructions, at most ${FILTER_LIMITS.regexProgramSize} (regexProgramSize)`);
    }
  }

  test(input: string): boolean {
    const hit = this.memo.get(input);
    if (hit !== undefined) return hit;
    // Paths are at most PATH_MAX: a longer input never matches, which bounds the cost.
    const result = input.length <= FILTER_LIMITS.matchInputLength && this.re.test(input);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(input, result);
    return result;
  }
}
