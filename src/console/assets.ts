import { readFileSync } from "node:fs";
// Built and packed by scripts/pack-console.ts (scripts/build.sh); embedded in dist/fgs.
import packPath from "./build/console.pack" with { type: "file" };

export interface ConsoleAsset {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** The console's files by URL path. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  "/": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function contentType(path: string): string {
  const ext = path === "/" ? "/" : path.slice(path.lastIndexOf("."));
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

/** Reads [u32 path length][path][u32 size][bytes]… */
export function parseConsolePack(pack: Uint8Array): ConsoleAssets {
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const decoder = new TextDecoder();
  const assets = new Map<string, ConsoleAsset>();
  let off = 0;
  while (off < pack.byteLength) {
    const pathLen = view.getUint32(off, true);
    const path = decoder.decode(pack.subarray(off + 4, off + 4 + pathLen));
    off += 4 + pathLen;
    const size = view.getUint32(off, true);
    assets.set(path, { body: pack.subarray(off + 4, off + 4 + size), contentType: contentType(path) });
    off += 4 + size;
  }
  return assets;
}

export function loadConsoleAssets(): ConsoleAssets {
  return parseConsolePack(readFileSync(packPath));
}
