import { describe, expect, test } from "bun:test";
import { Re2, Re2SyntaxError } from "../../src/filters/index";

/** [pattern, input, matches] — RE2 behaviour, including where JS RegExp differs. */
const MATCHES: readonly (readonly [string, string, boolean])[] = [
  // plain search, unanchored like Go's MatchString
  ["curl", "/usr/bin/curl", true],
  ["^curl", "/usr/bin/curl", false],
  ["^/usr/bin/curl$", "/usr/bin/curl", true],
  // flags: (?i) at the start, mid-pattern (to the end of the group, across |), scoped
  ["(?i)CURL", "/usr/bin/curl", true],
  ["a(?i)b|c", "C", true],
  ["a(?i)b|c", "AB", false],
  ["a(?i:b)c", "aBc", true],
  ["a(?i:b)c", "aBC", false],
  ["(?i)k", "\u212a", true], // Kelvin sign folds to k (Unicode simple folding)
  ["(?i)[^k]", "K", false],
  ["(?U)a+?", "a", true],
  ["(?s).", "\n", true],
  ["(?m)^b$", "a\nb\nc", true],
  ["(?i-i)A", "a", false],
  // `.`: everything but \n (JS `.` also refuses \r, \u2028, \u2029)
  [".", "\n", false],
  ["^.$", "\r", true],
  ["^.$", "\u2028", true],
  ["^.$", "😀", true], // one code point, not two UTF-16 units
  // ^ $ are text anchors without (?m); $ does not match before a final \n
  ["^b$", "a\nb\nc", false],
  ["a$", "a\n", false],
  ["(?m)a$", "a\n", true],
  ["(?m)^b", "a\rb", false], // only \n is a line break in RE2
  ["\\Aab\\z", "ab", true],
  ["ab\\z", "ab\n", false],
  // Perl classes are ASCII-only in RE2 (JS \s is Unicode and includes \v)
  ["\\s", "\u000b", false],
  ["\\s", "\u00a0", false],
  ["\\s", "\t", true],
  ["\\d", "\u0663", false],
  ["\\w", "é", false],
  ["\\bfoo\\b", "a foo b", true],
  ["\\bfoo\\b", "afoob", false],
  ["\\Bo\\B", "foo", true],
  // Unicode classes: one-letter, general categories, scripts, negation
  ["\\pN+", "x12", true],
  ["\\pL", "1", false],
  ["\\p{Lu}", "É", true],
  ["\\p{Greek}", "α", true],
  ["\\p{^Greek}", "α", false],
  ["\\P{Greek}", "a", true],
  ["[\\p{Han}a]", "中", true],
  ["\\p{Any}", "\u0000", true],
  // POSIX classes inside brackets
  ["^[[:alpha:]]+$", "abc", true],
  ["[[:alpha:]]+$", "abc1", false],
  ["[[:^digit:]]", "123", false],
  ["[[:word:]-]+", "a-b", true],
  // classes: leading ], literal -, escapes
  ["[]a]", "]", true],
  ["[^]a]", "]", false],
  ["[a-c-e]", "-", true],
  ["[a-c-e]", "d", false],
  ["[\\d\\-x]", "-", true],
  ["[\\x{1F600}-\\x{1F64F}]", "🙂", true],
  // escapes: punctuation, \x, octal, \a \f \v, \Q...\E
  ["a\\-b", "a-b", true],
  ["a\\!\\@\\#\\<", "a!@#<", true],
  ["\\x41\\x{42}", "AB", true],
  ["\\x{1F600}", "😀", true],
  ["\\101\\0", "A\u0000", true],
  ["\\a\\f\\v", "\u0007\f\u000b", true],
  ["\\Qa.b*\\E", "axb", false],
  ["\\Qa.b*\\E", "a.b*", true],
  ["\\Qa.b\\E+", "a.bbb", true],
  // named groups: (?P<name>re) and (?<name>re); greediness never changes whether it matches
  ["(?P<dir>/usr)?/bin/(?<name>\\w+)$", "/bin/ls", true],
  ["(?P<dir>/usr)?/bin/(?<name>\\w+)$", "/bin/", false],
  // repetition: {n}, {n,}, {n,m}; `{` that is not a repeat is literal
  ["^x{2,3}$", "xxxx", false],
  ["^x{2,}$", "xxxx", true],
  ["^x{0}y$", "y", true],
  ["a{,3}", "a{,3}", true],
  ["a{x}", "a{x}", true],
  ["a}", "a}", true],
  // empty and empty-width loops
  ["", "anything", true],
  ["(a*)*b", "aaaa", false],
  ["(|a)+$", "aaa", true],
  ["(^)*x", "x", true],
];

/** Patterns RE2 rejects (or that would change meaning in JS), with the reason. */
const REJECTED: readonly (readonly [string, RegExp])[] = [
  ["(?=a)", /lookahead/],
  ["(?!a)", /lookahead/],
  ["(?<=a)b", /lookbehind/],
  ["(?<!a)b", /lookbehind/],
  ["(a)\\1", /backreferences/],
  ["\\1", /backreferences/],
  ["\\8", /backreferences/],
  ["\\k<x>", /backreferences/],
  ["(?P<x>a)(?P=x)", /backreferences/],
  ["(?>a)", /unsupported Perl syntax/],
  ["(?#comment)", /unsupported Perl syntax/],
  ["a++", /nested repetition/],
  ["a**", /nested repetition/],
  ["a{2}{3}", /nested repetition/],
  ["*a", /missing argument/],
  ["a|?", /missing argument/],
  ["(abc", /missing closing \)/],
  ["abc)", /unexpected \)/],
  ["[abc", /missing closing \]/],
  ["[z-a]", /character class range/],
  ["[a-\\d]", /character class range|invalid escape/],
  ["[[:foo:]]", /\[:foo:\]/],
  ["\\p{Foo}", /unknown Unicode class|invalid character class range/],
  ["\\p{Alphabetic}", /unknown Unicode class/], // a JS-only property name
  ["a{1001}", /invalid repeat count/],
  ["a{3,2}", /invalid repeat count/],
  ["\\Z", /use \\z/],
  ["\\C", /any byte/],
  ["\\e", /invalid escape/],
  ["\\é", /invalid escape/],
  ["\\", /trailing backslash/],
  ["(?P<n>a)(?P<n>b)", /duplicate capture group name/],
  ["(?P<a-b>x)", /invalid named capture/],
  ["(?i-)", /unsupported Perl syntax/],
  ["(?)", /unsupported Perl syntax/],
  ["(?x)a", /unsupported Perl syntax/],
  ["((((a{1000}){1000}){1000}){1000})", /too large|invalid repeat count/],
  ["([a-z]{1,30}){30}!", /too large: program of \d+ instructions, at most 1000 \(regexProgramSize\)/],
  ["a".repeat(1025), /at most 1024 \(regexLength\)/],
  ["(((){1000}){1000}){1000}", /too large/],
];

describe("RE2 semantics", () => {
  for (const [pattern, input, want] of MATCHES) {
    test(`${JSON.stringify(pattern)} on ${JSON.stringify(input)} → ${want}`, () => {
      expect(new Re2(pattern).test(input)).toBe(want);
    });
  }
});

describe("rejected syntax", () => {
  for (const [pattern, reason] of REJECTED) {
    test(`${JSON.stringify(pattern)} is rejected (${reason.source})`, () => {
      let err: unknown;
      try {
        new Re2(pattern);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Re2SyntaxError);
      expect((err as Error).message).toMatch(reason);
    });
  }

  test("nesting depth is bounded without overflowing the stack", () => {
    expect(() => new Re2("(".repeat(5000) + ")".repeat(5000))).toThrow(/nests too deeply|too large/);
    expect(() => new Re2("(".repeat(400) + ")".repeat(400))).not.toThrow();
  });
});

describe("linear time", () => {
  // Classic catastrophic-backtracking shapes for JS RegExp; RE2 semantics is linear.
  const long = "a".repeat(20_000) + "!";
  for (const pattern of ["(a+)+$", "^(a|a)*$", "(a*)*b", ".*.*.*.*.*=x", "^(\\w+\\s?)*$"]) {
    test(`${pattern} on 20,000 characters stays fast`, () => {
      const start = performance.now();
      expect(new Re2(pattern).test(long)).toBe(false);
      expect(performance.now() - start).toBeLessThan(2000);
    });
  }

  test("results are memoized per input", () => {
    const re = new Re2("(a+)+$");
    const first = performance.now();
    re.test(long);
    const cold = performance.now() - first;
    const second = performance.now();
    re.test(long);
    expect(performance.now() - second).toBeLessThan(Math.max(1, cold / 10));
  });
});
