/** Builds the guard and the listener options from the operator's choices, and
 * refuses configurations that would expose the API by accident. */
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import type { Logger } from "../log/logger";
import type { ServerAddress } from "./address";
import { socketHost } from "./address";
import { ApiGuard } from "./guard";
import { lookupGroup, type ApiGroup } from "./groups";
import { serverLimits, type ServerLimits } from "./limits";
import type { ListenerOptions } from "./listener";
import { isLoopbackAddress } from "./peer-identity";
import { randomToken, readTokenFile, removeTokenFile, writeTokenFile } from "./tokens";

export interface SecurityOptions {
  readonly apiGroup?: string;
  readonly allowAll?: boolean;
  readonly tokenFile?: string;
  readonly consoleTokenFile?: string;
  readonly corsOrigins?: readonly string[];
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly tlsClientCaFile?: string;
  readonly limits?: Partial<ServerLimits>;
}

export interface Security {
  readonly guard: ApiGuard;
  readonly listener: ListenerOptions;
  /** Writes the console token file (0600) once the listener is bound, so the
   * default path can name the port the kernel chose; returns the path. */
  writeConsoleToken(boundPort: number | undefined): string;
  /** Removes the console token file if it still holds this agent's token. */
  removeConsoleToken(): void;
  /** The URL that logs a browser in (contains the token). */
  consoleUrl(boundAddress: string): string;
}

export function isLoopbackListen(address: ServerAddress): boolean {
  if (address.kind === "unix") return true;
  const host = socketHost(address);
  return host === "localhost" || isLoopbackAddress(host);
}

/** Throws when a non-loopback address would be served without TLS and a credential. */
export function checkExposure(address: ServerAddress, options: SecurityOptions): void {
  if (options.allowAll || isLoopbackListen(address)) return;
  const tls = options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined;
  const credential = options.tlsClientCaFile !== undefined || options.tokenFile !== undefined;
  if (!tls || !credential) {
    throw new Error(`refusing to serve on non-loopback address ${address.text} without TLS (--tls-cert-file, --tls-key-file) and client authentication (--tls-client-ca-file or --api-token-file); --api-unsafe-allow-all overrides`);
  }
}

/** One file per listen address, so that agents on one machine never share
 * (and overwrite) a token: /run/fgs/console-token-PORT, or next to the socket. */
export function defaultConsoleTokenFile(address: ServerAddress, boundPort?: number): string {
  return address.kind === "unix" ? join(dirname(address.path), "console-token") : `/run/fgs/console-token-${boundPort || address.port}`;
}

function guardLimits(options: SecurityOptions): ServerLimits {
  return serverLimits(options.limits);
}

function tlsFiles(options: SecurityOptions, limits: ServerLimits): ListenerOptions["tls"] {
  if (options.tlsCertFile === undefined && options.tlsKeyFile === undefined) return undefined;
  if (!options.tlsCertFile || !options.tlsKeyFile) throw new Error("--tls-cert-file and --tls-key-file go together");
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return {
    cert: read("--tls-cert-file", options.tlsCertFile),
    key: read("--tls-key-file", options.tlsKeyFile),
    ca: options.tlsClientCaFile ? read("--tls-client-ca-file", options.tlsClientCaFile) : undefined,
    handshakeTimeoutMs: limits.headerTimeoutMs,
  };
}

export function createSecurity(address: ServerAddress, options: SecurityOptions, log: Logger): Security {
  checkExposure(address, options);
  if (options.allowAll) log.warn("--api-unsafe-allow-all: EVERY caller that can reach the API may use it (kill processes, read syscall data)", { address: address.text });
  const group: ApiGroup | undefined = options.apiGroup ? lookupGroup(options.apiGroup) : undefined;
  const consoleToken = randomToken();
  let consoleTokenFile: string | undefined;
  const guard = new ApiGuard({
    address,
    limits: guardLimits(options),
    log,
    apiGroup: group,
    allowAll: options.allowAll,
    bearerToken: options.tokenFile ? readTokenFile(options.tokenFile) : undefined,
    consoleToken,
    corsOrigins: options.corsOrigins ?? [],
  });
  const tls = tlsFiles(options, guardLimits(options));
  const scheme = tls ? "https" : "http";
  return {
    guard,
    listener: { accept: (s) => guard.accept(s), unixGroupGid: group?.gid, tls },
    writeConsoleToken: (boundPort) => {
      const path = options.consoleTokenFile ?? defaultConsoleTokenFile(address, boundPort);
      writeTokenFile(path, consoleToken);
      consoleTokenFile = path;
      return path;
    },
    removeConsoleToken: () => {
      if (consoleTokenFile !== undefined) removeTokenFile(consoleTokenFile, consoleToken);
    },
    consoleUrl: (bound) => `${scheme}://${bound.startsWith("unix:") ? "localhost" : bound}/login?token=${consoleToken}`,
  };
}

/** Flag check for the timeout flags (--api-header-timeout, --api-idle-timeout). */
export function positiveSeconds(v: string): string | undefined {
  return /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 86400 ? undefined : "must be a number of seconds above 0, at most 86400";
}
