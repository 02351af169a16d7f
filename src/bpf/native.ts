import { dlopen, FFIType } from "bun:ffi";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from "node:fs";
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

function privateLibDir(contents: Buffer[]): string {
  const hash = createHash("sha256");
  for (const c of contents) hash.update(c);
  const base = existsSync("/run") && process.getuid?.() === 0 ? "/run/fgs" : join(tmpdir(), "fgs");
  return join(base, `lib-${hash.digest("hex").slice(0, 16)}`);
}

/** Copies the embedded libraries out of the executable (dlopen needs real files)
 * into a content-addressed private directory and returns its path. */
export function extractNativeLibraries(): string {
  const contents = EMBEDDED.map((lib) => readFileSync(lib.path));
  const dir = privateLibDir(contents);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  EMBEDDED.forEach((lib, i) => {
    const target = join(dir, lib.file);
    if (existsSync(target)) return;
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, contents[i], { mode: 0o500 });
    renameSync(tmp, target);
  });
  return dir;
}

let loadedDir: string | undefined;

/** Loads libz, libelf, libbpf and the runtime shim once per process; later
 * dlopen calls by soname resolve to these already-loaded copies. */
export function loadNativeLibraries(): string {
  if (loadedDir) return loadedDir;
  const dir = extractNativeLibraries();
  for (const lib of EMBEDDED) {
    dlopen(join(dir, lib.file), { [lib.probe]: { args: [], returns: FFIType.ptr } });
  }
  loadedDir = dir;
  return dir;
}
