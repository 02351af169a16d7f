/** The export file: opened without following links, appended in whole batches
 * of whole lines, rotated by size or on request, old files pruned and gzipped. */
import { constants, createReadStream, createWriteStream, openSync } from "node:fs";
import { open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Logger } from "../log/logger";

export interface FileOptions {
  readonly path: string;
  /** File mode of the export file and its backups (default 0600). */
  readonly perm: number;
  /** Rotate before a write would pass this size; 0 never. */
  readonly maxSizeBytes: number;
  /** Rotated files kept; 0 keeps all. */
  readonly maxBackups: number;
  readonly compress: boolean;
}

const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
const TAIL_BYTES = 1 << 16;
const BACKUP_STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z(?:-\d+)?$/;

export class RotatingFile {
  private readonly jobs = new Set<Promise<void>>();
  rotations = 0;

  private constructor(
    private readonly options: FileOptions,
    private handle: FileHandle,
    /** Bytes of complete lines in the file. */
    private size: number,
    private readonly log: Logger,
  ) {}

  static async open(options: FileOptions, log: Logger): Promise<RotatingFile> {
    const { handle, size } = await openExportFile(options.path, options.perm);
    return new RotatingFile(options, handle, size, log);
  }

  get bytes(): number {
    return this.size;
  }

  /** Room left before a size rotation (Infinity without a size limit). */
  room(): number {
    return this.options.maxSizeBytes > 0 ? this.options.maxSizeBytes - this.size : Infinity;
  }

  /** Writes all of `data` or, on failure, cuts the file back to its last
   * complete line and throws: the caller retries the same batch later. */
  async append(data: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < data.byteLength) {
        const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done);
        done += bytesWritten;
      }
      this.size += data.byteLength;
    } catch (e) {
      if (done > 0) await this.handle.truncate(this.size).catch(() => undefined);
      throw e;
    }
  }

  /** Renames the file to PATH.<time> and starts a new one. */
  async rotate(): Promise<void> {
    if (this.size === 0) return;
    const backup = await freeBackupName(this.options.path);
    await rename(this.options.path, backup);
    await this.handle.close();
    const next = await openExportFile(this.options.path, this.options.perm);
    this.handle = next.handle;
    this.size = next.size;
    this.rotations++;
    this.track(this.finishBackup(backup));
  }

  private async finishBackup(backup: string): Promise<void> {
    if (this.options.compress) {
      try {
        await gzipFile(backup, this.options.perm);
      } catch (e) {
        this.log.warn("cannot compress a rotated export file; kept uncompressed", { file: backup, error: errorText(e) });
      }
    }
    await this.prune();
  }

  private async prune(): Promise<void> {
    if (this.options.maxBackups === 0) return;
    const dir = dirname(this.options.path);
    const prefix = `${basename(this.options.path)}.`;
    const stamps = new Map<string, string[]>();
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
      const stamp = name.slice(prefix.length).replace(/\.gz(\.tmp)?$/, "");
      if (BACKUP_STAMP.test(stamp)) stamps.set(stamp, [...(stamps.get(stamp) ?? []), name]);
    }
    const old = [...stamps.keys()].sort().slice(0, Math.max(0, stamps.size - this.options.maxBackups));
    for (const stamp of old) for (const name of stamps.get(stamp) ?? []) await unlink(join(dir, name)).catch(() => undefined);
  }

  private track(job: Promise<void>): void {
    const p = job.catch((e: unknown) => this.log.warn("export backup housekeeping failed", { error: errorText(e) })).finally(() => this.jobs.delete(p));
    this.jobs.add(p);
  }

  async close(): Promise<void> {
    await Promise.all([...this.jobs]);
    await this.handle.close();
  }
}

/** O_NOFOLLOW: a planted symlink at PATH fails the open (ELOOP) instead of
 * redirecting root's writes. The mode is set explicitly: the umask must not widen it. */
async function openExportFile(path: string, perm: number): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS, perm);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new Error(`export file ${path} is a symbolic link; refusing to follow it`);
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`export file ${path} is not a regular file`);
    await handle.chmod(perm);
    return { handle, size: await completeLinesSize(path, st.size) };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** A line cut by a crash or a full disk in an earlier run is removed. */
async function completeLinesSize(path: string, size: number): Promise<number> {
  if (size === 0) return 0;
  const reader = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = new Uint8Array(size - start);
    await reader.read(buf, 0, buf.byteLength, start);
    if (buf[buf.byteLength - 1] === 0x0a) return size;
    const lastNewline = buf.lastIndexOf(0x0a);
    const keep = lastNewline < 0 ? start : start + lastNewline + 1;
    await reader.truncate(keep);
    return keep;
  } finally {
    await reader.close();
  }
}

async function freeBackupName(path: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/:/g, "-");
  const taken = new Set(await readdir(dirname(path)));
  const name = (n: number) => `${basename(path)}.${stamp}${n ? `-${n}` : ""}`;
  let n = 0;
  while (taken.has(name(n)) || taken.has(`${name(n)}.gz`)) n++;
  return join(dirname(path), name(n));
}

async function gzipFile(path: string, perm: number): Promise<void> {
  const tmp = `${path}.gz.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, perm);
    await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp, { fd }));
    await rename(tmp, `${path}.gz`);
    await unlink(path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? (e instanceof Error ? e.message : String(e));
}
