/** How the client authenticates the agent and itself: TLS (the agent's CA, a
 * client certificate, the name to verify) and a bearer token. The flags are
 * shared by every client command; files are read only when the agent is
 * contacted, and every problem with them is one line naming the flag and path. */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { FlagSpec, ParsedArguments } from "./args";
import { CliError, UsageError } from "../common/errors";
import { socketHost, type ServerAddress } from "../server/address";

/** The environment variable that names a token file when --token-file is not given. */
export const TOKEN_FILE_ENV = "FGS_TOKEN_FILE";

export const CLIENT_SECURITY_FLAGS: readonly FlagSpec[] = [
  { name: "tls", description: "Speak TLS to the agent, verifying its certificate against the system's CAs unless --tls-ca-file is given (implied by every --tls-* flag)" },
  { name: "tls-ca-file", valueName: "PATH", description: "CA certificates (PEM) that signed the agent's certificate; implies --tls" },
  { name: "tls-cert-file", valueName: "PATH", description: "Client certificate (PEM) for an agent started with --tls-client-ca-file; needs --tls-key-file" },
  { name: "tls-key-file", valueName: "PATH", description: "Private key (PEM) of --tls-cert-file" },
  { name: "tls-server-name", valueName: "NAME", description: "The name to send (SNI) and to verify in the agent's certificate, instead of the host of --server-address" },
  {
    name: "token-file",
    valueName: "PATH",
    description: `Send "Authorization: Bearer <first line of PATH>" (an agent's --api-token-file); the file must not be accessible by group or others (chmod 600). Default: $${TOKEN_FILE_ENV}`,
  },
];

export interface ClientTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

export interface ClientSecurity {
  readonly tls?: ClientTls;
  readonly token?: string;
}

/** The process environment, passed in explicitly (tests give their own). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What the flags (and $FGS_TOKEN_FILE) ask for, with every file read and checked. */
export function clientSecurity(args: ParsedArguments, address: ServerAddress, env: Environment): ClientSecurity {
  const tls = wantsTls(args) ? tlsFromFlags(args, address) : undefined;
  const tokenFile = args.value("token-file") ?? nonEmpty(env[TOKEN_FILE_ENV]);
  if (tokenFile === undefined) return { tls };
  const tokenFlag = args.has("token-file") ? "--token-file" : `$${TOKEN_FILE_ENV}`;
  const token = readBearerToken(tokenFlag, tokenFile);
  if (!tls && address.kind === "tcp" && !isLoopbackHost(socketHost(address))) {
    throw new CliError(`refusing to send the token of ${tokenFlag} ${tokenFile} in clear text to ${address.text}: use TLS (--tls-ca-file PATH, or --tls)`);
  }
  return { tls, token };
}

function wantsTls(args: ParsedArguments): boolean {
  return args.isTrue("tls") || ["tls-ca-file", "tls-cert-file", "tls-key-file", "tls-server-name"].some((name) => args.has(name));
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}

function tlsFromFlags(args: ParsedArguments, address: ServerAddress): ClientTls {
  if (address.kind === "unix") {
    throw new UsageError(`TLS is for TCP addresses; ${address.text} is a unix socket (its file mode and the peer's uid protect it)`);
  }
  const certFile = args.value("tls-cert-file");
  const keyFile = args.value("tls-key-file");
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError("--tls-cert-file and --tls-key-file go together");
  const caFile = args.value("tls-ca-file");
  const client = certFile !== undefined && keyFile !== undefined ? clientCertificate(certFile, keyFile) : {};
  return { ca: caFile === undefined ? undefined : caCertificates(caFile), ...client, serverName: args.value("tls-server-name") };
}

/** Every certificate in the file must parse; at least one must be there. */
function caCertificates(path: string): string {
  const pem = readText("--tls-ca-file", path);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CliError(`--tls-ca-file ${path}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")`);
  blocks.forEach((block) => parseCertificate("--tls-ca-file", path, block));
  return pem;
}

function clientCertificate(certFile: string, keyFile: string): { cert: string; key: string } {
  const cert = readText("--tls-cert-file", certFile);
  const certificate = parseCertificate("--tls-cert-file", certFile, cert);
  const key = readText("--tls-key-file", keyFile);
  const privateKey = parsePrivateKey(keyFile, key);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CliError(`--tls-key-file ${keyFile} is not the private key of --tls-cert-file ${certFile}`);
  }
  if (Date.parse(certificate.validTo) < Date.now()) {
    throw new CliError(`--tls-cert-file ${certFile}: the certificate expired on ${certificate.validTo}`);
  }
  return { cert, key };
}

function parseCertificate(flag: string, path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new CliError(`${flag} ${path}: not a valid PEM certificate (${reasonOf(error)})`);
  }
}

function parsePrivateKey(path: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new CliError(`--tls-key-file ${path}: not a valid unencrypted PEM private key (${reasonOf(error)})`);
  }
}

/** The token file's first line; like ssh with its keys, refused when group or others may access it. */
export function readBearerToken(flag: string, path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw new CliError(`${flag} ${path}: ${fileReason(error)}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    throw new CliError(`${flag} ${path} is accessible by group or others (mode ${octal}); run: chmod 600 ${path}`);
  }
  const token = readText(flag, path).split("\n")[0]?.trim() ?? "";
  if (token === "") throw new CliError(`${flag} ${path}: the first line is empty (expected the token)`);
  return token;
}

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError(`${flag} ${path}: ${fileReason(error)}`);
  }
}

const FILE_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many symbolic links",
};

function fileReason(error: unknown): string {
  const code = error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
  return (code && FILE_REASONS[code]) ?? reasonOf(error);
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]?.slice(0, 200) ?? "";
}

/** localhost, 127.0.0.0/8 and ::1 (also IPv4-mapped): where a token may travel in clear text. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^::ffff:(?=\d)/, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}
