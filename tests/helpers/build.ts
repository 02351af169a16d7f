import { spawnSync } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
const BPF_BUILD = join(ROOT, "bpf", "build");

/** Builds bpf/build/*.bpf.o if stale (make is a no-op otherwise). */
function makeBpf(): void {
  const make = spawnSync(["make", "-s", "-C", join(ROOT, "bpf")], { stderr: "pipe" });
  if (make.exitCode !== 0) throw new Error(`make -C bpf failed:\n${make.stderr.toString()}`);
}

/** One freshly built BPF object's bytes. */
export function bpfObjectBytes(name: string): Uint8Array {
  makeBpf();
  return new Uint8Array(readFileSync(join(BPF_BUILD, `${name}.bpf.o`)));
}

/** Every freshly built BPF object, by name (as the agent embeds them). */
export function bpfObjectImages(): Map<string, Uint8Array> {
  makeBpf();
  const images = new Map<string, Uint8Array>();
  for (const f of readdirSync(BPF_BUILD).filter((n) => n.endsWith(".bpf.o"))) {
    images.set(f.replace(/\.bpf\.o$/, ""), new Uint8Array(readFileSync(join(BPF_BUILD, f))));
  }
  return images;
}
