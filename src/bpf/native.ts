/** Loads the shared objects the executable carries (libz, libelf, libbpf, the
 * runtime shim) without giving anyone a chance to plant a replacement: each
 * one is copied into a sealed anonymous memory file (memfd) and loaded from
 * /proc/self/fd/N, so nothing is written to a shared directory. Only when the
 * kernel refuses executable memfds does it fall back to a verified root-owned
 * 0700 directory with exclusive, no-follow creates and a content-hash check. */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import libzPath from "../../bpf/build/native/libz.so.1" with { type: "file" };
import libelfPath from "../../bpf/build/native/libelf.so.1" with { type: "file" };
import libbpfPath from "../../bpf/build/native/libbpf.so.1" with { type: "file" };
import runtimePath from "../../bpf/build/native/libfgs_runtime.so" with { type: "file" };

/** The shared objects the executable carries, in load order (dependencies first). */
const EMBEDDED = [
  { file: "libz.so.1", path: libzPath, probe: "zlibVersion" },
  { file: "libelf.so.1", path: libelfPath, probe: "elf_version" },
  { file: "libbpf.so.1", path: libbpfPath, probe: "libbpf_major_version" },
  { file: "libfgs_runtime.so", path: runtimePath, probe: "fgs_log_init" },
] as const;

type EmbeddedFile = (typeof EMBEDDED)[number]["file"];

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_ALL = 1 | 2 | 4 | 8; // SEAL, SHRINK, GROW, WRITE

function libc() {
  return dlopen("libc.so.6", {
    memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

function writeAll(fd: number, content: Buffer): void {
  for (let off = 0; off < content.length; ) off += writeSync(fd, content, off, content.length - off);
}

/** A sealed memfd holding `content`; its path is /proc/self/fd/N. Undefined when unsupported. */
function memfdCopy(name: string, content: Buffer): string | undefined {
  const c = libc();
  const fd = c.memfd_create(ptr(Buffer.from(`fgs-${name}\0`)), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return undefined;
  writeAll(fd, content);
  c.fcntl(fd, F_ADD_SEALS, F_SEAL_ALL);
  // The descriptor stays open for the life of the process: the loader maps it.
  return `/proc/self/fd/${fd}`;
}

/** Loads every library from memfds; undefined (nothing loaded) when the kernel refuses. */
function loadFromMemfds(contents: readonly Buffer[]): Map<EmbeddedFile, string> | undefined {
  const paths = new Map<EmbeddedFile, string>();
  for (const [i, lib] of EMBEDDED.entries()) {
    const path = memfdCopy(lib.file, contents[i]!);
    if (!path) return undefined;
    paths.set(lib.file, path);
  }
  try {
    for (const lib of EMBEDDED) dlopen(paths.get(lib.file)!, { [lib.probe]: { args: [], returns: FFIType.ptr } });
  } catch {
    return undefined; // e.g. vm.memfd_noexec forbids mapping them executable
  }
  return paths;
}

/** A directory that only we can write: owned by our euid, no group/other
 * write, not a symlink. Created 0700 when missing. */
export function verifiedPrivateDir(path: string): string {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const st = lstatSync(path);
  const uid = process.geteuid?.() ?? 0;
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${path} is not a directory (refusing to load libraries from it)`);
  if (st.uid !== uid) throw new Error(`${path} is owned by uid ${st.uid}, not ${uid} (refusing to load libraries from it)`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${path} has mode ${(st.mode & 0o777).toString(8)}, expected 0700 (refusing to load libraries from it)`);
  return path;
}

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Writes `content` at `target` via an exclusive no-follow temporary file, or
 * checks that the file already there has exactly this content. */
function placeVerified(target: string, content: Buffer): void {
  const existing = (() => {
    try {
      const fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const st = fstatSync(fd);
        if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0)) return "foreign";
        return sha256(readFileSync(fd));
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      return "foreign";
    }
  })();
  if (existing === sha256(content)) return;
  if (existing !== undefined) unlinkSync(target);
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o500);
  try {
    writeAll(fd, content);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

function loadFromPrivateDir(contents: readonly Buffer[]): Map<EmbeddedFile, string> {
  const base = process.geteuid?.() === 0 ? "/run/fgs" : join(tmpdir(), `fgs-${process.geteuid?.() ?? 0}`);
  const hash = createHash("sha256");
  for (const c of contents) hash.update(c);
  const dir = join(verifiedPrivateDir(base), `lib-${hash.digest("hex").slice(0, 16)}`);
  verifiedPrivateDir(dir);
  const paths = new Map<EmbeddedFile, string>();
  for (const [i, lib] of EMBEDDED.entries()) {
    const target = join(dir, lib.file);
    placeVerified(target, contents[i]!);
    dlopen(target, { [lib.probe]: { args: [], returns: FFIType.ptr } });
    paths.set(lib.file, target);
  }
  return paths;
}

let loaded: Map<EmbeddedFile, string> | undefined;

/** Loads libz, libelf, libbpf and the runtime shim once per process (later
 * dlopen calls by soname resolve to these copies); returns the runtime's path. */
export function loadNativeLibraries(): string {
  if (!loaded) {
    const contents = EMBEDDED.map((lib) => readFileSync(lib.path));
    loaded = (process.env.FGS_NATIVE_NO_MEMFD ? undefined : loadFromMemfds(contents)) ?? loadFromPrivateDir(contents);
  }
  return loaded.get("libfgs_runtime.so")!;
}
