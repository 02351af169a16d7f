import { readFileSync } from "node:fs";
// Built by scripts/build.sh (bun build of ./page) and embedded in dist/fgs.
import htmlPath from "./build/index.html" with { type: "file" };
import scriptPath from "./build/console.js" with { type: "file" };
import stylePath from "./build/console.css" with { type: "file" };

export interface ConsoleAsset {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** The console's files by URL path. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

export function loadConsoleAssets(): ConsoleAssets {
  const asset = (path: string, contentType: string): ConsoleAsset => ({ body: readFileSync(path), contentType });
  return new Map([
    // bun-types types every .html import as an HTML bundle; imported as a file it is a path.
    ["/", asset(htmlPath as unknown as string, "text/html; charset=utf-8")],
    ["/console.js", asset(scriptPath, "text/javascript; charset=utf-8")],
    ["/console.css", asset(stylePath, "text/css; charset=utf-8")],
  ]);
}
