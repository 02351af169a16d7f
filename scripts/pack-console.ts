// Builds the web console (src/console/page) for browsers and packs it into
// src/console/build/console.pack, the one file the executable embeds:
// repeated [u32 path length][URL path][u32 size][bytes], read by src/console/assets.ts.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const page = join(root, "src", "console", "page");
const out = join(root, "src", "console", "build");

const built = await Bun.build({ entrypoints: [join(page, "main.ts")], target: "browser", minify: true });
if (!built.success) {
  for (const log of built.logs) console.error(log);
  process.exit(1);
}
const script = new Uint8Array(await built.outputs[0]!.arrayBuffer());

const files: [string, Uint8Array][] = [
  ["/", readFileSync(join(page, "index.html"))],
  ["/console.js", script],
  ["/console.css", readFileSync(join(page, "console.css"))],
];
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const parts = files.flatMap(([path, bytes]) => [u32(Buffer.byteLength(path)), Buffer.from(path), u32(bytes.byteLength), bytes]);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "console.pack"), Buffer.concat(parts));
console.log(`packed the web console: ${files.map(([p, b]) => `${p} ${b.byteLength} B`).join(", ")}`);
