import packageJson from "../../package.json";

// Set by `bun build --define` in scripts/build.sh; absent when run from source.
declare const FGS_BUILD_VERSION: string | undefined;
declare const FGS_BUILD_COMMIT: string | undefined;

export function buildInfo(): { version: string; commit: string } {
  return {
    version: typeof FGS_BUILD_VERSION === "string" ? FGS_BUILD_VERSION : packageJson.version,
    commit: typeof FGS_BUILD_COMMIT === "string" ? FGS_BUILD_COMMIT : "source",
  };
}

/** This executable's version, e.g. "0.1.0 (commit 1a2b3c4d5e6f)". */
export function clientVersion(): string {
  const { version, commit } = buildInfo();
  return `${version} (commit ${commit})`;
}
