// Packs every bpf/build/*.bpf.o into bpf/build/objects.pack, the one file the
// executable embeds: repeated [u32 name length][name][u32 size][ELF bytes].
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dir, "..", "bpf", "build");
const parts: Buffer[] = [];
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const names = readdirSync(dir).filter((f) => f.endsWith(".bpf.o")).sort();
for (const file of names) {
  const name = Buffer.from(file.replace(/\.bpf\.o$/, ""));
  const bytes = readFileSync(join(dir, file));
  parts.push(u32(name.length), name, u32(bytes.length), bytes);
}
writeFileSync(join(dir, "objects.pack"), Buffer.concat(parts));
console.log(`packed ${names.length} BPF objects: ${names.join(", ")}`);
