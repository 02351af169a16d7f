import { readFileSync } from "node:fs";

/** A missing symbol reloads the table when it is older than this: a module
 * loaded since is then seen, and a policy naming many absent symbols (every
 * syscall wrapper spelling is tried) reads /proc/kallsyms at most once. */
const RELOAD_AFTER_MS = 2000;

const TAB = 9;
const NL = 10;
const SPACE = 32;

/** 53 bits of two 32-bit FNV-1a hashes (different offsets) of s[from, to). */
function symbolKey(s: string, from: number, to: number): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 2 ** 21 + (b >>> 11);
}

/** The names of text symbols (type T or t) as sorted keys: ~1 MB for the
 * ~120k names of a kernel, where a Set of the strings costs ~15 MB of JS
 * heap (which the GC's budget then doubles). Two different names share a
 * key with a probability of about 1 in 2^53. */
function textSymbolKeys(text: string): Float64Array {
  const keys: number[] = [];
  let line = 0;
  while (line < text.length) {
    let end = text.indexOf("\n", line);
    if (end < 0) end = text.length;
    const sp = text.indexOf(" ", line);
    const type = sp >= 0 && sp + 3 < end ? text.charCodeAt(sp + 1) : 0;
    if ((type === 84 || type === 116) && text.charCodeAt(sp + 2) === SPACE) {
      let nameEnd = sp + 3;
      for (let c = text.charCodeAt(nameEnd); nameEnd < end && c !== TAB && c !== SPACE && c !== NL; c = text.charCodeAt(++nameEnd));
      if (nameEnd > sp + 3) keys.push(symbolKey(text, sp + 3, nameEnd));
    }
    line = end + 1;
  }
  return Float64Array.from(keys).sort();
}

function contains(sorted: Float64Array, key: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === key) return true;
    if (v < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Text symbols of the kernel and its modules (/proc/kallsyms), read when first asked. */
export class Kallsyms {
  private symbols: Float64Array | undefined;
  private loadedAt = 0;

  constructor(
    private readonly path = "/proc/kallsyms",
    private readonly now: () => number = Date.now,
  ) {}

  has(name: string): boolean {
    const key = symbolKey(name, 0, name.length);
    const symbols = this.symbols ?? this.load();
    if (contains(symbols, key) || this.now() - this.loadedAt < RELOAD_AFTER_MS) return contains(symbols, key);
    return contains(this.load(), key);
  }

  private load(): Float64Array {
    this.symbols = textSymbolKeys(readFileSync(this.path, "utf8"));
    this.loadedAt = this.now();
    return this.symbols;
  }
}
