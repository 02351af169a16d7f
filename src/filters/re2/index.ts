import { parseRe2 } from "./parse.ts";
import { compileProgram, runProgram } from "./program.ts";
import type { Program } from "./program.ts";

export { Re2SyntaxError } from "./ast.ts";

const MEMO_LIMIT = 4096;

/** A compiled RE2 expression. `test` searches (unanchored, like Go's
 * MatchString); results are memoized per input since binaries repeat. */
export class Re2 {
  private readonly program: Program;
  private readonly memo = new Map<string, boolean>();

  /** Throws Re2SyntaxError for syntax RE2 rejects. */
  constructor(readonly pattern: string) {
    this.program = compileProgram(parseRe2(pattern));
  }

  test(input: string): boolean {
    const hit = this.memo.get(input);
    if (hit !== undefined) return hit;
    const result = runProgram(this.program, input);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(input, result);
    return result;
  }
}
