// Issue 11, item 2: the root agent must not load a library planted by another
// user in /run/fgs or $TMPDIR/fgs. Each run gets a private /run (unshare -m)
// so the node's real /run/fgs is never touched.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FGS, ROOT } from "./helpers/agent";

if (process.getuid?.() !== 0) throw new Error("security-native needs root");

const dir = mkdtempSync(join(tmpdir(), "fgs-plant-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NATIVE = join(ROOT, "bpf/build/native");
const LIBS = ["libz.so.1", "libelf.so.1", "libbpf.so.1", "libfgs_runtime.so"];
// The directory name the original tree used for its extracted libraries.
const hash = createHash("sha256");
for (const l of LIBS) hash.update(readFileSync(join(NATIVE, l)));
const LIBDIR = `lib-${hash.digest("hex").slice(0, 16)}`;

/** A shared object whose constructor leaves a marker: proof it was loaded. */
function buildPlant(marker: string): string {
  const src = join(dir, "plant.c");
  writeFileSync(src, `#include <stdio.h>\n__attribute__((constructor)) static void planted(void) { FILE *f = fopen("${marker}", "w"); if (f) { fputs("loaded", f); fclose(f); } }\nconst char *zlibVersion(void) { return "1.2.13"; }\n`);
  const out = join(dir, "plant.so");
  const cc = spawnSync("cc", ["-shared", "-fPIC", "-o", out, src], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(cc.stderr);
  return out;
}

/** Runs the agent in a private mount namespace whose /run and $TMPDIR hold
 * directories owned by nobody with the plant under every library name. */
function runWithPlant(env: Record<string, string>): { marker: boolean; log: string; served: boolean } {
  const marker = join(dir, `marker-${Math.random().toString(36).slice(2)}`);
  const plant = buildPlant(marker);
  const tmp = join(dir, `tmp-${Math.random().toString(36).slice(2)}`);
  const plantDirs = ["/run/fgs", `/run/fgs/${LIBDIR}`, `${tmp}/fgs`, `${tmp}/fgs/${LIBDIR}`, `${tmp}/fgs-0`, `${tmp}/fgs-0/${LIBDIR}`];
  const script = [
    "set -e",
    "mount -t tmpfs tmpfs /run",
    `mkdir -p ${tmp}`,
    ...plantDirs.flatMap((d) => [`mkdir -p ${d}`, ...LIBS.map((l) => `cp ${plant} ${d}/${l}`), `chown -R 65534:65534 ${d}`, `chmod 0777 ${d}`]),
    `export TMPDIR=${tmp}`,
    `(timeout 15 ${FGS} agent --server-address 127.0.0.1:0 --console-token-file ${dir}/token 2>&1 & echo $! > ${dir}/pid; wait) | while read -r line; do echo "$line"; case "$line" in *'serving FineGuidanceSensors'*) kill $(cat ${dir}/pid) 2>/dev/null || true;; esac; done`,
  ].join("\n");
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { encoding: "utf8", timeout: 30000, env: { ...process.env, ...env } });
  const log = r.stdout + r.stderr;
  return { marker: existsSync(marker), log, served: log.includes("serving FineGuidanceSensors") };
}

describe("planted libraries", () => {
  test("the control: the plant runs when loaded", () => {
    const marker = join(dir, "control");
    const plant = buildPlant(marker);
    spawnSync("/usr/bin/python3", ["-c", `import ctypes; ctypes.CDLL(${JSON.stringify(plant)})`]);
    expect(existsSync(marker)).toBe(true);
  });

  test("memfd loading: nothing is read from /run/fgs or $TMPDIR/fgs", () => {
    const r = runWithPlant({});
    expect(r.served).toBe(true);
    expect(r.marker).toBe(false);
  });

  test("fallback directory: refused when another user owns it", () => {
    const r = runWithPlant({ FGS_NATIVE_NO_MEMFD: "1" });
    expect(r.marker).toBe(false);
    expect(r.served).toBe(false);
    expect(r.log).toContain("owned by uid 65534");
  });
});
