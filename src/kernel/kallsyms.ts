import { readFileSync } from "node:fs";

/** A missing symbol reloads the table when it is older than this: a module
 * loaded since is then seen, and a policy naming many absent symbols (every
 * syscall wrapper spelling is tried) reads /proc/kallsyms at most once. */
const RELOAD_AFTER_MS = 2000;

/** Text symbols of the kernel and its modules (/proc/kallsyms), read when first asked. */
export class Kallsyms {
  private symbols: Set<string> | undefined;
  private loadedAt = 0;

  constructor(
    private readonly path = "/proc/kallsyms",
    private readonly now: () => number = Date.now,
  ) {}

  has(name: string): boolean {
    const symbols = this.symbols ?? this.load();
    if (symbols.has(name) || this.now() - this.loadedAt < RELOAD_AFTER_MS) return symbols.has(name);
    return this.load().has(name);
  }

  private load(): Set<string> {
    const symbols = new Set<string>();
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      const [, type, name] = line.split(/\s+/);
      if ((type === "T" || type === "t") && name) symbols.add(name);
    }
    this.symbols = symbols;
    this.loadedAt = this.now();
    return symbols;
  }
}
