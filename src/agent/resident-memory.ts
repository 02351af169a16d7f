import { closeSync, openSync, readSync } from "node:fs";

/** This process's resident anonymous memory: RSS less its file-backed and
 * shared pages (the executable's code, the mapped ring), i.e. what the heaps
 * hold. Read from /proc/self/statm through a file kept open: one pread,
 * about a microsecond, cheap enough for every idle moment of the reader. */
export class ResidentMemory {
  private readonly buf = Buffer.alloc(128);

  private constructor(
    private readonly fd: number,
    private readonly pageBytes: number,
  ) {}

  /** Undefined where /proc is not mounted: the caller then does without. */
  static open(pageBytes: number, path = "/proc/self/statm"): ResidentMemory | undefined {
    try {
      return new ResidentMemory(openSync(path, "r"), pageBytes);
    } catch {
      return undefined;
    }
  }

  anonBytes(): number {
    const n = readSync(this.fd, this.buf, 0, this.buf.byteLength, 0);
    // "size resident shared text lib data dt", in pages
    const fields = this.buf.toString("latin1", 0, n).split(" ");
    return (Number(fields[1]) - Number(fields[2])) * this.pageBytes;
  }

  close(): void {
    closeSync(this.fd);
  }
}
